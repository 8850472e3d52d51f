import { ddb } from '../shared/aws/dynamodb';
import { s3, s3Sdk } from '../shared/aws/s3';
import { queryAll, withRetries } from '../../core/dynamo';
import { requireEnv, tables } from '../shared/env';
import { asText, describeError, NamedError, truncate } from '../../core/errors';
import { log } from '../shared/log';
import { bodyToString } from '../../core/s3-body';
import { ImportMode, ImportStatus, isTerminal } from '../../core/status';
import { isRecord, requireKey, type CaughtError, type Key, type SfnContext } from '../../core/types';
import { readCsv, type CsvItem } from './csv';
import { openObject } from './objects';
import { DuplicateTracker, prepareRow, type PreparedRow } from './prepare';
import { isPreparedRow, readStagedRows, stagedRowsKey, StagedRowsWriter } from './staging';
import {
  batchCommitted,
  batchesPk,
  closeJob,
  completeJob,
  deliverJobOutcome,
  markProcessing,
  requireJob,
  updateJob,
  type ImportJob,
} from './model';
import { publishAlarm } from '../shared/notify';
import { recordUnprocessed, writeRows } from './rows';
import { resolveImportSchema, type ImportSchema } from './schema';

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
  /** null: unknown — the file was not read to its end, or its rows were never counted. */
  totalRows: number | null;
  processedRows: number;
  succeededRows: number;
  failedRows: number;
  error?: string;
}

/** Rows per DIRECT chunk (one writeRows / one batch marker). */
export const DIRECT_CHUNK = 100;
/** Rows per IMPORT_ERROR chunk when recording unprocessed gaps. */
const GAP_CHUNK = 500;

function caughtText(e: CaughtError | undefined): string | undefined {
  return e ? truncate(`${e.Error ?? 'Error'}: ${e.Cause ?? ''}`, 2000) : undefined;
}

// ---------------------------------------------------------------- reading

/** A CSV read item by item, each record decided (prepared) in file order; header problems reported once. */
export interface ReadRowsHandlers {
  onHeader(header: string[] | undefined, problem: string | undefined): Promise<void>;
  onRow(row: PreparedRow): Promise<void>;
}

/**
 * Read the object and prepare every record in file order (so the first line of a duplicate key
 * wins and every line number is the file's). Returns where reading got to. An error from the
 * object stream (a read error) is thrown as ReadError; an error from a handler (a write) is
 * thrown as it is, so the caller can tell them apart.
 */
async function readRows(
  bucket: string,
  key: string,
  schema: ImportSchema,
  handlers: ReadRowsHandlers,
): Promise<{ rows: number; line: number; byte: number; header?: string[]; headerProblem?: string }> {
  const items = readCsv(await openObject(bucket, key));
  const seen = new DuplicateTracker();
  let header: string[] | undefined;
  let headerProblem: string | undefined;
  let rows = 0;
  let line = 0;
  let byte = 0;
  for (;;) {
    let next: IteratorResult<CsvItem>;
    try {
      next = await items.next();
    } catch (err) {
      throw new ReadError(err, { rows, line, byte });
    }
    if (next.done) break;
    const item = next.value;
    if (item.kind === 'header' || item.kind === 'header-invalid') {
      if (item.kind === 'header') {
        header = item.fields;
        const errors = schema.checkHeader(header);
        if (errors.length) headerProblem = errors.join('; ');
      } else headerProblem = item.reason;
      await handlers.onHeader(header, headerProblem);
    } else {
      const prepared =
        header && !headerProblem
          ? prepareRow(item, header, schema, seen)
          : {
              index: item.index,
              line: item.line,
              error: `not processed: invalid header (${headerProblem ?? 'none'})`,
              raw: item.kind === 'row' ? truncate(JSON.stringify(item.fields), 2000) : item.raw,
            };
      await handlers.onRow(prepared);
      rows++;
    }
    line = item.lastLine;
    byte = item.end;
  }
  return { rows, line, byte, header, headerProblem };
}

/** Reading the object failed part-way (not a write): where it got to is kept. */
export class ReadError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly at: { rows: number; line: number; byte: number },
  ) {
    super(describeError(cause, 1500));
    this.name = 'ReadError';
  }
}

// ---------------------------------------------------------------- csv_loader

export interface StagedRows {
  bucket: string;
  key: string;
}

/**
 * Read the CSV once, with the same reader and the same row decisions as DIRECT, and stage the
 * prepared rows as JSON Lines under `staged/` for the Distributed Map: its batches only write
 * them. The Map never parses the CSV itself — its own reader drops backslashes, pads short
 * rows, cuts long ones and numbers items, not lines (see docs/architecture.md). Stores
 * totalRows and the header; job → PROCESSING (STEP_FUNCTION). An unusable header still counts
 * the rows (each is then recorded as not processed) and fails with InvalidHeader.
 */
export async function csvLoader(
  input: CsvMachineInput,
): Promise<CsvMachineInput & { totalRows: number; staged?: StagedRows }> {
  const job = await requireJob(requireKey(input, 'csv_loader input'));
  const bucket = input.bucket ?? job.bucket;
  const key = input.key ?? job.key;
  await markProcessing(job, { mode: ImportMode.STEP_FUNCTION, startedAt: new Date().toISOString() });
  const writer = new StagedRowsWriter(requireEnv('IMPORT_BUCKET'), stagedRowsKey(job));
  let read: Awaited<ReturnType<typeof readRows>>;
  try {
    // with an unusable header every row is staged as failed ("not processed: invalid header"),
    // so the finalizer can still report each on its line
    read = await readRows(bucket, key, resolveImportSchema(job.schema), {
      onHeader: () => Promise.resolve(),
      onRow: (row) => writer.write(row),
    });
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err instanceof ReadError ? new NamedError('ReadError', `s3://${bucket}/${key}: ${err.message}`) : err;
  }
  if (!read.header && !read.headerProblem)
    throw new NamedError('EmptyFile', `s3://${bucket}/${key} is empty (no header row)`);
  const staged = read.rows > 0 ? await writer.finish() : undefined;
  const at = staged ? { bucket: staged.bucket, key: staged.key } : undefined;
  await withRetries(() =>
    updateJob(job, {
      totalRows: read.rows,
      ...(read.header ? { header: read.header } : {}),
      ...(at ? { staged: at } : {}),
    }),
  );
  if (read.headerProblem) throw new NamedError('InvalidHeader', read.headerProblem);
  return { ...input, bucket, key, totalRows: read.rows, ...(at ? { staged: at } : {}) };
}

// ---------------------------------------------------------------- csv_rows_handler

export interface RowsBatchInput {
  BatchInput?: { pk?: string; sk?: string };
  /** Staged rows, as csv_loader wrote them: `{ index, line, command }` or `{ index, line, error, raw }`. */
  Items?: unknown[];
}

export async function csvRowsHandler(input: RowsBatchInput) {
  const job = await requireJob(requireKey(input?.BatchInput, 'csv_rows_handler BatchInput'));
  if (!Array.isArray(input.Items)) throw new Error('csv_rows_handler: Items must be an array');
  const rows = input.Items.map((it, i) => {
    if (!isPreparedRow(it))
      throw new Error(`csv_rows_handler: item ${i} is not a staged row ({ index, line, command | error })`);
    return it;
  });
  // writeRows is safe to run again: a transient error retries the batch in place
  const res = await withRetries(() => writeRows(job, rows), {
    onRetry: (err, attempt) =>
      log('warn', 'batch write retried', { job: { pk: job.pk, sk: job.sk }, attempt, error: describeError(err) }),
  });
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
  const { GetObjectCommand } = s3Sdk();
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
          .filter((it): it is PreparedRow => isPreparedRow(it))
          .map((it) => ({ index: it.index, line: it.line, raw: it.raw ?? it.command }));
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

/**
 * Record every index in [0, total) that no batch counted. Their lines (and what they held)
 * come from the staged file when there is one, so a row is reported on its real line.
 */
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
  const gaps: Array<[number, number]> = [];
  let next = 0;
  for (const [a, b] of ranges) {
    if (a > next) gaps.push([next, Math.min(a, total) - 1]);
    next = Math.max(next, b + 1);
    if (next >= total) break;
  }
  if (next < total) gaps.push([next, total - 1]);
  if (gaps.length === 0) return 0;

  // a merge of the (ordered) gap indices with the (ordered) staged rows: each index recorded once
  const staged = isRecord(job.staged) ? (job.staged as unknown as StagedRows) : undefined;
  const source = staged ? readStagedRows(staged.bucket, staged.key)[Symbol.asyncIterator]() : undefined;
  let current: PreparedRow | undefined;
  let exhausted = !source;
  const lookup = async (index: number): Promise<PreparedRow | undefined> => {
    while (!exhausted && (!current || current.index < index)) {
      try {
        const r = await source!.next();
        if (r.done) exhausted = true;
        else current = r.value;
      } catch (err) {
        log('warn', 'staged rows unreadable: unprocessed rows get no line', {
          job: jobKey(job),
          error: describeError(err),
        });
        exhausted = true;
      }
    }
    return current?.index === index ? current : undefined;
  };
  let missing = 0;
  let pending: Array<{ index: number; line?: number; raw?: unknown }> = [];
  const flush = async () => {
    if (pending.length === 0) return;
    await recordUnprocessed(job, pending, reason);
    missing += pending.length;
    pending = [];
  };
  try {
    for (const [from, to] of gaps) {
      for (let i = from; i <= to; i++) {
        const row = await lookup(i);
        pending.push(row ? { index: i, line: row.line, raw: row.raw ?? row.command } : { index: i });
        if (pending.length >= GAP_CHUNK) await flush();
      }
      await flush();
    }
  } finally {
    await source?.return?.(undefined); // close the staged object's stream
  }
  return missing;
}

const jobKey = (job: Key): Key => ({ pk: job.pk, sk: job.sk });

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
  options: {
    machineError?: string;
    manifest?: ManifestRef;
    readStopped?: ReadStopped;
    /** A DIRECT import given up on: what was counted is kept, the file's total stays unknown. */
    unfinished?: string;
  } = {},
): Promise<JobOutcome> {
  let job = await requireJob(key);
  if (isTerminal(job.status)) {
    // already ended (a retry, or a machine that ran on after its job was given up): an ended
    // result never changes — only a waiting parent is told again
    await deliverJobOutcome(job);
    return outcomeOf(job);
  }
  // From here on a child batch still running (the Map run ended, its EXPRESS children did
  // not) counts nothing: the rows it did not write in time are recorded below instead.
  await closeJob(key);
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
  // Rows never counted (csv_loader did not get to the end) or a file not read to its end: every
  // row that was read is accounted for, the file's total stays unknown (null), never 0.
  const counted = typeof job.totalRows === 'number' && !options.unfinished;
  const unknownTotal = stopped !== undefined || !counted;
  const total = stopped ? stopped.rowsRead : counted ? Number(job.totalRows) : Number(job.processedRows ?? 0);
  if (options.unfinished) problems.push(options.unfinished);
  if (stopped) {
    problems.push(
      `the file was not fully read: reading stopped after line ${stopped.line} (byte ${stopped.byte}) with ${stopped.rowsRead} data rows read; ` +
        `the rest of the file was neither counted nor imported, so its total row count is unknown (${stopped.error})`,
    );
  } else if (!counted && !options.unfinished) {
    problems.push('the rows of the file were never counted (the import ended before csv_loader finished reading it)');
  }
  const gapReason = options.machineError
    ? `not processed: the import failed (${options.machineError})`
    : stopped
      ? `not processed: reading the file stopped (${stopped.error})`
      : 'not processed: no batch reported this row';
  const unprocessed = await fillGaps(job, total, gapReason);

  job = await requireJob(key);
  let totalRows: number | null = unknownTotal ? null : Number(job.totalRows);
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
    totalRows: unknownTotal || ended.totalRows === null ? null : Number(ended.totalRows ?? totalRows),
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

/** Where a DIRECT run stands: the delivery of its `import-csv` message. */
export interface Delivery {
  /** This delivery's number (SQS ApproximateReceiveCount), from 1. */
  receiveCount: number;
  /** Deliveries before the message moves to the import-action DLQ (the queue's maxReceiveCount). */
  maxReceiveCount: number;
}

function outcomeOf(job: ImportJob): JobOutcome {
  return {
    pk: job.pk,
    sk: job.sk,
    status: job.status,
    totalRows: job.totalRows === null || job.totalRows === undefined ? null : Number(job.totalRows),
    processedRows: Number(job.processedRows ?? 0),
    succeededRows: Number(job.succeededRows ?? 0),
    failedRows: Number(job.failedRows ?? 0),
    ...(job.error ? { error: job.error } : {}),
  };
}

/**
 * DIRECT mode (small files, one Lambda): the same reader, row decisions and writes as the
 * import-csv machine, in chunks of DIRECT_CHUNK rows, streaming the object; then the same
 * reconciliation.
 *
 * What can go wrong, and what follows:
 * - a transient DynamoDB error (throttling, 5xx, network): the chunk is written again in place
 *   (writes are idempotent), with backoff;
 * - a write that still fails: the run stops *without* ending the job and the error is thrown,
 *   so SQS delivers the message again; the next run reads the file again and skips every chunk
 *   already counted (batch markers), resuming where the last one stopped;
 * - the Lambda dies (timeout, out of memory): the same redelivery after the visibility timeout;
 * - the last delivery the queue allows (`maxReceiveCount`): no further attempt that could die
 *   unseen — the job ends FAILED with what was imported so far and an alarm naming it;
 * - the object cannot be read to its end (a read error): the rows read are written and
 *   the job ends FAILED, "not fully read", its total unknown.
 */
export async function runDirectImport(
  key: Key,
  delivery: Delivery = { receiveCount: 1, maxReceiveCount: 1 },
): Promise<JobOutcome> {
  const job = await requireJob(key);
  if (isTerminal(job.status)) {
    await deliverJobOutcome(job);
    return outcomeOf(job);
  }
  if (delivery.receiveCount > 1 && delivery.receiveCount >= delivery.maxReceiveCount) {
    const last =
      typeof job.lastRunError === 'string'
        ? job.lastRunError
        : 'no error was recorded: the Lambda timed out or crashed';
    return reconcileAndComplete(key, {
      unfinished: `the DIRECT import did not finish in ${delivery.receiveCount - 1} deliveries of its message (last: ${last}); this last delivery ends it instead of trying again`,
    });
  }
  await markProcessing(job, {
    mode: ImportMode.DIRECT,
    ...(job.startedAt ? {} : { startedAt: new Date().toISOString() }),
    runs: delivery.receiveCount,
  });
  let chunk: PreparedRow[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const rows = chunk;
    chunk = [];
    await withRetries(() => writeRows(job, rows), {
      onRetry: (err, attempt) => log('warn', 'DIRECT chunk write retried', { key, attempt, error: describeError(err) }),
    });
  };
  let read: Awaited<ReturnType<typeof readRows>>;
  try {
    read = await readRows(job.bucket, job.key, resolveImportSchema(job.schema), {
      onHeader: async (header) => {
        if (header) await withRetries(() => updateJob(job, { header }));
      },
      onRow: async (row) => {
        chunk.push(row);
        if (chunk.length >= DIRECT_CHUNK) await flush();
      },
    });
  } catch (err) {
    if (!(err instanceof ReadError)) {
      // a write that failed past its retries: leave the job to the next delivery
      await recordRunError(job, err);
      throw err;
    }
    // The rest of the file was never read: the rows read so far are written and accounted
    // for, but presenting their number as the file's total would make succeeded + failed =
    // total look true.
    await flush();
    const readStopped = { rowsRead: err.at.rows, line: err.at.line, byte: err.at.byte, error: err.message };
    log('error', 'DIRECT import stopped before the end of the file', { key, ...readStopped });
    await withRetries(() =>
      updateJob(job, {
        totalRows: null,
        rowsRead: readStopped.rowsRead,
        unreadRemainder: true,
        readStoppedAt: { line: readStopped.line, byte: readStopped.byte },
      }),
    );
    return withRetries(() => reconcileAndComplete(key, { readStopped }));
  }
  try {
    await flush();
  } catch (err) {
    await recordRunError(job, err);
    throw err;
  }
  await withRetries(() => updateJob(job, { totalRows: read.rows }));
  const machineError =
    !read.header && !read.headerProblem
      ? `EmptyFile: s3://${job.bucket}/${job.key} is empty (no header row)`
      : read.headerProblem
        ? `InvalidHeader: ${read.headerProblem}`
        : undefined;
  return withRetries(() => reconcileAndComplete(key, { machineError }));
}

/** The queue will not deliver this message again: no new attempt may be left to die unseen. */
export function isLastDelivery(delivery: Delivery | undefined): boolean {
  return delivery !== undefined && delivery.receiveCount > 1 && delivery.receiveCount >= delivery.maxReceiveCount;
}

/**
 * Run what ends a job on the message's last delivery; if even that fails, the message goes to
 * the import-action DLQ — raise an alarm naming the job first, so it is not left unseen.
 */
export async function endOnLastDelivery<T>(key: Key, end: () => Promise<T>): Promise<T> {
  try {
    return await end();
  } catch (err) {
    await publishAlarm({
      kind: 'import-stuck',
      table: 'import_tmp',
      pk: key.pk,
      sk: key.sk,
      error: `the import job could not be ended on the last delivery of its message, which now goes to the import-action DLQ: ${describeError(err, 1500)}`,
    });
    throw err;
  }
}

/** What made this run stop, for the delivery that ends the job if no run finishes. */
async function recordRunError(job: Key, err: unknown): Promise<void> {
  try {
    await updateJob(job, { lastRunError: describeError(err, 1000), lastRunErrorAt: new Date().toISOString() });
  } catch (e) {
    log('error', 'could not record the run error', { job: jobKey(job), error: describeError(e) });
  }
}
