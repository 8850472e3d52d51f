import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

/**
 * The part of the S3 SDK the handlers and the payload offload use. Only
 * `core/s3-sdk-loader.ts` loads this module, on first use, so bundles of handlers that
 * rarely touch S3 load it from a separate file of the archive only when they do
 * (`handlers/bundle-options.ts`, `S3_ON_MAIN_PATH`). An object of named bindings rather
 * than re-exports: esbuild then keeps these eight commands, not the package's whole index.
 */
export const S3_SDK = {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
};

export type S3Sdk = typeof S3_SDK;
