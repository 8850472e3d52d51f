/**
 * The part of the S3 SDK the handlers and the payload offload use. Only
 * `core/s3-sdk-loader.ts` loads it, on first use, so bundles of handlers that rarely touch
 * S3 load it from a separate file of the archive only when they do
 * (`handlers/bundle-options.ts`, `S3_ON_MAIN_PATH`).
 */
export {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
