import type * as S3Sdk from './s3-sdk';

export type { S3Sdk };

/**
 * The one place that loads the S3 SDK module, on first use. Handler bundles that rarely
 * use S3 keep it out of their main file: components/bundle.ts points this `require` at
 * `s3-sdk.js`, a file of its own in the Lambda archive. Elsewhere (the client, tests) it
 * is an ordinary `require`.
 */
export function loadS3Sdk(): typeof S3Sdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  return require('./s3-sdk') as typeof S3Sdk;
}
