import { S3_SDK, type S3Sdk } from './s3-sdk';

export type { S3Sdk };

declare global {
  /**
   * Replaced by components/bundle.ts (esbuild `define`): true in the handler bundles that
   * load the S3 SDK on first use, false in the others; absent outside bundles.
   */
  var CQRS_LAZY_S3_SDK: boolean | undefined;
}

/** The file next to `index.js` in a Lambda archive that holds the S3 SDK (components/bundle.ts). */
const LAZY_S3_SDK_FILE = './s3-sdk.js';

/**
 * The S3 SDK. Outside bundles, and in the bundles of the import steps (which read S3 on
 * every invocation), it is the module imported above. In the other handler bundles
 * `CQRS_LAZY_S3_SDK` is true: the import above is then unused and esbuild leaves the SDK
 * out of `index.js`, and this `require` — of a name esbuild does not follow — loads
 * `s3-sdk.js` from the archive the first time a handler needs S3.
 */
export function loadS3Sdk(): S3Sdk {
  if (globalThis.CQRS_LAZY_S3_SDK !== true) return S3_SDK;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  return (require(LAZY_S3_SDK_FILE) as { S3_SDK: S3Sdk }).S3_SDK;
}
