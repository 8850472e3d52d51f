import { PassThrough, type Readable } from 'node:stream';
import { RandomAccessReader, fromRandomAccessReaderPromise, type Entry, type ZipFile } from 'yauzl';
import { NamedError } from '../../core/errors';
import { DEFAULT_ZIP_BOUNDS, S3_KEY_MAX_BYTES, type ZipBounds } from '../../core/limits';
import { s3, s3Sdk } from '../shared/aws/s3';
import { bodyToBuffer, bodyToReadable } from '../../core/s3-body';

/** Reads at most this size are served from cached aligned blocks (EOCD, central directory, local headers). */
const SMALL_READ = 64 * 1024;
const BLOCK = 1024 * 1024;
const MAX_CACHED_BLOCKS = 4;
/** The sorted keys travel in the import-zip execution's state (256 KiB): keep the list well under it. */
export const MAX_KEY_LIST_BYTES = 200 * 1024;
/** A single PutObject can take at most 5 GiB. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;

/**
 * yauzl RandomAccessReader over S3 ranged GETs: the archive is never downloaded whole.
 * Small reads (zip metadata) go through a tiny LRU of 1 MiB aligned blocks so the central
 * directory costs a few GETs, entry data is streamed straight from its byte range.
 */
export class S3RangeReader extends RandomAccessReader {
  private readonly blocks = new Map<number, Promise<Buffer>>();
  public gets = 0;

  constructor(
    private readonly bucket: string,
    private readonly key: string,
    private readonly size: number,
  ) {
    super();
  }

  private async getRange(start: number, endExclusive: number): Promise<Readable> {
    this.gets++;
    const { GetObjectCommand } = s3Sdk();
    const res = await s3().send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=${start}-${endExclusive - 1}` }),
    );
    return bodyToReadable(res.Body);
  }

  private block(index: number): Promise<Buffer> {
    let p = this.blocks.get(index);
    if (p) {
      this.blocks.delete(index);
      this.blocks.set(index, p); // LRU touch
      return p;
    }
    const start = index * BLOCK;
    const end = Math.min(this.size, start + BLOCK);
    p = this.getRange(start, end).then((s) => bodyToBuffer(s, BLOCK + 1));
    p.catch(() => this.blocks.delete(index));
    this.blocks.set(index, p);
    while (this.blocks.size > MAX_CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value as number);
    return p;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const out = new PassThrough();
    const pump = async (): Promise<void> => {
      if (end - start <= SMALL_READ) {
        const parts: Buffer[] = [];
        for (let b = Math.floor(start / BLOCK); b * BLOCK < end; b++) {
          const buf = await this.block(b);
          const from = Math.max(start, b * BLOCK) - b * BLOCK;
          const to = Math.min(end, (b + 1) * BLOCK) - b * BLOCK;
          parts.push(buf.subarray(from, to));
        }
        out.end(Buffer.concat(parts));
        return;
      }
      const body = await this.getRange(start, end);
      body.on('error', (err) => out.destroy(err));
      body.pipe(out);
    };
    pump().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }
}

export interface UnzippedEntry {
  entry: string;
  key: string;
  size: number;
}

/** Entries that are CSV files (not directories, not macOS resource forks). */
export function isCsvEntry(name: string): boolean {
  if (name.endsWith('/')) return false;
  if (name.startsWith('__MACOSX/') || name.split('/').some((p) => p.startsWith('._'))) return false;
  return name.toLowerCase().endsWith('.csv');
}

/** An archive entry that was not imported, and why. */
export interface SkippedEntry {
  entry: string;
  reason: string;
}

/**
 * A safe S3 key segment path for an entry name (no leading '/', no backslashes, no empty or
 * '.' segments), or undefined if the name has a '..' segment: dropping the segment makes
 * 'a/../b.csv' 'a/b.csv', resolving it makes it 'b.csv' — either may be another entry's path.
 * (yauzl already fails an archive with such a name; this does not rely on it.)
 */
export function safeEntryPath(name: string): string | undefined {
  const parts = name.replace(/\\/g, '/').split('/');
  if (parts.includes('..')) return undefined;
  return parts.filter((p) => p !== '' && p !== '.').join('/');
}

/** A bound of the archive is exceeded: the whole archive is refused before anything is written. */
export class ZipLimitExceededError extends NamedError {
  constructor(message: string) {
    super('ZipLimitExceeded', message);
  }
}

interface PlannedEntry {
  entry: Entry;
  destKey: string;
}

/**
 * Read the central directory only (no entry data) and decide what will be written: every CSV
 * entry with its destination key, the skipped ones with their reason. Every bound is checked
 * here, on the sizes the directory declares — yauzl then holds each entry to its declared
 * size while it is streamed (validateEntrySizes) — so an archive over a bound fails before a
 * single object exists.
 */
async function planEntries(
  zip: ZipFile,
  archiveKey: string,
  destPrefix: string,
  bounds: ZipBounds,
): Promise<{ planned: PlannedEntry[]; skipped: SkippedEntry[] }> {
  if (zip.entryCount > bounds.maxEntries)
    throw new ZipLimitExceededError(
      `${archiveKey} has ${zip.entryCount} entries, over the limit of ${bounds.maxEntries} (zipMaxEntries)`,
    );
  const planned: PlannedEntry[] = [];
  const skipped: SkippedEntry[] = [];
  const taken = new Map<string, string>();
  let total = 0;
  for await (const entry of zip.eachEntry() as AsyncIterable<Entry>) {
    if (!isCsvEntry(entry.fileName)) continue;
    if (entry.isEncrypted()) throw new ZipLimitExceededError(`zip entry ${entry.fileName} is encrypted`);
    const path = safeEntryPath(entry.fileName);
    if (path === undefined) {
      skipped.push({ entry: entry.fileName, reason: 'path has a ".." segment' });
      continue;
    }
    if (!path) continue;
    const destKey = `${destPrefix}${path}`;
    if (Buffer.byteLength(destKey, 'utf8') > S3_KEY_MAX_BYTES) {
      skipped.push({ entry: entry.fileName, reason: `path too long for an S3 key (over ${S3_KEY_MAX_BYTES} bytes)` });
      continue;
    }
    const first = taken.get(destKey);
    if (first !== undefined) {
      skipped.push({ entry: entry.fileName, reason: `same path as the earlier entry "${first}"` });
      continue;
    }
    taken.set(destKey, entry.fileName);
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > 0 && ratio > bounds.maxCompressionRatio)
      throw new ZipLimitExceededError(
        `entry ${entry.fileName} expands ${Math.floor(ratio)} times (${entry.compressedSize} → ${entry.uncompressedSize} bytes), over the limit of ${bounds.maxCompressionRatio} (zipMaxCompressionRatio)`,
      );
    if (entry.uncompressedSize > MAX_SINGLE_PUT)
      throw new ZipLimitExceededError(`zip entry ${entry.fileName} is larger than 5 GiB`);
    total += entry.uncompressedSize;
    planned.push({ entry, destKey });
  }
  if (planned.length > bounds.maxFiles)
    throw new ZipLimitExceededError(
      `${archiveKey} has ${planned.length} CSV files, over the limit of ${bounds.maxFiles} (zipMaxFiles; the import-zip execution's history bounds it)`,
    );
  if (total > bounds.maxUncompressedBytes)
    throw new ZipLimitExceededError(
      `the CSV files hold ${total} bytes uncompressed, over the limit of ${bounds.maxUncompressedBytes} (zipMaxUncompressedBytes)`,
    );
  const listBytes = Buffer.byteLength(JSON.stringify(planned.map((p) => p.destKey)), 'utf8');
  if (listBytes > MAX_KEY_LIST_BYTES)
    throw new ZipLimitExceededError(
      `the keys of the ${planned.length} CSV files take ${listBytes} bytes, over the ${MAX_KEY_LIST_BYTES} bytes the execution's state may carry; shorten the entry names or split the archive`,
    );
  return { planned, skipped };
}

/**
 * Unzip every CSV entry of s3://bucket/key to `<destPrefix><entry path>`: first the central
 * directory is read and every bound checked (see planEntries), then each entry is read
 * (inflated) and uploaded as it is read — one entry in flight, bounded memory.
 * Returns the uploaded keys sorted, and the CSV entries that were skipped with the reason:
 * an entry whose normalised path an earlier entry already has ('./b.csv', 'a//b.csv',
 * 'a\b.csv' or the same name twice) would overwrite that file's object and its rows would
 * disappear; which one the archive meant is not ours to guess, so the later one is skipped.
 */
export async function unzipCsvEntries(
  bucket: string,
  key: string,
  destBucket: string,
  destPrefix: string,
  bounds: ZipBounds = DEFAULT_ZIP_BOUNDS,
): Promise<{ entries: UnzippedEntry[]; skipped: SkippedEntry[] }> {
  const { HeadObjectCommand } = s3Sdk();
  const head = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const size = Number(head.ContentLength ?? 0);
  if (size <= 0) throw new Error(`s3://${bucket}/${key} is empty`);
  const reader = new S3RangeReader(bucket, key, size);
  // autoClose off: the entries are opened after the whole directory was read
  const zip = await fromRandomAccessReaderPromise(reader, size, {
    lazyEntries: true,
    autoClose: false,
    validateEntrySizes: true,
    strictFileNames: false,
  });
  const out: UnzippedEntry[] = [];
  try {
    const { planned, skipped } = await planEntries(zip, key, destPrefix, bounds);
    for (const { entry, destKey } of planned) {
      const stream = await zip.openReadStreamPromise(entry);
      const { PutObjectCommand } = s3Sdk();
      await s3().send(
        new PutObjectCommand({
          Bucket: destBucket,
          Key: destKey,
          Body: stream,
          ContentLength: entry.uncompressedSize,
          ContentType: 'text/csv',
        }),
      );
      out.push({ entry: entry.fileName, key: destKey, size: entry.uncompressedSize });
    }
    return { entries: out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)), skipped };
  } finally {
    if (zip.isOpen) zip.close();
  }
}
