import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { queryAll } from '../../core/dynamo';
import { tables } from '../shared/env';
import { asText, describeError, NamedError, truncate } from '../../core/errors';
import { log } from '../shared/log';
import { bodyToString } from '../../core/s3-body';
import { ImportMode, ImportStatus, isTerminal } from '../../core/status';
import { isRecord, requireKey, type CaughtError, type Key, type SfnContext } from '../../core/types';
import { countCsv, readCsv } from './csv';
import { openObject } from './objects';
import {
  batchCommitted,
  batchesPk,
  closeJob,
  completeJob,
  deliverJobOutcome,
  requireJob,
  updateJob,
  type ImportJob,
} from './model';
import { processRows, recordUnprocessed, type RowInput } from './rows';
import { resolveImportSchema } from './schema';

export interface CsvMachineInput {
  pk: string;
  sk: string;
  bucket?: string;
  key?: string;
  error?: CaughtError;
  [k: string]: unknown;
}

export interface JobOutcome {
  pk: string;
  sk: string;
  status: string;
  /** null: unknown, the file was not read to its end (DIRECT read error). */
  totalRows: number | null;
  processedRows: number;
  succeededRows: number;
  failedRows: number;
  error?: string;
}

/** Rows per DIRECT chunk (one processRows / one batch marker). */
export const DIRECT_CHUNK = 100;
/** Rows per IMPORT_ERROR chunk when recording unprocessed gaps. */
const GAP_CHUNK = 500;

function caughtText(e: CaughtError | undefined): string | undefined {
  return e ? truncate(`${e.Error ?? 'Error'}: ${e.Cause ?? ''}`, 2000) : undefined;
}

// ---------------------------------------------------------------- csv_loader

/** Count the rows (streamed), check the header, store totalRows/header, job → PROCESSING (STEP_FUNCTION). */
export async function csvLoader(input: CsvMachineInput): Promise<CsvMachineInput & { totalRows: number }> {
  const job = await requireJob(requireKey(input, 'csv_loader input'));
  const bucket = input.bucket ?? job.bucket;
  const key = input.key ?? job.key;
  await updateJob(job, {
    status: ImportStatus.PROCESSING,
    mode: ImportMode.STEP_FUNCTION,
    startedAt: new Date().toISOString(),
  });
  const { header, count } = await countCsv(bucket, key);
  if (!header) throw new NamedError('EmptyFile', `s3://${bucket}/${key} is empty (no header row)`);
  await updateJob(job, { totalRows: count, header });
  const headerErrors = resolveImportSchema(job.schema).checkHeader(header);
  if (headerErrors.length > 0) throw new NamedError('InvalidHeader', headerErrors.join('; '));
  return { ...input, bucket, key, totalRows: count };
}

// ---------------------------------------------------------------- csv_rows_handler

export interface RowsBatchInput {
  BatchInput?: { pk?: string; sk?: string };
  Items?: Array<{ line?: number; row?: Record<string, unknown> }>;
}

export async function csvRowsHandler(input: RowsBatchInput) {
  const job = await requireJob(requireKey(input?.BatchInput, 'csv_rows_handler BatchInput'));
  if (!Array.isArray(input.Items)) throw new Error('csv_rows_handler: Items must be an array');
  const items: RowInput[] = input.Items.map((it, i) => {
    if (typeof it?.line !== 'number')
      throw new Error(`csv_rows_handler: item ${i} has no numeric "line" ($$.Map.Item.Index)`);
    return { index: it.line, row: isRecord(it.row) ? it.row : {} };
  });
  const res = await processRows(job, items);
  return {
    firstIndex: res.firstIndex,
    lastIndex: res.lastIndex,
    processed: res.processed,
    succeeded: res.succeeded,
    failed: res.failed,
    counted: res.counted,
    ...(res.late ? { late: true } : {}),
  };
}

// ---------------------------------------------------------------- finalize_parent_job

interface ManifestRef {
  Bucket: string;
  Key: string;
}

/** ResultWriterDetails may be the state's result itself or nested under any ResultPath. */
export function findResultWriterDetails(value: unknown, depth = 0): ManifestRef | undefined {
  if (!isRecord(value) || depth > 4) return undefined;
  const d = value.ResultWriterDetails;
  if (isRecord(d) && typeof d.Bucket === 'string' && typeof d.Key === 'string') return { Bucket: d.Bucket, Key: d.Key };
  for (const v of Object.values(value)) {
    const found = findResultWriterDetails(v, depth + 1);
    if (found) return found;
  }
  return undefined;
}

async function readJson(bucket: string, key: string): Promise<unknown> {
  const res = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse(await bodyToString(res.Body, 256 * 1024 * 1024));
}

/**
 * Record the rows of every FAILED/PENDING child execution listed in the ResultWriter manifest
 * (each with the child's error as reason), unless that batch had been counted.
 */
async function recordFailedBatchesFromManifest(job: ImportJob, ref: ManifestRef): Promise<number> {
  const manifest = await readJson(ref.Bucket, ref.Key);
  if (!isRecord(manifest) || !isRecord(manifest.ResultFiles))
    throw new Error(`not a ResultWriter manifest: s3://${ref.Bucket}/${ref.Key}`);
  const bucket = typeof manifest.DestinationBucket === 'string' ? manifest.DestinationBucket : ref.Bucket;
  let batches = 0;
  for (const group of ['FAILED', 'PENDING'] as const) {
    const files = manifest.ResultFiles[group];
    if (!Array.isArray(files)) continue;
    for (const file of files) {
      if (!isRecord(file) || typeof file.Key !== 'string') continue;
      const results = await readJson(bucket, file.Key);
      if (!Array.isArray(results)) continue;
      for (const r of results) {
        if (!isRecord(r)) continue;
        let childInput: unknown = r.Input;
        if (typeof childInput === 'string') {
          try {
            childInput = JSON.parse(childInput);
          } catch {
            childInput = undefined;
          }
        }
        const items = isRecord(childInput) && Array.isArray(childInput.Items) ? childInput.Items : [];
        const rows = items
          .filter((it): it is Record<string, unknown> => isRecord(it) && typeof it.line === 'number')
          .map((it) => ({ index: it.line as number, raw: it.row }));
        if (rows.length === 0) continue;
        const first = Math.min(...rows.map((x) => x.index));
        if (await batchCommitted(job, first)) continue;
        const reason =
          group === 'PENDING'
            ? 'not processed: the batch was still pending when the import ended'
            : `batch failed: ${truncate(`${asText(r.Error ?? 'Error')}: ${asText(r.Cause ?? '')}`, 3000)}`;
        await recordUnprocessed(job, rows, reason);
        batches++;
      }
    }
  }
  return batches;
}

/** Record every index in [0, total) that no batch counted. */
async function fillGaps(job: ImportJob, total: number, reason: string): Promise<number> {
  if (total <= 0) return 0;
  const markers = await queryAll(ddb(), {
    TableName: tables.importTmp(),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': batchesPk(job) },
    ProjectionExpression: 'firstIndex, lastIndex',
    ConsistentRead: true,
  });
  const ranges = markers
    .map((m) => [Number(m.firstIndex), Number(m.lastIndex)] as const)
    .filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
    .sort((x, y) => x[0] - y[0]);
  let missing = 0;
  let next = 0;
  const record = async (from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i += GAP_CHUNK) {
      const rows = Array.from({ length: Math.min(GAP_CHUNK, to - i + 1) }, (_, k) => ({ index: i + k }));
      await recordUnprocessed(job, rows, reason);
      missing += rows.length;
    }
  };
  for (const [a, b] of ranges) {
    if (a > next) await record(next, Math.min(a, total) - 1);
    next = Math.max(next, b + 1);
    if (next >= total) break;
  }
  if (next < total) await record(next, total - 1);
  return missing;
}

/** Where a DIRECT read stopped: the rows after it were never read, so the file's total is unknown. */
export interface ReadStopped {
  /** Data rows read (and recorded) before the stop. */
  rowsRead: number;
  /** Last file line / byte read completely (0 = not even the header). */
  line: number;
  byte: number;
  error: string;
}

/**
 * Reconcile and end a CSV job: close it to child batches (`closingAt`), record failed batches
 * from the manifest, then every row no batch counted with a reason, so succeeded + failed =
 * total always holds (total = rows read when a DIRECT read stopped part-way; the job's
 * `totalRows` is then null, unknown). COMPLETED only if every row succeeded and nothing
 * failed at job level.
 */
export async function reconcileAndComplete(
  key: Key,
  options: { machineError?: string; manifest?: ManifestRef; readStopped?: ReadStopped } = {},
): Promise<JobOutcome> {
  let job = await requireJob(key);
  // From here on a child batch still running (the Map run ended, its EXPRESS children did
  // not) counts nothing: the rows it did not write in time are recorded below instead.
  if (!isTerminal(job.status)) await closeJob(key);
  const problems: string[] = [];
  if (options.machineError) problems.push(options.machineError);
  let failedBatches = 0;
  if (options.manifest) {
    try {
      failedBatches = await recordFailedBatchesFromManifest(job, options.manifest);
    } catch (err) {
      problems.push(`could not read the result manifest: ${describeError(err, 500)}`);
      log('error', 'result manifest unreadable', { key, manifest: options.manifest, error: describeError(err) });
    }
  }
  const stopped = options.readStopped;
  // a file not read to its end: every row that was read is accounted for, the rest is unknown
  const total = stopped ? stopped.rowsRead : Number(job.totalRows ?? 0);
  if (stopped) {
    problems.push(
      `the file was not fully read: reading stopped after line ${stopped.line} (byte ${stopped.byte}) with ${stopped.rowsRead} data rows read; ` +
        `the rest of the file was neither counted nor imported, so its total row count is unknown (${stopped.error})`,
    );
  }
  const gapReason = options.machineError
    ? `not processed: the import failed (${options.machineError})`
    : stopped
      ? `not processed: reading the file stopped (${stopped.error})`
      : 'not processed: no batch reported this row';
  const unprocessed = await fillGaps(job, total, gapReason);

  job = await requireJob(key);
  let totalRows: number | null = stopped ? null : Number(job.totalRows ?? 0);
  const processedRows = Number(job.processedRows ?? 0);
  const succeededRows = Number(job.succeededRows ?? 0);
  const failedRows = Number(job.failedRows ?? 0);
  if (totalRows !== null && processedRows > totalRows) {
    problems.push(`${processedRows - totalRows} more rows were processed than csv_loader counted`);
    totalRows = processedRows;
    await updateJob(job, { totalRows });
  }
  if (failedRows > 0)
    problems.push(`${failedRows} of ${totalRows ?? `${processedRows} read`} rows failed (see IMPORT_ERROR items)`);
  const status = problems.length === 0 && succeededRows === totalRows ? ImportStatus.COMPLETED : ImportStatus.FAILED;
  const summary = {
    totalRows,
    processedRows,
    succeededRows,
    failedRows,
    failedBatches,
    unprocessedRows: unprocessed,
    ...(stopped
      ? { unreadRemainder: true, rowsRead: stopped.rowsRead, readStoppedAt: { line: stopped.line, byte: stopped.byte } }
      : {}),
    ...(options.manifest ? { resultManifest: `s3://${options.manifest.Bucket}/${options.manifest.Key}` } : {}),
    ...(problems.length ? { problems } : {}),
  };
  const ended = await completeJob(
    key,
    status,
    summary,
    problems.length ? truncate(problems.join('; '), 2000) : undefined,
  );
  return {
    pk: ended.pk,
    sk: ended.sk,
    status: ended.status,
    totalRows: stopped ? null : Number(ended.totalRows ?? totalRows),
    processedRows: Number(ended.processedRows ?? processedRows),
    succeededRows: Number(ended.succeededRows ?? succeededRows),
    failedRows: Number(ended.failedRows ?? failedRows),
    ...(ended.error ? { error: ended.error } : {}),
  };
}

export async function finalizeParentJob(input: CsvMachineInput, context?: SfnContext): Promise<JobOutcome> {
  const key =
    isRecord(input) && typeof input.pk === 'string' && typeof input.sk === 'string'
      ? { pk: input.pk, sk: input.sk }
      : requireKey(context?.Execution?.Input, 'finalize_parent_job (execution input)');
  return reconcileAndComplete(key, {
    machineError: caughtText(isRecord(input?.error) ? input.error : undefined),
    manifest: findResultWriterDetails(input),
  });
}

// ---------------------------------------------------------------- DIRECT

/**
 * DIRECT mode (small files, one Lambda): the same validation and writes as csv_rows_handler,
 * in chunks of DIRECT_CHUNK rows, streaming the object; then the same reconciliation.
 */
export async function runDirectImport(key: Key): Promise<JobOutcome> {
  const job = await requireJob(key);
  if (isTerminal(job.status)) {
    await deliverJobOutcome(job);
    return {
      pk: job.pk,
      sk: job.sk,
      status: job.status,
      totalRows: job.totalRows === null ? null : Number(job.totalRows ?? 0),
      processedRows: Number(job.processedRows ?? 0),
      succeededRows: Number(job.succeededRows ?? 0),
      failedRows: Number(job.failedRows ?? 0),
    };
  }
  await updateJob(job, {
    status: ImportStatus.PROCESSING,
    mode: ImportMode.DIRECT,
    startedAt: new Date().toISOString(),
  });
  const schema = resolveImportSchema(job.schema);
  let header: string[] | undefined;
  let headerError: string | undefined;
  let total = 0;
  let chunk: RowInput[] = [];
  let machineError: string | undefined;
  let readStopped: ReadStopped | undefined;
  // how far the file has been read: reported if reading stops part-way
  let lastLine = 0;
  let lastByte = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    if (headerError)
      await recordUnprocessed(
        job,
        chunk.map((r) => ({ index: r.index, line: r.line, raw: r.fields })),
        `not processed: invalid header (${headerError})`,
      );
    else await processRows(job, chunk, { schema, header });
    chunk = [];
  };
  try {
    for await (const item of readCsv(await openObject(job.bucket, job.key))) {
      lastLine = item.line;
      lastByte = item.bytes;
      if ('header' in item) {
        header = item.header;
        const errors = schema.checkHeader(header);
        if (errors.length) headerError = errors.join('; ');
        await updateJob(job, { header });
        continue;
      }
      total++;
      chunk.push({ index: item.index, line: item.line, fields: item.fields });
      if (chunk.length >= DIRECT_CHUNK) await flush();
    }
    await flush();
    if (!header) machineError = `EmptyFile: s3://${job.bucket}/${job.key} is empty (no header row)`;
    else if (headerError) machineError = `InvalidHeader: ${headerError}`;
  } catch (err) {
    // The rest of the file was never read: `total` is only what was read so far, and
    // presenting it as the file's total would make succeeded + failed = total look true.
    readStopped = { rowsRead: total, line: lastLine, byte: lastByte, error: describeError(err, 1500) };
    log('error', 'DIRECT import stopped before the end of the file', { key, ...readStopped });
  }
  if (readStopped) {
    await updateJob(job, {
      totalRows: null,
      rowsRead: total,
      unreadRemainder: true,
      readStoppedAt: { line: lastLine, byte: lastByte },
    });
    return reconcileAndComplete(key, { readStopped });
  }
  await updateJob(job, { totalRows: total });
  return reconcileAndComplete(key, { machineError });
}
