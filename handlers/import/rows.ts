import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { approxItemBytes, batchGetAll, batchPutAll, keyId, mapLimit, type Item } from '../../core/dynamo';
import { optionalEnv, tables } from '../shared/env';
import { isConditionalCheckFailed, truncate } from '../../core/errors';
import { rowIndexSk, sha256Hex } from '../../core/keys';
import { commandKeyProblems } from '../../core/limits';
import { offloadIfLarge } from '../../core/offload';
import { ImportRowType } from '../../core/status';
import {
  acceptsBatches,
  claimsPk,
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
import { dedupeKey, describeKey, resolveImportSchema, type CommandDraft, type ImportSchema } from './schema';

/** One row to import: from the Distributed Map (`row` object) or from DIRECT parsing (`fields`). */
export interface RowInput {
  /** 0-based record index (after the header): the row's identity within the job. */
  index: number;
  /** File line number, when known (DIRECT); otherwise index + 2 is reported. */
  line?: number;
  row?: Record<string, unknown>;
  fields?: string[];
}

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
    await ddb().send(
      new PutCommand({ TableName: tables.importTmp(), Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return undefined;
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const res = await ddb().send(
      new GetCommand({
        TableName: tables.importTmp(),
        Key: { pk: item.pk, sk: item.sk },
        ConsistentRead: true,
        ProjectionExpression: '#t',
        ExpressionAttributeNames: { '#t': 'type' },
      }),
    );
    return String(res.Item?.type ?? '');
  }
}

/** Larger command attributes are offloaded to S3 (payloads/) to keep items under 400 KB. */
const MAX_ROW_ITEM_BYTES = 300 * 1024;

function lineOf(item: RowInput): number {
  return item.line ?? item.index + 2;
}

function cellsOf(
  item: RowInput,
  header: readonly string[] | undefined,
): { row?: Record<string, string>; error?: string; header: readonly string[] } {
  if (item.fields) {
    const h = header ?? [];
    if (item.fields.length !== h.length) {
      return { header: h, error: `wrong column count: expected ${h.length}, got ${item.fields.length}` };
    }
    return { header: h, row: Object.fromEntries(h.map((name, i) => [name, item.fields![i] ?? ''])) };
  }
  const raw = item.row ?? {};
  const keys = Object.keys(raw);
  const h = header ?? keys;
  const missing = h.filter((name) => !(name in raw) || raw[name] === undefined || raw[name] === null);
  const extra = keys.filter((k) => !h.includes(k));
  if (missing.length > 0 || extra.length > 0) {
    const got = h.length - missing.length + extra.length;
    return {
      header: h,
      error: `wrong column count: expected ${h.length}, got ${got}${missing.length ? ` (missing ${missing.map((m) => `"${m}"`).join(', ')})` : ''}${extra.length ? ` (unexpected ${extra.map((m) => `"${m}"`).join(', ')})` : ''}`,
    };
  }
  return { header: h, row: Object.fromEntries(h.map((name) => [name, String(raw[name])])) };
}

/**
 * Claim a target key for this job: the first row to claim it wins, later rows are duplicates.
 * The claim stores the winner's index so a retried batch recognises its own claims.
 */
async function claimKey(
  job: ImportJob,
  draft: CommandDraft,
  item: RowInput,
): Promise<{ ok: true } | { ok: false; firstLine: number }> {
  const key = dedupeKey(draft);
  const claim = { pk: claimsPk(job), sk: sha256Hex(key) };
  try {
    await ddb().send(
      new PutCommand({
        TableName: tables.importTmp(),
        Item: {
          ...claim,
          type: ImportRowType.IMPORT_KEY,
          jobPk: job.pk,
          jobSk: job.sk,
          index: item.index,
          line: lineOf(item),
          target: truncate(key, 1000),
          ttl: helperTtl(job),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #index = :index',
        ExpressionAttributeNames: { '#index': 'index' },
        ExpressionAttributeValues: { ':index': item.index },
      }),
    );
    return { ok: true };
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const res = await ddb().send(new GetCommand({ TableName: tables.importTmp(), Key: claim, ConsistentRead: true }));
    return { ok: false, firstLine: Number(res.Item?.line ?? -1) };
  }
}

/**
 * Transform and validate rows, write the valid ones (IMPORT_ROW, whose stream INSERT becomes
 * a command) and one IMPORT_ERROR per invalid row (line number + reason) with BatchWriteItem
 * (25 per call, UnprocessedItems retried with backoff), then count the batch exactly once.
 * Used by csv_rows_handler (one Distributed Map batch) and by DIRECT imports (chunks).
 */
export async function processRows(
  job: ImportJob,
  items: readonly RowInput[],
  options: { schema?: ImportSchema; header?: readonly string[] } = {},
): Promise<RowsResult> {
  if (items.length === 0)
    return { firstIndex: -1, lastIndex: -1, processed: 0, succeeded: 0, failed: 0, counted: false };
  const schema = options.schema ?? resolveImportSchema(job.schema);
  const header = options.header ?? job.header;
  const sorted = [...items].sort((a, b) => a.index - b.index);
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

  const errors = new Map<number, string>();
  const drafts = new Map<number, CommandDraft>();
  const seenInBatch = new Map<string, RowInput>();
  for (const item of sorted) {
    const cells = cellsOf(item, header);
    if (!cells.row) {
      errors.set(item.index, cells.error ?? 'unreadable row');
      continue;
    }
    const result = schema.toCommand(cells.row, cells.header);
    if (!result.command) {
      errors.set(item.index, result.errors.join('; ') || 'invalid row');
      continue;
    }
    // Whatever the schema (custom ones included): a key DynamoDB would refuse is this row's failure,
    // not a command that dies in the stream router after the row was counted as imported.
    const keyProblems = commandKeyProblems(result.command.pk, result.command.code, result.command.version);
    if (keyProblems.length > 0) {
      errors.set(item.index, `key too long: ${keyProblems.join('; ')}`);
      continue;
    }
    const dk = dedupeKey(result.command);
    const first = seenInBatch.get(dk);
    if (first) {
      errors.set(item.index, `duplicate key (${describeKey(result.command)}) already on line ${lineOf(first)}`);
      continue;
    }
    seenInBatch.set(dk, item);
    drafts.set(item.index, result.command);
  }

  // duplicates across batches of the same file: claim each key (first claim wins)
  const byIndex = new Map(sorted.map((i) => [i.index, i]));
  const claims = await mapLimit(Array.from(drafts.entries()), 10, async ([index, draft]) => ({
    index,
    draft,
    claim: await claimKey(job, draft, byIndex.get(index)!),
  }));
  for (const { index, draft, claim } of claims) {
    if (!claim.ok) {
      drafts.delete(index);
      errors.set(index, `duplicate key (${describeKey(draft)}) already on line ${claim.firstLine}`);
    }
  }

  const ttl = helperTtl(job);
  const bucket = optionalEnv('IMPORT_BUCKET');
  const rowItems: Item[] = [];
  const errorItems: Item[] = [];
  for (const item of sorted) {
    const draft = drafts.get(item.index);
    const base = { jobPk: job.pk, jobSk: job.sk, index: item.index, line: lineOf(item) };
    if (draft) {
      let command: Record<string, unknown> = {
        pk: draft.pk,
        code: draft.code,
        ...(draft.version !== undefined ? { version: draft.version } : {}),
        attributes: draft.attributes,
      };
      const rowItem = {
        pk: rowsPk(job),
        sk: rowIndexSk(item.index),
        type: ImportRowType.IMPORT_ROW,
        ...base,
        command,
        ttl,
      };
      if (approxItemBytes(rowItem) > MAX_ROW_ITEM_BYTES) {
        const off = await offloadIfLarge(
          s3(),
          bucket,
          draft.attributes,
          ['imports', job.pk, job.sk, rowIndexSk(item.index)],
          0,
        );
        command = { ...command, attributes: undefined, attributesRef: off.ref };
      }
      rowItems.push({ ...rowItem, command });
    } else {
      const cells = item.fields ?? item.row ?? {};
      errorItems.push({
        pk: errorsPk(job),
        sk: rowIndexSk(item.index),
        type: ImportRowType.IMPORT_ERROR,
        ...base,
        reason: truncate(errors.get(item.index) ?? 'invalid row', 4000),
        raw: truncate(JSON.stringify(cells), 2000),
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
    succeeded: drafts.size,
    failed: sorted.length - drafts.size,
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
