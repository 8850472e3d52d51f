import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { handlerBundleOptions } from '../handlers/bundle-options';
import { packageRoot } from './package-root';

/**
 * The one esbuild configuration for handler bundles (handlers/bundle-options.ts);
 * `npm run bench` and the HandlerFunction component both build through
 * `bundleHandler`, so what is measured is what is deployed.
 */
export const HANDLER_BUILD_OPTIONS = handlerBundleOptions;

export interface HandlerBundle {
  /** Entry file, relative to the package root. */
  entry: string;
  code: string;
  sourceMap: string;
  /** Hex sha256 over the archive's file names and contents. */
  sha256: string;
  /** Minified size of index.js in bytes. */
  sizeBytes: number;
}

/** Resolves a handler entry: a bare name (`command-step`) means `handlers/<name>.ts`. */
export function handlerEntryPath(entry: string): string {
  if (path.isAbsolute(entry)) return entry;
  const root = packageRoot();
  return entry.includes('/') ? path.join(root, entry) : path.join(root, 'handlers', `${entry}.ts`);
}

const cache = new Map<string, HandlerBundle>();

/**
 * Bundles one handler in memory. Paths in the source map are relative to the
 * package root, so two machines (or two runs) produce byte-identical output and
 * `pulumi up` shows no diff for unchanged code.
 */
export function bundleHandler(entry: string, options: { cache?: boolean } = {}): HandlerBundle {
  const entryPath = handlerEntryPath(entry);
  const useCache = options.cache ?? true;
  const cached = useCache ? cache.get(entryPath) : undefined;
  if (cached) return cached;
  const root = packageRoot();
  const result = buildSync({
    ...HANDLER_BUILD_OPTIONS,
    // Warnings would be printed into every `pulumi preview`; errors still throw.
    logLevel: 'silent',
    absWorkingDir: root,
    entryPoints: [entryPath],
    outfile: path.join(root, '.bundle', 'index.js'),
    write: false,
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js || !map) throw new Error(`esbuild produced no bundle for ${entryPath}`);
  const files: Record<string, string> = { 'index.js': js.text, 'index.js.map': map.text };
  const bundle: HandlerBundle = {
    entry: path.relative(root, entryPath),
    code: js.text,
    sourceMap: map.text,
    sha256: archiveSha256(files),
    sizeBytes: Buffer.byteLength(js.text),
  };
  if (useCache) cache.set(entryPath, bundle);
  return bundle;
}

export function archiveSha256(files: Record<string, string>): string {
  const hash = crypto.createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    hash.update(name).update('\0').update(files[name]).update('\0');
  }
  return hash.digest('hex');
}
