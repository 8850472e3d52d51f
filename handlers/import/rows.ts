import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { approxItemBytes, batchGetAll, batchPutAll, keyId, mapLimit, withRetries, type Item } from '../../core/dynamo';
import type { PreparedRow } from './prepare';
import { optionalEnv, tables } from '../shared/env';
import { isConditionalCheckFailed, truncate } from '../../core/errors';
import { rowIndexSk } from '../../core/keys';
import { offloadIfLarge } from '../../core/offload';
import { ImportRowType } from '../../core/status';
import {
  acceptsBatches,
  commitBatch,
  committedBatch,
  errorsPk,
  getJob,
  helperTtl,
  IMPORT_ROW_VOID,
  rowsPk,
  type BatchCounts,
  type ImportJob,
} from './model';

export interface RowsResult extends BatchCounts {
  /** false if this batch had already been counted (a retry) or came too late. */
  counted: boolean;
  /**
   * The job had ended or its finalizer had started when this batch ran: it counted nothing
   * and wrote no further rows; the finalizer records those rows (IMPORT_ERROR "not
   * processed", counted failed) or, for IMPORT_ROWs this batch wrote before it, counts them
   * as succeeded.
   */
  late?: boolean;
}

/** IMPORT_ROW puts in flight per batch (one conditional PutItem each). */
const ROW_WRITE_CONCURRENCY = 10;
/** Conditional puts in flight while the finalizer fences unprocessed rows. */
const VOID_WRITE_CONCURRENCY = 25;

/**
 * Put an item at an IMPORT_ROW key unless the key is taken; returns the `type` of the item
 * already there (undefined when written). BatchWriteItem has no conditions, so these are
 * single PutItems: the IMPORT_ROW of a batch and the finalizer's IMPORT_ROW_VOID for the same
 * row exclude each other, whichever comes first wins.
 */
async function putIfAbsent(item: Item): Promise<string | undefined> {
  try {
    await withRetries(() =>
      ddb().send(
        new PutCommand({ TableName: tables.importTmp(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      ),
    );
    return undefined;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const res = await withRetries(() =>
      ddb().send(
        new GetCommand({
          TableName: tables.importTmp(),
          Key: { pk: item.pk, sk: item.sk },
          ConsistentRead: true,
          ProjectionExpression: '#t',
          ExpressionAttributeNames: { '#t': 'type' },
        }),
      ),
    );
    return String(res.Item?.type ?? '');
  }
}

/** Larger command attributes are offloaded to S3 (payloads/) to keep items under 400 KB. */
const MAX_ROW_ITEM_BYTES = 300 * 1024;

/**
 * Write a batch of prepared rows — valid ones as IMPORT_ROW (whose stream INSERT becomes a
 * command), failed ones as IMPORT_ERROR (line + reason, BatchWriteItem, 25 per call,
 * UnprocessedItems retried with backoff) — then count the batch exactly once. Every decision
 * (validation, duplicates: the first line wins) was made when the rows were prepared, in file
 * order, so batches may run in any order and any number of times. Used by csv_rows_handler
 * (one Distributed Map batch) and by DIRECT imports (chunks).
 */
export async function writeRows(job: ImportJob, rows: readonly PreparedRow[]): Promise<RowsResult> {
  if (rows.length === 0)
    return { firstIndex: -1, lastIndex: -1, processed: 0, succeeded: 0, failed: 0, counted: false };
  const sorted = [...rows].sort((a, b) => a.index - b.index);
  const previous = await committedBatch(job, sorted[0].index);
  if (previous) return { ...previous, counted: false }; // a retry of a batch already written and counted
  const late: RowsResult = {
    firstIndex: sorted[0].index,
    lastIndex: sorted[sorted.length - 1].index,
    processed: 0,
    succeeded: 0,
    failed: 0,
    counted: false,
    late: true,
  };
  // fresh state, not the one read when the batch started: a finalizer may have taken over since
  const current = await getJob(job);
  if (!current || !acceptsBatches(current)) return late;

  const ttl = helperTtl(job);
  const bucket = optionalEnv('IMPORT_BUCKET');
  const rowItems: Item[] = [];
  const errorItems: Item[] = [];
  for (const row of sorted) {
    const base = { jobPk: job.pk, jobSk: job.sk, index: row.index, line: row.line };
    const draft = row.command;
    if (draft) {
      let command: Record<string, unknown> = {
        pk: draft.pk,
        code: draft.code,
        ...(draft.version !== undefined ? { version: draft.version } : {}),
        attributes: draft.attributes,
      };
      const rowItem = {
        pk: rowsPk(job),
        sk: rowIndexSk(row.index),
        type: ImportRowType.IMPORT_ROW,
        ...base,
        command,
        ttl,
      };
      if (approxItemBytes(rowItem) > MAX_ROW_ITEM_BYTES) {
        const off = await offloadIfLarge(
          s3,
          bucket,
          draft.attributes,
          ['imports', job.pk, job.sk, rowIndexSk(row.index)],
          0,
        );
        command = { ...command, attributes: undefined, attributesRef: off.ref };
      }
      rowItems.push({ ...rowItem, command });
    } else {
      errorItems.push({
        pk: errorsPk(job),
        sk: rowIndexSk(row.index),
        type: ImportRowType.IMPORT_ERROR,
        ...base,
        reason: truncate(row.error ?? 'invalid row', 4000),
        ...(row.raw !== undefined ? { raw: truncate(row.raw, 2000) } : {}),
        ttl,
      });
    }
  }
  // IMPORT_ROWs one conditional put each (BatchWriteItem has no conditions): a row the
  // finalizer already voided is not written, and the batch stops writing at the first one.
  // An IMPORT_ROW already there is this batch's own earlier attempt: left as it is
  // (rewriting it would drop the `publishedAt` the stream router set).
  let voided = false;
  await mapLimit(rowItems, ROW_WRITE_CONCURRENCY, async (item) => {
    if (voided) return;
    const existing = await putIfAbsent(item);
    if (existing !== undefined && existing !== ImportRowType.IMPORT_ROW) voided = true;
  });
  if (voided) return late;
  await batchPutAll(ddb(), tables.importTmp(), errorItems);

  const counts: BatchCounts = {
    firstIndex: sorted[0].index,
    lastIndex: sorted[sorted.length - 1].index,
    processed: sorted.length,
    succeeded: rowItems.length,
    failed: errorItems.length,
  };
  const outcome = await commitBatch(job, counts);
  if (outcome === 'closed') return late;
  return { ...counts, counted: outcome === 'counted' };
}

/**
 * Record rows that were never counted (a failed Distributed Map batch, or a gap left by an
 * aborted run) and count them — once (same batch marker as a normal batch). A row whose
 * IMPORT_ROW was already written (the batch died after writing, before counting) is counted
 * as succeeded: its command is on its way. A row whose IMPORT_ERROR was already written
 * keeps its reason. Every other row gets an IMPORT_ERROR with `reason`.
 */
export async function recordUnprocessed(
  job: ImportJob,
  rows: ReadonlyArray<{ index: number; line?: number; raw?: unknown }>,
  reason: string,
): Promise<boolean> {
  if (rows.length === 0) return false;
  const sorted = [...rows].sort((a, b) => a.index - b.index);
  const rowKey = (index: number) => ({ pk: rowsPk(job), sk: rowIndexSk(index) });
  const written = await batchGetAll(
    ddb(),
    tables.importTmp(),
    sorted.map((r) => rowKey(r.index)),
    { consistentRead: true, projection: ['type'] },
  );
  const errored = await batchGetAll(
    ddb(),
    tables.importTmp(),
    sorted.map((r) => ({ pk: errorsPk(job), sk: rowIndexSk(r.index) })),
    { consistentRead: true, projection: ['index'] },
  );
  const isRow = (index: number): boolean => written.get(keyId(rowKey(index)))?.type === ImportRowType.IMPORT_ROW;
  // Void every row not written yet: a batch still running cannot write it after this (its
  // conditional put fails), so a row is either an IMPORT_ROW counted here as succeeded or a
  // failure — never a command published for a row recorded as not processed. A void that
  // loses to an IMPORT_ROW written meanwhile means the batch was first: succeeded.
  const ttl = helperTtl(job);
  const wonByBatch = new Set<number>();
  await mapLimit(
    sorted.filter((r) => !written.has(keyId(rowKey(r.index)))),
    VOID_WRITE_CONCURRENCY,
    async (r) => {
      const existing = await putIfAbsent({
        ...rowKey(r.index),
        type: IMPORT_ROW_VOID,
        jobPk: job.pk,
        jobSk: job.sk,
        index: r.index,
        ttl,
      });
      if (existing === ImportRowType.IMPORT_ROW) wonByBatch.add(r.index);
    },
  );
  let succeeded = 0;
  const puts: Item[] = [];
  for (const r of sorted) {
    if (isRow(r.index) || wonByBatch.has(r.index)) {
      succeeded++;
      continue;
    }
    if (errored.has(keyId({ pk: errorsPk(job), sk: rowIndexSk(r.index) }))) continue;
    puts.push({
      pk: errorsPk(job),
      sk: rowIndexSk(r.index),
      type: ImportRowType.IMPORT_ERROR,
      jobPk: job.pk,
      jobSk: job.sk,
      index: r.index,
      line: r.line ?? r.index + 2,
      reason: truncate(reason, 4000),
      ...(r.raw !== undefined ? { raw: truncate(JSON.stringify(r.raw), 2000) } : {}),
      ttl,
    });
  }
  await batchPutAll(ddb(), tables.importTmp(), puts);
  const outcome = await commitBatch(
    job,
    {
      firstIndex: sorted[0].index,
      lastIndex: sorted[sorted.length - 1].index,
      processed: sorted.length,
      succeeded,
      failed: sorted.length - succeeded,
    },
    { finalizer: true },
  );
  return outcome === 'counted';
}
