import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildOptions } from 'esbuild';

/** The function catalogue of docs/architecture.md: one esbuild entry `handlers/<name>.ts` each. */
export const HANDLER_NAMES = [
  'command-step',
  'task-step',
  'import-csv-step',
  'import-zip-step',
  'stream-router',
  'task-action-consumer',
  'import-action-consumer',
  'notification-consumer',
  'execution-watch',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/**
 * Packages only reached by the SDK's default credential chain when no credentials are in the
 * environment (SSO, ini files, credential_process, web identity, container/IMDS, login).
 * Lambda always provides credentials in the environment, so these are never loaded there;
 * leaving them out of the bundle saves ~100 KB per function. They still resolve (from the
 * runtime's own SDK, or node_modules locally) if ever needed.
 */
export const LAZY_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/token-providers',
  '@aws-sdk/nested-clients',
  '@smithy/credential-provider-imds',
];

/**
 * The AWS SDK packages the handlers import. In a consumer's node_modules, npm may place
 * a copy of one of them next to this package and another at the top (say, the
 * consumer's own `@aws-sdk/client-dynamodb` at a different version): the handlers would
 * then import one copy and `@aws-sdk/lib-dynamodb` (whose peer it is) the other, and
 * every bundle would carry two DynamoDB clients. Each is therefore aliased to itself,
 * which makes esbuild resolve it from `absWorkingDir` (this package's root) for every
 * importer: one copy per bundle, the one this package resolves.
 */
export const BUNDLED_SDK_PACKAGES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-s3',
  '@aws-sdk/client-sfn',
  '@aws-sdk/client-sns',
  '@aws-sdk/lib-dynamodb',
] as const;

/**
 * The one set of esbuild options shared by `npm run bench` and the Pulumi HandlerFunction
 * component, so both build byte-identical bundles. Add `entryPoints`, `outfile`/`outdir` and
 * `absWorkingDir` (the package root: the SDK aliases resolve from there).
 * The AWS SDK v3 clients are bundled (pinned version, tree-shaken via their ESM builds).
 */
export const handlerBundleOptions: Readonly<BuildOptions> = Object.freeze({
  bundle: true,
  minify: true,
  treeShaking: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  external: [...LAZY_CREDENTIAL_PROVIDERS],
  alias: Object.fromEntries(BUNDLED_SDK_PACKAGES.map((p) => [p, p])),
} satisfies BuildOptions);

/**
 * Handlers that read S3 on every invocation (the CSV and ZIP import steps): their bundle
 * carries the S3 client. Every other handler reaches S3 only on rare paths (an offloaded
 * payload, a ZIP job closed by execution-watch), so a dynamic `import()` of the S3 SDK
 * there loads `s3-sdk.js`, a file of its own in the function's archive, on first use —
 * the main bundle is smaller and its cold import cheaper (`npm run bench`).
 */
export const S3_ON_MAIN_PATH: readonly HandlerName[] = ['import-csv-step', 'import-zip-step', 'import-action-consumer'];

/** Module that bundles the S3 SDK for lazy loading; dynamic imports of it or of the SDK load it. */
export const LAZY_S3_MODULE = 's3-sdk';

/** Absolute path of a handler's entry file (works from the sources and from dist/). */
export function handlerEntryPoint(name: HandlerName): string {
  const here = join(__dirname, `${name}.ts`);
  if (existsSync(here)) return here;
  return resolve(__dirname, '..', '..', 'handlers', `${name}.ts`);
}
