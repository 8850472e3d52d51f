import type { S3Client } from '@aws-sdk/client-s3';

import { loadS3Sdk, type S3Sdk } from '../../../core/s3-sdk-loader';

let client: S3Client | undefined;

/** The S3 SDK, loaded on first use (see handlers/bundle-options.ts, `S3_ON_MAIN_PATH`). */
export function s3Sdk(): S3Sdk {
  return loadS3Sdk();
}

/**
 * The container's S3 client, created on first use: the endpoint is read once the
 * environment is final, and warm invocations reuse its connections.
 */
export function s3(): S3Client {
  const { S3Client: Client } = s3Sdk();
  return (client ??= new Client({}));
}

/** Tests (or a changed endpoint) drop the cached client. */
export function resetS3Client(): void {
  client?.destroy();
  client = undefined;
}
