/**
 * npm run bench — build every handler bundle with the shared esbuild options and report
 * minified size, gzip size and cold import time (median of fresh `node -e require(...)`
 * processes). It measures and reports; it is not a test (always exits 0 unless a build fails).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { bundleHandler } from '../components/bundle';
import { HANDLER_NAMES } from '../handlers/bundle-options';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_BYTES = 250 * 1000;
const TARGET_MS = 60;
const outRoot = resolve(__dirname, '..', 'out', 'bench');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function importTimeMs(file: string): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  const res = spawnSync(process.execPath, ['-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
    },
  });
  if (res.status !== 0) throw new Error(`import of ${file} failed: ${res.stderr}`);
  return Number(res.stdout);
}

const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;

function main(): void {
  rmSync(outRoot, { recursive: true, force: true });
  mkdirSync(outRoot, { recursive: true });
  const rows: Array<{ name: string; min: number; gz: number; ms: number; okSize: boolean; okTime: boolean }> = [];
  for (const name of HANDLER_NAMES) {
    // The same in-memory build the HandlerFunction component deploys.
    const bundle = bundleHandler(name, { cache: false });
    const outfile = join(outRoot, name, 'index.js');
    mkdirSync(join(outRoot, name), { recursive: true });
    writeFileSync(outfile, bundle.code);
    writeFileSync(`${outfile}.map`, bundle.sourceMap);
    const min = bundle.sizeBytes;
    const gz = gzipSync(bundle.code, { level: 9 }).length;
    importTimeMs(outfile); // warm the file cache; not counted
    const ms = median(Array.from({ length: Math.max(5, RUNS) }, () => importTimeMs(outfile)));
    rows.push({ name, min, gz, ms, okSize: min <= TARGET_BYTES, okTime: ms <= TARGET_MS });
  }
  const header = ['handler', 'minified', 'gzip', `import ms (median of ${Math.max(5, RUNS)})`, 'targets'];
  const table = rows.map((r) => [
    r.name,
    kb(r.min),
    kb(r.gz),
    r.ms.toFixed(1),
    `${r.okSize ? 'size ok' : 'size OVER'} / ${r.okTime ? 'time ok' : 'time OVER'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ');
  console.log(
    `node ${process.version}; targets: ≤ ${kb(TARGET_BYTES)} minified, ≤ ${TARGET_MS} ms import; bundles in ${outRoot}`,
  );
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const t of table) console.log(line(t));
}

try {
  main();
} catch (err) {
  console.error(err);
  process.exit(1);
}
