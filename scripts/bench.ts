/**
 * npm run bench — build every handler's Lambda archive exactly as the HandlerFunction
 * component does and report, per handler, the size of what a cold start loads, gzip
 * size, the lazily loaded S3 SDK, and the CPU time of the cold import (median of fresh
 * Node processes) — for the deployed layout and, as "before", with the S3 SDK bundled
 * into every handler that reaches it. It also times the offline synth's bundling (one
 * esbuild run per layout against one run per handler). It measures and reports; it is
 * not a test (exits 0 unless a build fails).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleAllHandlers, type HandlerBundle } from '../components/bundle';
import { HANDLER_NAMES } from '../handlers/bundle-options';

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 9));
const TARGET_BYTES = 250 * 1000;
const TARGET_MS = 60;
const outRoot = resolve(__dirname, '..', 'out', 'bench');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const BENCH_ENV = {
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
};

/** CPU milliseconds (user + system) a fresh Node process spends requiring the file. */
function importCpuMs(file: string): number {
  const script = `const c=process.cpuUsage();require(${JSON.stringify(file)});const d=process.cpuUsage(c);process.stdout.write(String((d.user+d.system)/1000));`;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: BENCH_ENV });
  if (res.status !== 0) throw new Error(`import of ${file} failed: ${res.stderr}`);
  return Number(res.stdout);
}

const HAS_VALGRIND = spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Instructions a fresh, single-threaded Node process executes to run `script`, counted by
 * valgrind's callgrind: the same count on a busy machine as on an idle one (CPU time is not).
 */
function instructions(script: string): number {
  const res = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      '--smc-check=all-non-file',
      process.execPath,
      '--single-threaded',
      '-e',
      script,
    ],
    { encoding: 'utf8', env: BENCH_ENV },
  );
  const m = /Collected\s*:\s*(\d+)/.exec(res.stderr);
  if (res.status !== 0 || !m) throw new Error(`callgrind failed: ${res.stderr.slice(-2000)}`);
  return Number(m[1]);
}

let baseline: number | undefined;
/** Millions of instructions a cold `require` of the file adds to starting Node. */
function importMegaInstructions(file: string): number {
  baseline ??= instructions('');
  return (instructions(`require(${JSON.stringify(file)})`) - baseline) / 1e6;
}

const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;

interface Row {
  name: string;
  startup: number;
  gzip: number;
  lazy: number;
  cpuMs: number;
  /** Million instructions of the cold import (callgrind), when valgrind is installed. */
  mInstr?: number;
}

function measure(layout: string, bundle: HandlerBundle, name: string): Row {
  const dir = join(outRoot, layout, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(bundle.files)) writeFileSync(join(dir, file), text);
  const entry = join(dir, 'index.js');
  importCpuMs(entry); // warm the file cache; not counted
  return {
    name,
    startup: bundle.sizeBytes,
    gzip: gzipSync(bundle.files['index.js'], { level: 9 }).length,
    lazy: bundle.lazyBytes,
    cpuMs: median(Array.from({ length: RUNS }, () => importCpuMs(entry))),
    mInstr: HAS_VALGRIND ? importMegaInstructions(entry) : undefined,
  };
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((t) => t[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(r));
}

function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

function main(): void {
  rmSync(outRoot, { recursive: true, force: true });
  const [deployed, oneRunMs] = timed(() => bundleAllHandlers({ cache: false }));
  const [s3Bundled, eagerRunMs] = timed(() => bundleAllHandlers({ cache: false, lazyS3Sdk: false }));
  const after = HANDLER_NAMES.map((name) => measure('deployed', deployed[name], name));
  const before = HANDLER_NAMES.map((name) => measure('s3-bundled', s3Bundled[name], name));
  console.log(
    `node ${process.version}; targets: ≤ ${kb(TARGET_BYTES)} loaded at cold start, ≤ ${TARGET_MS} ms import CPU; CPU: median of ${RUNS} processes; instructions: callgrind${HAS_VALGRIND ? '' : ' (not installed: apt-get install valgrind)'}; archives in ${outRoot}`,
  );
  const pct = (x: number, y: number): string =>
    y === 0 ? '' : ` (${x <= y ? '−' : '+'}${Math.abs(100 - (100 * x) / y).toFixed(0)} %)`;
  const mi = (r: Row): string => (r.mInstr === undefined ? '-' : `${r.mInstr.toFixed(1)} M`);
  printTable(
    [
      'handler',
      'cold-start JS',
      'gzip',
      'lazy S3 SDK',
      'import instr.',
      'import CPU ms',
      'before: JS',
      'before: instr.',
      'before: CPU ms',
      'targets',
    ],
    after.map((a, i) => {
      const b = before[i];
      return [
        a.name,
        `${kb(a.startup)}${pct(a.startup, b.startup)}`,
        kb(a.gzip),
        a.lazy ? kb(a.lazy) : '-',
        `${mi(a)}${a.mInstr !== undefined && b.mInstr !== undefined ? pct(a.mInstr, b.mInstr) : ''}`,
        a.cpuMs.toFixed(1),
        kb(b.startup),
        mi(b),
        b.cpuMs.toFixed(1),
        `${a.startup <= TARGET_BYTES ? 'size ok' : 'size OVER'} / ${a.cpuMs <= TARGET_MS ? 'time ok' : 'time OVER'}`,
      ];
    }),
  );
  console.log(
    `\nbundling every handler: ${oneRunMs.toFixed(0)} ms for the deployed layout (2 esbuild runs), ${eagerRunMs.toFixed(0)} ms with the S3 SDK bundled (1 run)`,
  );
}

try {
  main();
} catch (err) {
  console.error(err);
  process.exit(1);
}
