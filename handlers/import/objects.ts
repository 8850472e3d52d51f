import type { Readable } from 'node:stream';
import { s3, s3Sdk } from '../shared/aws/s3';
import { bodyToReadable } from '../../core/s3-body';

export async function openObject(bucket: string, key: string): Promise<Readable> {
  const { GetObjectCommand } = s3Sdk();
  const res = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return bodyToReadable(res.Body);
}

export async function objectSize(bucket: string, key: string): Promise<number> {
  const { HeadObjectCommand } = s3Sdk();
  const res = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return Number(res.ContentLength ?? 0);
}
