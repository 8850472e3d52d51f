import type { S3Client } from '@aws-sdk/client-s3';
import { loadS3Sdk } from './s3-sdk-loader';
import { BUCKET_PREFIXES } from './bucket-layout';
import { objectSegment } from './keys';
import { bodyToString } from './s3-body';

/**
 * Large-attribute offload. DynamoDB items are limited to 400 KB and nothing big may travel
 * between states (256 KiB), so a value whose JSON is larger than `maxInlineBytes` is
 * written to `s3://<bucket>/payloads/<path>.json` and replaced by a reference (the S3 key).
 */
export const PAYLOAD_PREFIX = BUCKET_PREFIXES.payloads;
export const DEFAULT_MAX_INLINE_BYTES = 200 * 1024;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');
}

/**
 * S3 key under payloads/ for a logical path `[kind, ...identity, name]`:
 * `payloads/<kind>/<segment of the identity>/<name>.json`. The identity (e.g. pk and code) is
 * folded into one bounded segment (objectSegment), so any pk/sk is safe — no '..', no '/', no
 * collision between tenants — and the key stays inside S3's 1,024-byte limit.
 */
export function payloadKey(kind: string, ...rest: string[]): string {
  const name = rest.length > 0 ? rest[rest.length - 1] : 'value';
  const identity = rest.slice(0, -1);
  const safe = (s: string) => (/^[A-Za-z0-9_-]{1,80}$/.test(s) ? s : objectSegment(s));
  return `${PAYLOAD_PREFIX}${safe(kind)}/${identity.length ? `${objectSegment(...identity)}/` : ''}${safe(name)}.json`;
}

export interface Offloaded<T> {
  /** The value itself when small enough. */
  inline?: T;
  /** The S3 key (in the payload bucket) when it was offloaded. */
  ref?: string;
}

/**
 * An S3 client, or a function that gives one on first use: handlers pass their lazily
 * created client so a call that offloads nothing never loads the S3 SDK.
 */
export type S3Source = S3Client | (() => S3Client);

function clientOf(source: S3Source): S3Client {
  return typeof source === 'function' ? source() : source;
}

export async function offloadIfLarge<T>(
  s3: S3Source | undefined,
  bucket: string | undefined,
  value: T,
  keySegments: string[],
  maxInlineBytes = DEFAULT_MAX_INLINE_BYTES,
): Promise<Offloaded<T>> {
  const body = JSON.stringify(value ?? null);
  if (Buffer.byteLength(body, 'utf8') <= maxInlineBytes) return { inline: value };
  if (!s3 || !bucket) {
    throw new Error(
      `value of ${Buffer.byteLength(body, 'utf8')} bytes exceeds ${maxInlineBytes} bytes and no payload bucket (IMPORT_BUCKET) is configured to offload it`,
    );
  }
  const key = payloadKey(keySegments[0] ?? 'values', ...keySegments.slice(1));
  // Loaded on this rare path only: see core/s3-sdk-loader.ts.
  const { PutObjectCommand } = loadS3Sdk();
  await clientOf(s3).send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
  );
  return { ref: key };
}

export async function loadPayload<T = unknown>(s3: S3Source, bucket: string, key: string): Promise<T> {
  if (!key.startsWith(PAYLOAD_PREFIX)) throw new Error(`refusing to load payload outside ${PAYLOAD_PREFIX}: ${key}`);
  const { GetObjectCommand } = loadS3Sdk();
  const res = await clientOf(s3).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await bodyToString(res.Body, 512 * 1024 * 1024)) as T;
}
