/**
 * Offline "preview": runs the Pulumi program under mocks for one stack, writes
 * out/<stack>/ (resources.json, one .asl.json per state machine, every Lambda
 * bundle) and prints a summary. It then runs the CrossGuard pack over every
 * resource, prints the stack outputs, writes the stack report out/<stack>/index.html
 * (the machines drawn by Graphviz) and exits non-zero on a mandatory violation.
 *
 *   npm run synth -- --stack prod [--preview] [--unknown-outputs] [--out DIR] [--policy-config FILE]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { runProgram } from '../program';
import { allPolicies } from '../policies/rules';
import { evaluatePolicies, type PolicyViolation } from '../policies/run-offline';
import { renderReportPage, type ReportBundle } from './report/page';
import { buildStackReport } from './report/stack-report';
import { SECRET, synthesize, UNKNOWN, type SynthResource } from './synth/run-program';

const ROOT = path.join(__dirname, '..');

interface Args {
  stack: string;
  preview: boolean;
  unknownOutputs: boolean;
  outDir: string;
  /** Like `pulumi preview --policy-pack-config`; default policies/config.<stack>.json when present. */
  policyConfig: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { stack: 'dev', preview: false, unknownOutputs: false, outDir: '', policyConfig: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stack' || a === '-s') args.stack = argv[++i] ?? '';
    else if (a.startsWith('--stack=')) args.stack = a.slice('--stack='.length);
    else if (a === '--preview') args.preview = true;
    else if (a === '--unknown-outputs') args.unknownOutputs = args.preview = true;
    else if (a === '--out') args.outDir = argv[++i] ?? '';
    else if (a === '--policy-config') args.policyConfig = argv[++i] ?? '';
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: npm run synth -- --stack <name> [--preview] [--unknown-outputs] [--out DIR] [--policy-config FILE]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(args.stack)) throw new Error(`--stack needs a stack name, got "${args.stack}"`);
  if (!fs.existsSync(path.join(ROOT, `Pulumi.${args.stack}.yaml`))) {
    throw new Error(`no Pulumi.${args.stack}.yaml; stacks here: ${listStacks().join(', ')}`);
  }
  args.outDir ||= path.join(ROOT, 'out', args.stack);
  if (args.policyConfig && !fs.existsSync(args.policyConfig))
    throw new Error(`--policy-config ${args.policyConfig} does not exist`);
  args.policyConfig ||= path.join(ROOT, 'policies', `config.${args.stack}.json`);
  return args;
}

function listStacks(): string[] {
  return fs
    .readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => Boolean(s));
}

/** The files of an AssetArchive of StringAssets, as the mocks hand the Lambda's `code` input over. */
export function archiveFiles(code: unknown): Record<string, string> {
  const assets = (code as { assets?: Record<string, { text?: unknown }> } | undefined)?.assets ?? {};
  const out: Record<string, string> = {};
  for (const [name, asset] of Object.entries(assets)) if (typeof asset?.text === 'string') out[name] = asset.text;
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

// Same unit as `npm run bench` (1 KB = 1000 bytes), so the two reports agree.
const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

function writeOutputs(outDir: string, resources: SynthResource[]): { bundles: ReportBundle[]; machines: string[][] } {
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  const bundles: ReportBundle[] = [];
  const machines: string[][] = [];
  const slim = resources.map((r) => {
    if (r.type !== 'aws:lambda/function:Function') return r;
    const files = archiveFiles(r.inputs.code);
    const name = String(r.inputs.name);
    const dir = path.join(outDir, 'bundles', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
    const js = files['index.js'] ?? '';
    bundles.push({ functionName: name, bytes: Buffer.byteLength(js), gzipBytes: gzipSync(js).length });
    // The bundle itself lives in bundles/; resources.json keeps it readable.
    return {
      ...r,
      inputs: { ...r.inputs, code: { bundle: `bundles/${name}/index.js`, bytes: Buffer.byteLength(js) } },
    };
  });
  for (const r of resources.filter((x) => x.type === 'aws:sfn/stateMachine:StateMachine')) {
    const name = String(r.inputs.name);
    const def = r.inputs.definition;
    if (typeof def !== 'string') {
      machines.push([name, 'definition UNKNOWN at preview']);
      continue;
    }
    fs.writeFileSync(path.join(outDir, `${name}.asl.json`), `${JSON.stringify(JSON.parse(def), null, 2)}\n`);
    machines.push([
      name,
      `${String(r.inputs.type)}, ${Object.keys((JSON.parse(def) as { States: object }).States).length} top-level states`,
    ]);
  }
  fs.writeFileSync(path.join(outDir, 'resources.json'), `${JSON.stringify(slim, null, 2)}\n`);
  return { bundles, machines };
}

function printViolations(violations: PolicyViolation[]): void {
  if (violations.length === 0) {
    console.log('\nPolicy pack: no violations.');
    return;
  }
  console.log(`\nPolicy pack: ${violations.length} violation(s)`);
  for (const v of violations) {
    console.log(
      `  [${v.enforcementLevel}] ${v.policy} — ${v.resource.type} ${v.resource.name}\n      ${v.message.replace(/\n/g, '\n      ')}`,
    );
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const mode = args.unknownOutputs ? 'preview, every output unknown' : args.preview ? 'preview' : 'update';
  console.log(`Synthesizing stack "${args.stack}" offline (${mode}) …`);
  const result = await synthesize(ROOT, args.stack, runProgram, {
    preview: args.preview,
    unknownOutputs: args.unknownOutputs,
  });
  if (result.errors.length > 0) {
    for (const e of result.errors) console.error(`error: ${e.message}`);
    return 1;
  }
  const packConfig = policyConfig(args.policyConfig);
  const { bundles, machines } = writeOutputs(args.outDir, result.resources);

  const counts = new Map<string, number>();
  for (const r of result.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const rows = [...counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([t, n]) => [t, String(n)]);
  console.log(`\n${table([['resource type', 'count'], ...rows, ['total', String(result.resources.length)]])}`);
  const bundleRows = [...bundles]
    .sort((a, b) => a.functionName.localeCompare(b.functionName))
    .map((b) => [b.functionName, kb(b.bytes), kb(b.gzipBytes)]);
  console.log(`\n${table([['Lambda bundle', 'minified', 'gzip'], ...bundleRows])}`);
  console.log(`\n${table([['state machine', ''], ...machines.sort()])}`);
  console.log(`\nWrote ${path.relative(process.cwd(), args.outDir) || '.'}/ (resources.json, *.asl.json, bundles/)`);

  const policyResult = await evaluatePolicies(
    result.resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
    { config: packConfig },
  );
  printViolations(policyResult.violations);
  printOutputs(result.outputValues);

  const started = performance.now();
  const report = await buildStackReport({
    project: 'cqrs-workflows',
    stack: args.stack,
    mode,
    resources: result.resources,
    outputValues: result.outputValues,
    bundles,
    policies: allPolicies,
    policyResult,
    policyConfig: packConfig,
  });
  const page = path.join(args.outDir, 'index.html');
  fs.writeFileSync(page, renderReportPage(report));
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  console.log(`\nStack report: ${path.relative(process.cwd(), page)} (state machines laid out in ${seconds} s)`);
  return policyResult.violations.some((v) => v.enforcementLevel === 'mandatory') ? 2 : 0;
}

/** The stack outputs as `pulumi stack output` lists them; objects one key per line. */
function printOutputs(outputs: Record<string, unknown>): void {
  const show = (v: unknown): string =>
    v === UNKNOWN ? '(known after deploy)' : v === SECRET ? SECRET : typeof v === 'string' ? v : JSON.stringify(v);
  console.log('\nStack outputs');
  for (const key of Object.keys(outputs).sort()) {
    const value = outputs[key];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      console.log(`  ${key}:`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) console.log(`    ${k}: ${show(v)}`);
    } else console.log(`  ${key}: ${show(value)}`);
  }
}

/** The policy config file CI passes with --policy-pack-config (optional for stacks without one). */
function policyConfig(file: string): Record<string, Record<string, unknown>> | undefined {
  if (!fs.existsSync(file)) return undefined;
  console.log(`Policy config: ${path.relative(ROOT, file)}`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
