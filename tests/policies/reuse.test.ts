/**
 * The rules ship for reuse: a platform team installs the package, imports the rules it
 * wants with their config schemas and documentation, composes them with its own into its
 * own PolicyPack, and tests that pack offline. Everything a reader of the package meets
 * (messages, README) resolves inside the package.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { allPolicies, ruleCatalog, selectPolicies } from '../../policies/rules';
import { README, renderReadme } from '../../scripts/policy-docs';
import { ROOT } from '../support/synth';

const run = promisify(execFile);
const POLICIES = path.join(ROOT, 'policies');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** tsc, failing with what it printed. */
async function tsc(project: string, cwd: string): Promise<void> {
  await run(process.execPath, [TSC, '-p', project], { cwd }).catch((e: { stdout?: string; stderr?: string }) => {
    throw new Error(`tsc -p ${project} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  });
}

describe('the rules as a library', function () {
  this.timeout(300_000);

  it('catalogs every rule of the pack with its documentation and a described config schema', () => {
    assert.deepEqual(
      Object.keys(ruleCatalog),
      allPolicies.map((p) => p.name),
    );
    for (const [name, { policy, docs }] of Object.entries(ruleCatalog)) {
      assert.equal(policy.name, name);
      assert.ok(docs.checks.length > 5 && docs.protectsAgainst.length > 10, name);
      for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
        assert.ok(schema.description, `${name}.${key} has no description`);
        assert.notEqual(schema.default, undefined, `${name}.${key} has no default`);
      }
    }
  });

  it('selects rules, with other default levels, without touching the catalog', () => {
    const picked = selectPolicies({
      exclude: ['dynamodb-deletion-protection'],
      enforcementLevels: { 'sfn-retry-jitter': 'mandatory' },
    });
    assert.equal(picked.length, allPolicies.length - 1);
    assert.ok(!picked.some((p) => p.name === 'dynamodb-deletion-protection'));
    assert.equal(picked.find((p) => p.name === 'sfn-retry-jitter')?.enforcementLevel, 'mandatory');
    assert.equal(ruleCatalog['sfn-retry-jitter'].policy.enforcementLevel, 'advisory');
    assert.deepEqual(
      selectPolicies({ include: ['sfn-map-finite-concurrency'] }).map((p) => p.name),
      ['sfn-map-finite-concurrency'],
    );
    assert.throws(
      () => selectPolicies({ include: ['sfn-map-concurency' as never] }),
      /no rule named "sfn-map-concurency"/,
    );
  });

  it("composes into a platform team's own pack from the installed package (types, exports, offline testing)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policy-consumer-'));
    try {
      // The package as its maintainers build it (TypeScript emits nothing under node_modules)…
      const staging = path.join(dir, 'staging');
      const built = path.join(staging, 'cqrs-workflows-policies');
      fs.mkdirSync(path.join(staging, 'node_modules'), { recursive: true });
      for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.lib.json', 'run-offline.ts', 'rules'])
        fs.cpSync(path.join(POLICIES, f), path.join(built, f), { recursive: true });
      for (const scope of ['@pulumi', '@types'])
        fs.symlinkSync(path.join(ROOT, 'node_modules', scope), path.join(staging, 'node_modules', scope));
      await tsc(path.join(built, 'tsconfig.lib.json'), built);
      // …and as npm installs it, next to its dependencies.
      const pkg = path.join(dir, 'node_modules', 'cqrs-workflows-policies');
      fs.cpSync(built, pkg, { recursive: true });
      fs.symlinkSync(path.join(ROOT, 'node_modules', '@pulumi'), path.join(dir, 'node_modules', '@pulumi'));
      const manifest = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')) as {
        exports: Record<string, { types: string; default: string } | string>;
      };
      for (const target of Object.values(manifest.exports).flatMap((e) =>
        typeof e === 'string' ? [e] : [e.types, e.default],
      ))
        assert.ok(fs.existsSync(path.join(pkg, target)), `exports names ${target}, which the build does not produce`);

      fs.writeFileSync(
        path.join(dir, 'pack.ts'),
        [
          "import type { PolicyPackArgs, ResourceValidationPolicy } from '@pulumi/policy';",
          "import { ruleCatalog, selectPolicies } from 'cqrs-workflows-policies';",
          "import { evaluatePolicies } from 'cqrs-workflows-policies/testing';",
          '',
          'const ownerTag: ResourceValidationPolicy = {',
          "  name: 'platform-owner-tag',",
          "  description: 'Every state machine has an owner tag.',",
          "  enforcementLevel: 'mandatory',",
          '  validateResource: (args, report) => {',
          "    if (args.type === 'aws:sfn/stateMachine:StateMachine' && !(args.props.tags as Record<string, string> | undefined)?.owner) report('no owner tag');",
          '  },',
          '};',
          '',
          'export const pack: PolicyPackArgs = {',
          '  policies: [',
          "    ...selectPolicies({ exclude: ['dynamodb-deletion-protection'], enforcementLevels: { 'sfn-retry-jitter': 'mandatory' } }),",
          '    ownerTag,',
          '  ],',
          '};',
          "export const documented = ruleCatalog['sfn-map-effective-concurrency'].docs.protectsAgainst;",
          'export { evaluatePolicies };',
        ].join('\n'),
      );
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            module: 'node16',
            moduleResolution: 'node16',
            target: 'ES2022',
            skipLibCheck: true,
            types: [],
            outDir: 'out',
          },
          files: ['pack.ts'],
        }),
      );
      // Type-checked against the package's declarations, resolved through its `exports`.
      await tsc(path.join(dir, 'tsconfig.json'), dir);
      const consumer = require(path.join(dir, 'out', 'pack.js')) as {
        pack: { policies: { name: string; enforcementLevel?: string }[] };
        documented: string;
        evaluatePolicies: (
          r: { type: string; name: string; urn: string; props: Record<string, unknown> }[],
          o: { policies: unknown[] },
        ) => Promise<{ violations: { policy: string }[] }>;
      };
      const names = consumer.pack.policies.map((p) => p.name);
      assert.ok(names.includes('platform-owner-tag') && names.includes('sfn-map-effective-concurrency'));
      assert.ok(!names.includes('dynamodb-deletion-protection'));
      assert.match(consumer.documented, /40,000 children/);
      const nested = JSON.stringify({
        StartAt: 'outer',
        States: {
          outer: {
            Type: 'Map',
            MaxConcurrency: 40,
            ItemProcessor: {
              StartAt: 'inner',
              States: {
                inner: {
                  Type: 'Map',
                  MaxConcurrency: 1000,
                  ItemProcessor: {
                    ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
                    StartAt: 'p',
                    States: { p: { Type: 'Pass', End: true } },
                  },
                  End: true,
                },
              },
            },
            End: true,
          },
        },
      });
      const { violations } = await consumer.evaluatePolicies(
        [
          {
            type: 'aws:sfn/stateMachine:StateMachine',
            name: 'm',
            urn: 'urn:pulumi:s::p::aws:sfn/stateMachine:StateMachine::m',
            props: {
              definition: nested,
              loggingConfiguration: { level: 'ALL', logDestination: 'x' },
              tracingConfiguration: { enabled: true },
            },
          },
        ],
        { policies: consumer.pack.policies },
      );
      assert.deepEqual(violations.map((v) => v.policy).sort(), ['platform-owner-tag', 'sfn-map-effective-concurrency']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('packs what a user needs (README, manifest, rules, built library) and nothing of the repository', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: POLICIES });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    for (const f of [
      'README.md',
      'PulumiPolicy.yaml',
      'index.ts',
      'package.json',
      'rules/catalog.ts',
      'run-offline.ts',
    ])
      assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => f.startsWith('node_modules/') || f.includes('test')), files.join(', '));
  });
});

describe('the policy pack documentation', () => {
  it('README.md rule and setting tables are generated from the catalog (npx tsx scripts/policy-docs.ts --write)', () => {
    const current = fs.readFileSync(README, 'utf8');
    assert.equal(renderReadme(current), current);
  });

  it('every file a message or the README refers to exists inside the package (no dangling DESIGN.md)', () => {
    // Shell commands in code blocks run from the repository using the pack; prose and links are what must resolve.
    const texts: [string, string][] = [['README.md', fs.readFileSync(README, 'utf8').replace(/```[\s\S]*?```/g, '')]];
    for (const f of fs.readdirSync(path.join(POLICIES, 'rules')))
      texts.push([`rules/${f}`, fs.readFileSync(path.join(POLICIES, 'rules', f), 'utf8')]);
    for (const f of ['PulumiPolicy.yaml', 'index.ts', 'run-offline.ts'])
      texts.push([f, fs.readFileSync(path.join(POLICIES, f), 'utf8')]);
    assert.deepEqual(danglingReferences(texts), []);
    // The check itself: the reference the issue found.
    assert.deepEqual(danglingReferences([['rules/asl.ts', 'see DESIGN.md "Preview must see the definitions"']]), [
      'rules/asl.ts: DESIGN.md',
    ]);
  });
});

/** References in `texts` (file, content) to files that do not exist inside the policies package. */
function danglingReferences(texts: [string, string][]): string[] {
  const dangling: string[] = [];
  for (const [file, text] of texts) {
    // Markdown links, and file names in prose or code spans.
    const links = [...text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^https?:/.test(l));
    const named = [...text.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)?[\w./-]+\.(?:md|ts|json|yaml))\b/g)]
      .map((m) => m[1])
      .filter(
        (n) => !n.includes('<') && !/^(@|https?:)/.test(n) && !n.startsWith('tests/') && !n.startsWith('node_modules'),
      );
    for (const ref of [...links, ...named]) {
      const resolved = path.resolve(
        file.startsWith('rules/') && ref.startsWith('.') ? path.join(POLICIES, 'rules') : POLICIES,
        ref,
      );
      if (!resolved.startsWith(POLICIES + path.sep) || !fs.existsSync(resolved)) dangling.push(`${file}: ${ref}`);
    }
  }
  return dangling;
}
