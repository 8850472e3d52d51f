import { S3Client } from '@aws-sdk/client-s3';

let client: S3Client | undefined;

/** One S3 client per container (endpoint overridable by AWS_ENDPOINT_URL_S3). */
export function s3(): S3Client {
  if (!client) client = new S3Client({});
  return client;
}

export function resetS3Client(): void {
  client?.destroy();
  client = undefined;
}
