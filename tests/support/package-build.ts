import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './synth';

const run = promisify(execFile);
let packed: Promise<string> | undefined;

/** `npm` as the running npm scripts see it (npm_execpath), else the one on PATH. */
export function npmCommand(args: string[]): [string, string[]] {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args];
}

/**
 * Packs the package once per test process, as `npm publish` would: `npm pack` runs the
 * `prepare` build (a fresh dist/) and applies `files`. Resolves to the tarball's path.
 */
export function packedTarball(): Promise<string> {
  packed ??= (async () => {
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-pack-'));
    const [cmd, args] = npmCommand(['pack', '--json', '--pack-destination', dest]);
    const { stdout } = await run(cmd, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    // The report is the JSON on stdout; lifecycle scripts (the prepare build) print to stderr.
    const report = JSON.parse(stdout) as { filename: string }[];
    return path.join(dest, report[0].filename);
  })();
  return packed;
}
