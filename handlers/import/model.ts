import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { withRetries } from '../../core/dynamo';
import { sfn } from '../shared/aws/sfn';
import { integerEnv, tables } from '../shared/env';
import { DEFAULT_IMPORT_RECORD_RETENTION_DAYS } from '../../core/limits';
import { isConditionalCheckFailed, isTransactionConditionFailure, NamedError } from '../../core/errors';
import { rowIndexSk } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm, publishStatusEventSafe } from '../shared/notify';
import { sendTaskFailure, sendTaskSuccess } from '../../core/sfn';
import { Action, ImportRowType, ImportStatus, isTerminal, type ImportMode } from '../../core/status';
import type { Key } from '../../core/types';

/** Import job row in `import_tmp` (`type = CSV_JOB | ZIP_JOB`). */
export interface ImportJob {
  pk: string;
  sk: string;
  type: typeof ImportRowType.CSV_JOB | typeof ImportRowType.ZIP_JOB;
  jobId: string;
  bucket: string;
  key: string;
  mode?: ImportMode;
  status: ImportStatus;
  schema?: string;
  header?: string[];
  /** null: unknown (a DIRECT read stopped part-way, `unreadRemainder`). */
  totalRows?: number | null;
  processedRows?: number;
  succeededRows?: number;
  failedRows?: number;
  /** ZIP child jobs: the parent ZIP job. */
  parentPk?: string;
  parentSk?: string;
  /** ZIP child jobs: token of the parent's trigger_single_csv_and_wait. */
  taskToken?: string;
  createdAt?: string;
  summary?: Record<string, unknown>;
  error?: string;
  /** Set by the finalizer before it reconciles: from then on no batch may count rows. */
  closingAt?: string;
  [key: string]: unknown;
}

/** Per-row items live in their own partitions, keyed by the job: `<PREFIX>#<jobPk>#<jobSk>`. */
export function jobRef(job: Key): string {
  return `${job.pk}#${job.sk}`;
}
export const rowsPk = (job: Key): string => `${ImportRowType.IMPORT_ROW}#${jobRef(job)}`;
export const errorsPk = (job: Key): string => `${ImportRowType.IMPORT_ERROR}#${jobRef(job)}`;
export const batchesPk = (job: Key): string => `${ImportRowType.IMPORT_BATCH}#${jobRef(job)}`;

/**
 * `type` of the item the finalizer puts at an IMPORT_ROW key (`rowsPk`) of a row it records
 * as not processed: a late batch's conditional IMPORT_ROW put then fails instead of
 * publishing a command for a row already counted as failed. The stream only routes
 * `type = IMPORT_ROW` INSERTs, so this item never becomes a command.
 */
export const IMPORT_ROW_VOID = 'IMPORT_ROW_VOID';

/**
 * Per-row items (IMPORT_ROW, IMPORT_ROW_VOID, IMPORT_ERROR, IMPORT_BATCH) expire
 * IMPORT_RECORD_TTL_SECONDS (the stack's `importRecordRetentionDays`) after the job was created;
 * the job row keeps the counters and the summary.
 */
export function helperTtl(job: ImportJob): number {
  const created = Date.parse(String(job.createdAt ?? '')) || 0;
  const seconds = integerEnv('IMPORT_RECORD_TTL_SECONDS', 3600, DEFAULT_IMPORT_RECORD_RETENTION_DAYS * 86400);
  return Math.floor((created || Date.now()) / 1000) + seconds;
}

export async function getJob(key: Key): Promise<ImportJob | undefined> {
  const res = await withRetries(() =>
    ddb().send(
      new GetCommand({ TableName: tables.importTmp(), Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    ),
  );
  return res.Item as ImportJob | undefined;
}

export async function requireJob(key: Key): Promise<ImportJob> {
  const job = await getJob(key);
  if (!job) throw new Error(`import job ${key.pk} / ${key.sk} not found in ${tables.importTmp()}`);
  if (job.type !== ImportRowType.CSV_JOB && job.type !== ImportRowType.ZIP_JOB)
    throw new Error(`${key.pk} / ${key.sk} is not an import job`);
  return job;
}

export async function updateJob(
  key: Key,
  fields: Record<string, unknown>,
  condition?: { expression: string; names?: Record<string, string>; values?: Record<string, unknown> },
): Promise<ImportJob> {
  const names: Record<string, string> = { ...(condition?.names ?? {}) };
  const values: Record<string, unknown> = { ...(condition?.values ?? {}) };
  const sets: string[] = [];
  Object.entries(fields).forEach(([k, v], i) => {
    names[`#f${i}`] = k;
    values[`:f${i}`] = v;
    sets.push(`#f${i} = :f${i}`);
  });
  const res = await withRetries(() =>
    ddb().send(
      new UpdateCommand({
        TableName: tables.importTmp(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: condition ? `attribute_exists(pk) AND (${condition.expression})` : 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    ),
  );
  return res.Attributes as ImportJob;
}

/** The job has already ended: a step that would start or resume work on it must not (an ended result never changes). */
export class JobEndedError extends NamedError {
  constructor(key: Key) {
    super('JobEnded', `import job ${key.pk} / ${key.sk} has already ended`);
  }
}

/** Move a job to PROCESSING (with `fields`) unless it has ended. */
export async function markProcessing(key: Key, fields: Record<string, unknown>): Promise<ImportJob> {
  try {
    return await updateJob(
      key,
      { status: ImportStatus.PROCESSING, ...fields },
      {
        expression: 'NOT #st IN (:c, :f)',
        names: { '#st': 'status' },
        values: { ':c': ImportStatus.COMPLETED, ':f': ImportStatus.FAILED },
      },
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw new JobEndedError(key);
    throw err;
  }
}

export interface BatchCounts {
  firstIndex: number;
  lastIndex: number;
  processed: number;
  succeeded: number;
  failed: number;
}

/** A job still takes batches: not ended, and its finalizer has not started reconciling. */
export function acceptsBatches(job: Pick<ImportJob, 'status' | 'closingAt'>): boolean {
  return !job.closingAt && !isTerminal(job.status);
}

/**
 * Close a job to batches before reconciling it (finalize_parent_job, execution-watch, the end
 * of a DIRECT run): a child batch still running after the Map run ended may not count rows the
 * finalizer is about to record as not processed. Idempotent (the first time is kept).
 */
export async function closeJob(key: Key): Promise<void> {
  await withRetries(() =>
    ddb().send(
      new UpdateCommand({
        TableName: tables.importTmp(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'SET closingAt = if_not_exists(closingAt, :now)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':now': new Date().toISOString() },
      }),
    ),
  );
}

/** `counted`; `duplicate`: this batch had been counted before; `closed`: the job no longer takes batches. */
export type CommitOutcome = 'counted' | 'duplicate' | 'closed';

/**
 * Count a batch exactly once: a marker item keyed by the batch's first record index and the
 * job's atomic counters move in one transaction. A retried batch (Lambda retry, redelivery,
 * finalize retry) finds its marker and is not counted again. The counter update requires
 * the job not to have ended (and, for a child batch, not to be closing): a batch still running
 * after the finalizer took over counts nothing, since the finalizer records its rows itself.
 * `finalizer: true` is the finalizer's own recording of unprocessed rows.
 */
export async function commitBatch(
  job: ImportJob,
  counts: BatchCounts,
  options: { finalizer?: boolean } = {},
): Promise<CommitOutcome> {
  try {
    await withRetries(() =>
      ddb().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: tables.importTmp(),
                Item: {
                  pk: batchesPk(job),
                  sk: rowIndexSk(counts.firstIndex),
                  type: ImportRowType.IMPORT_BATCH,
                  jobPk: job.pk,
                  jobSk: job.sk,
                  ...counts,
                  committedAt: new Date().toISOString(),
                  ttl: helperTtl(job),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: tables.importTmp(),
                Key: { pk: job.pk, sk: job.sk },
                UpdateExpression: 'ADD processedRows :p, succeededRows :s, failedRows :f SET updatedAt = :now',
                ConditionExpression: `attribute_exists(pk) AND NOT #st IN (:completed, :failed)${options.finalizer ? '' : ' AND attribute_not_exists(closingAt)'}`,
                ExpressionAttributeNames: { '#st': 'status' },
                ExpressionAttributeValues: {
                  ':p': counts.processed,
                  ':s': counts.succeeded,
                  ':f': counts.failed,
                  ':now': new Date().toISOString(),
                  ':completed': ImportStatus.COMPLETED,
                  ':failed': ImportStatus.FAILED,
                },
              },
            },
          ],
        }),
      ),
    );
    return 'counted';
  } catch (err) {
    if (isTransactionConditionFailure(err, 0)) return 'duplicate';
    if (isTransactionConditionFailure(err, 1)) return 'closed';
    throw err;
  }
}

/** The counts of a batch already committed (its marker), if any. */
export async function committedBatch(job: Key, firstIndex: number): Promise<BatchCounts | undefined> {
  const res = await withRetries(() =>
    ddb().send(
      new GetCommand({
        TableName: tables.importTmp(),
        Key: { pk: batchesPk(job), sk: rowIndexSk(firstIndex) },
        ConsistentRead: true,
      }),
    ),
  );
  if (!res.Item) return undefined;
  const i = res.Item;
  return {
    firstIndex: Number(i.firstIndex),
    lastIndex: Number(i.lastIndex),
    processed: Number(i.processed),
    succeeded: Number(i.succeeded),
    failed: Number(i.failed),
  };
}

export async function batchCommitted(job: Key, firstIndex: number): Promise<boolean> {
  return (await committedBatch(job, firstIndex)) !== undefined;
}

function outcomeBody(job: ImportJob): Record<string, unknown> {
  return {
    pk: job.pk,
    sk: job.sk,
    status: job.status,
    totalRows: job.totalRows === null ? null : (job.totalRows ?? 0),
    processedRows: job.processedRows ?? 0,
    succeededRows: job.succeededRows ?? 0,
    failedRows: job.failedRows ?? 0,
    ...(job.unreadRemainder ? { unreadRemainder: true } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

/**
 * If a parent (ZIP) execution waits on this job (taskToken) and the job has ended, send its
 * outcome: SendTaskSuccess when COMPLETED, SendTaskFailure when FAILED. The token is moved to
 * `outcomeToken` with a condition first, so the job's end and a re-triggering parent do not both
 * send; and because the token is kept until the send is known to have happened
 * (`outcomeDeliveredAt`), a send lost to a crash or a lost response is made again by the next
 * call (a second send of a delivered token only answers stale).
 */
export async function deliverJobOutcome(job: ImportJob): Promise<'sent' | 'stale' | 'none'> {
  if (!isTerminal(job.status)) return 'none';
  let token = job.taskToken;
  if (token) {
    try {
      await withRetries(() =>
        ddb().send(
          new UpdateCommand({
            TableName: tables.importTmp(),
            Key: { pk: job.pk, sk: job.sk },
            UpdateExpression: 'REMOVE taskToken, outcomeDeliveredAt SET outcomeToken = :t, outcomeSentAt = :now',
            ConditionExpression: 'taskToken = :t',
            ExpressionAttributeValues: { ':t': token, ':now': new Date().toISOString() },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const now = await getJob(job);
      // our own claim whose response was lost: still ours to send
      if (now?.outcomeToken !== token || now.outcomeDeliveredAt) return 'none';
    }
  } else if (typeof job.outcomeToken === 'string' && !job.outcomeDeliveredAt) {
    token = job.outcomeToken; // claimed earlier, never known to have been sent
  } else return 'none';
  const body = outcomeBody(job);
  const result =
    job.status === ImportStatus.COMPLETED
      ? await sendTaskSuccess(sfn(), token, body)
      : await sendTaskFailure(sfn(), token, 'ImportJobFailed', JSON.stringify(body));
  await withRetries(() =>
    ddb().send(
      new UpdateCommand({
        TableName: tables.importTmp(),
        Key: { pk: job.pk, sk: job.sk },
        UpdateExpression: 'SET outcomeDeliveredAt = :now',
        ConditionExpression: 'outcomeToken = :t',
        ExpressionAttributeValues: { ':t': token, ':now': new Date().toISOString() },
      }),
    ),
  ).catch((err: unknown) => {
    if (!isConditionalCheckFailed(err)) throw err;
  });
  return result;
}

/**
 * End a job: status + summary (the first terminal status wins if called twice), the waiting
 * parent resumed (success or failure), a status event, and an alarm when FAILED.
 */
export async function completeJob(
  key: Key,
  status: typeof ImportStatus.COMPLETED | typeof ImportStatus.FAILED,
  summary: Record<string, unknown>,
  error?: string,
): Promise<ImportJob> {
  let job: ImportJob;
  try {
    job = await updateJob(
      key,
      { status, summary, finishedAt: new Date().toISOString(), ...(error ? { error } : {}) },
      {
        expression: 'NOT #st IN (:c, :f)',
        names: { '#st': 'status' },
        values: { ':c': ImportStatus.COMPLETED, ':f': ImportStatus.FAILED },
      },
    );
    metrics.importJobEnded(job);
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    job = await requireJob(key); // already ended (a retry): keep its outcome, still deliver it
  }
  const delivered = await deliverJobOutcome(job);
  if (delivered === 'stale') log('warn', 'parent no longer waits for this import job (token timed out)', { key });
  await publishStatusEventSafe(Action.IMPORT_STATUS, {
    table: 'import_tmp',
    type: job.type,
    ...outcomeBody(job),
    summary: job.summary,
  });
  if (job.status === ImportStatus.FAILED) {
    await publishAlarm({
      kind: 'import-failed',
      table: 'import_tmp',
      pk: job.pk,
      sk: job.sk,
      error: job.error ?? `import ended FAILED: ${JSON.stringify(outcomeBody(job))}`,
    });
  }
  return job;
}
