import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { buildSync, type Metafile, type OutputFile } from 'esbuild';
import {
  HANDLER_NAMES,
  handlerBundleOptions,
  LAZY_S3_MODULE,
  S3_ON_MAIN_PATH,
  type HandlerName,
} from '../handlers/bundle-options';
import { packageRoot } from './package-root';

/**
 * The one esbuild configuration for handler bundles (handlers/bundle-options.ts);
 * `npm run bench`, `npm run synth` and the HandlerFunction component all build through
 * `bundleHandler`, so what is measured is what is deployed.
 */
export const HANDLER_BUILD_OPTIONS = handlerBundleOptions;

export interface HandlerBundle {
  /** Entry file, relative to the package root. */
  entry: string;
  /** The files of the Lambda's archive: `index.js` (the handler), its source map, and `s3-sdk.js` where used. */
  files: Readonly<Record<string, string>>;
  /** Hex sha256 over the archive's file names and contents. */
  sha256: string;
  /** Bytes of `index.js`: what a cold start loads. */
  sizeBytes: number;
  /** Bytes of JavaScript loaded only on first use (`s3-sdk.js`); 0 when the handler has none. */
  lazyBytes: number;
}

/** Resolves a handler entry: a bare name (`command-step`) means `handlers/<name>.ts`. */
export function handlerEntryPath(entry: string): string {
  if (path.isAbsolute(entry)) return entry;
  const root = packageRoot();
  return entry.includes('/') ? path.join(root, entry) : path.join(root, 'handlers', `${entry}.ts`);
}

const LAZY_S3_FILE = `${LAZY_S3_MODULE}.js`;

/** The S3 SDK module (core/s3-sdk.ts), which core/s3-sdk-loader.ts requires on first use. */
function lazyS3ModulePath(root: string): string {
  return path.join(root, 'core', `${LAZY_S3_MODULE}.ts`);
}

interface BuildEntry {
  /** Output name inside the build: `<dir>/index` for handlers, `lazy/s3-sdk` for the SDK. */
  out: string;
  path: string;
}

/**
 * One esbuild run for several entries (esbuild shares parsing and resolution between
 * them, so this is much faster than a build per handler). Every entry is written as
 * `<dir>/<file>.js`, one directory deep, so the relative paths in its source map are
 * the same whichever build produced it.
 */
function build(
  entries: BuildEntry[],
  lazyS3Sdk: boolean,
): Map<string, { js: OutputFile; map: OutputFile; meta: Metafile['outputs'][string] }> {
  const root = packageRoot();
  const result = buildSync({
    ...HANDLER_BUILD_OPTIONS,
    // Warnings would be printed into every `pulumi preview`; errors still throw.
    logLevel: 'silent',
    absWorkingDir: root,
    entryPoints: entries.map((e) => ({ in: e.path, out: e.out })),
    outdir: path.join(root, '.bundle'),
    write: false,
    metafile: true,
    // Left out, the S3 SDK module keeps a dynamic import of its own (rewritten below).
    // core/s3-sdk-loader.ts: load the S3 SDK on first use from s3-sdk.js, or keep it in index.js.
    define: { 'globalThis.CQRS_LAZY_S3_SDK': lazyS3Sdk ? 'true' : 'false' },
  });
  const out = new Map<string, { js: OutputFile; map: OutputFile; meta: Metafile['outputs'][string] }>();
  for (const entry of entries) {
    const file = path.join(root, '.bundle', `${entry.out}.js`);
    const js = result.outputFiles.find((f) => f.path === file);
    const map = result.outputFiles.find((f) => f.path === `${file}.map`);
    const meta = result.metafile.outputs[path.relative(root, file).split(path.sep).join('/')];
    if (!js || !map || !meta) throw new Error(`esbuild produced no bundle for ${entry.path}`);
    out.set(entry.out, { js, map, meta });
  }
  return out;
}

function toBundle(
  root: string,
  entryPath: string,
  main: { js: OutputFile; map: OutputFile; meta: Metafile['outputs'][string] },
  lazy: { js: OutputFile; map: OutputFile } | undefined,
): HandlerBundle {
  const files: Record<string, string> = { 'index.js': main.js.text, 'index.js.map': main.map.text };
  // The name core/s3-sdk-loader.ts requires at run time; present only where that code is kept.
  const usesLazyS3 = lazy !== undefined && main.js.text.includes(JSON.stringify(`./${LAZY_S3_FILE}`));
  const staticS3 = Object.entries(main.meta.inputs).some(
    ([file, input]) => input.bytesInOutput > 0 && file.includes('node_modules/@aws-sdk/client-s3/'),
  );
  if (usesLazyS3 && staticS3) {
    // Two copies of the S3 SDK would each build their own client and middleware stack.
    throw new Error(
      `${path.relative(root, entryPath)} imports @aws-sdk/client-s3 statically and lazily; reach S3 through s3Sdk() (handlers/shared/aws/s3.ts) only`,
    );
  }
  if (usesLazyS3) {
    if (!lazy) throw new Error(`${entryPath} loads ${LAZY_S3_FILE}, which this build did not produce`);
    files[LAZY_S3_FILE] = lazy.js.text;
    files[`${LAZY_S3_FILE}.map`] = lazy.map.text;
  }
  return {
    entry: path.relative(root, entryPath),
    files,
    sha256: archiveSha256(files),
    sizeBytes: Buffer.byteLength(main.js.text),
    lazyBytes: usesLazyS3 ? Buffer.byteLength(files[LAZY_S3_FILE]) : 0,
  };
}

/**
 * Every catalogue handler, in two esbuild runs: the import steps with the S3 client in
 * their bundle, the others with the S3 SDK in a lazily loaded file of their own.
 * `lazyS3: false` bundles the S3 SDK into every handler that reaches it (one run): the
 * layout `npm run bench` compares against.
 */
function bundleCatalogue(lazyS3Sdk: boolean): Map<string, HandlerBundle> {
  const root = packageRoot();
  const bundles = new Map<string, HandlerBundle>();
  const eager = HANDLER_NAMES.filter((n) => !lazyS3Sdk || S3_ON_MAIN_PATH.includes(n));
  const lazy = HANDLER_NAMES.filter((n) => lazyS3Sdk && !S3_ON_MAIN_PATH.includes(n));
  if (lazy.length > 0) {
    const lazyEntry: BuildEntry = {
      out: `lazy/${LAZY_S3_MODULE}`,
      path: lazyS3ModulePath(root),
    };
    const lazyBuilt = build([...lazy.map((n) => ({ out: `${n}/index`, path: handlerEntryPath(n) })), lazyEntry], true);
    const sdk = lazyBuilt.get(lazyEntry.out);
    for (const name of lazy) {
      bundles.set(handlerEntryPath(name), toBundle(root, handlerEntryPath(name), lazyBuilt.get(`${name}/index`)!, sdk));
    }
  }
  const eagerBuilt = build(
    eager.map((n) => ({ out: `${n}/index`, path: handlerEntryPath(n) })),
    false,
  );
  for (const name of eager)
    bundles.set(
      handlerEntryPath(name),
      toBundle(root, handlerEntryPath(name), eagerBuilt.get(`${name}/index`)!, undefined),
    );
  return bundles;
}

const cache = new Map<string, HandlerBundle>();

export interface BundleOptions {
  /** Reuse (and keep) bundles built earlier in this process. Default: true. */
  cache?: boolean;
  /**
   * Load the S3 SDK lazily in handlers that rarely use it. Default: true (what is
   * deployed); false only to measure the difference (`npm run bench`).
   */
  lazyS3Sdk?: boolean;
}

/** The archive of every catalogue handler (docs/architecture.md), built together. */
export function bundleAllHandlers(options: BundleOptions = {}): Record<HandlerName, HandlerBundle> {
  const lazyS3Sdk = options.lazyS3Sdk ?? true;
  const useCache = (options.cache ?? true) && lazyS3Sdk;
  const paths = HANDLER_NAMES.map((n) => handlerEntryPath(n));
  let all: Map<string, HandlerBundle>;
  if (useCache && paths.every((p) => cache.has(p))) all = cache;
  else {
    all = bundleCatalogue(lazyS3Sdk);
    if (useCache) for (const [p, b] of all) cache.set(p, b);
  }
  return Object.fromEntries(HANDLER_NAMES.map((n, i) => [n, all.get(paths[i])!])) as Record<HandlerName, HandlerBundle>;
}

/**
 * The Lambda archive of one handler, built in memory. A catalogue handler is always built
 * together with the whole catalogue (`bundleAllHandlers`), so what `npm run bench`
 * measures is byte for byte what the component deploys. Any other entry (a consumer's own
 * handler) is built on its own, with the S3 SDK bundled. Paths in the source maps are
 * relative to the package root, so two machines (or two runs) produce byte-identical
 * output and `pulumi up` shows no diff for unchanged code.
 */
export function bundleHandler(entry: string, options: BundleOptions = {}): HandlerBundle {
  const entryPath = handlerEntryPath(entry);
  const name = HANDLER_NAMES.find((n) => handlerEntryPath(n) === entryPath);
  if (name) return bundleAllHandlers(options)[name];
  const useCache = options.cache ?? true;
  const cached = useCache ? cache.get(entryPath) : undefined;
  if (cached) return cached;
  const built = build([{ out: 'custom/index', path: entryPath }], false);
  const bundle = toBundle(packageRoot(), entryPath, built.get('custom/index')!, undefined);
  if (useCache) cache.set(entryPath, bundle);
  return bundle;
}

export function archiveSha256(files: Readonly<Record<string, string>>): string {
  const hash = crypto.createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    hash.update(name).update('\0').update(files[name]).update('\0');
  }
  return hash.digest('hex');
}
