import { createInterface } from 'node:readline';
import { BUCKET_PREFIXES } from '../../core/bucket-layout';
import { jobObjectPrefix } from '../../core/keys';
import { bodyToReadable } from '../../core/s3-body';
import { isRecord, type Key } from '../../core/types';
import { s3, s3Sdk } from '../shared/aws/s3';
import type { PreparedRow } from './prepare';

/** Where csv_loader stages a job's prepared rows: one JSON line per row, read by the Distributed Map (InputType JSONL). */
export function stagedRowsKey(job: Key): string {
  return `${jobObjectPrefix(BUCKET_PREFIXES.staged, job)}rows.jsonl`;
}

/** S3 parts are at least 5 MiB (but the last); 8 MiB keeps memory bounded and calls few. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Streams JSON lines to S3: one PutObject when everything fits one part, a multipart upload
 * otherwise (aborted if the writer fails), so a file of any size is staged in bounded memory.
 */
export class StagedRowsWriter {
  private lines: string[] = [];
  private buffered = 0;
  private uploadId: string | undefined;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];
  rows = 0;
  bytes = 0;

  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {}

  async write(row: PreparedRow): Promise<void> {
    const line = `${JSON.stringify(row)}\n`;
    this.lines.push(line);
    this.buffered += Buffer.byteLength(line, 'utf8');
    this.rows++;
    if (this.buffered >= PART_BYTES) await this.flushPart();
  }

  async finish(): Promise<{ bucket: string; key: string; rows: number; bytes: number }> {
    const body = this.take();
    if (this.uploadId === undefined) {
      const { PutObjectCommand } = s3Sdk();
      await s3().send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentType: 'application/jsonl' }),
      );
    } else {
      if (body.length > 0) await this.uploadPart(body);
      const { CompleteMultipartUploadCommand } = s3Sdk();
      await s3().send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts },
        }),
      );
    }
    return { bucket: this.bucket, key: this.key, rows: this.rows, bytes: this.bytes };
  }

  /** Give up: an unfinished multipart upload is aborted so no parts linger. */
  async abort(): Promise<void> {
    if (this.uploadId === undefined) return;
    const id = this.uploadId;
    this.uploadId = undefined;
    const { AbortMultipartUploadCommand } = s3Sdk();
    await s3().send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: id }));
  }

  private take(): Buffer {
    const body = Buffer.from(this.lines.join(''), 'utf8');
    this.lines = [];
    this.buffered = 0;
    this.bytes += body.length;
    return body;
  }

  private async flushPart(): Promise<void> {
    if (this.uploadId === undefined) {
      const { CreateMultipartUploadCommand } = s3Sdk();
      const res = await s3().send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: 'application/jsonl' }),
      );
      if (!res.UploadId)
        throw new Error(`CreateMultipartUpload for s3://${this.bucket}/${this.key} returned no UploadId`);
      this.uploadId = res.UploadId;
    }
    await this.uploadPart(this.take());
  }

  private async uploadPart(body: Buffer): Promise<void> {
    const PartNumber = this.parts.length + 1;
    const { UploadPartCommand } = s3Sdk();
    const res = await s3().send(
      new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber, Body: body }),
    );
    this.parts.push({ PartNumber, ETag: String(res.ETag) });
  }
}

/** Stream a staged file back (the finalizer looks up the lines of rows no batch reported). */
export async function* readStagedRows(bucket: string, key: string): AsyncGenerator<PreparedRow> {
  const { GetObjectCommand } = s3Sdk();
  const res = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const lines = createInterface({ input: bodyToReadable(res.Body), crlfDelay: Infinity });
  for await (const text of lines) {
    if (!text) continue;
    const row: unknown = JSON.parse(text);
    if (isPreparedRow(row)) yield row;
  }
}

/** A staged row as the Distributed Map hands it to a batch. */
export function isPreparedRow(value: unknown): value is PreparedRow {
  return (
    isRecord(value) &&
    typeof value.index === 'number' &&
    typeof value.line === 'number' &&
    (isRecord(value.command) || typeof value.error === 'string')
  );
}
