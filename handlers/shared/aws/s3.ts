import { S3Client } from '@aws-sdk/client-s3';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const client = /* @__PURE__ */ perContainer(() => new S3Client({}));

/** The container's S3 client. */
export const s3 = client.get;
export const resetS3Client = client.reset;
