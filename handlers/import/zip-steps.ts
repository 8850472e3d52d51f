import { BUCKET_PREFIXES } from '../../core/bucket-layout';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { sns } from '../shared/aws/sns';
import { queryAll } from '../../core/dynamo';
import { integerEnv, requireEnv, tables } from '../shared/env';
import { asText, isConditionalCheckFailed, truncate } from '../../core/errors';
import { jobObjectPrefix, sha256Hex } from '../../core/keys';
import { DEFAULT_ZIP_BOUNDS, type ZipBounds } from '../../core/limits';
import { publishAction } from '../../core/publish-action';
import { Action, importModeForSize, ImportMode, ImportRowType, ImportStatus, isTerminal } from '../../core/status';
import { isRecord, requireKey, type CaughtError, type Key } from '../../core/types';
import { objectSize } from './objects';
import type { JobOutcome } from './csv-steps';
import { completeJob, deliverJobOutcome, markProcessing, requireJob, updateJob, type ImportJob } from './model';
import { unzipCsvEntries } from './zip';

export interface ZipMachineInput {
  pk: string;
  sk: string;
  bucket?: string;
  key?: string;
  csvKeys?: string[];
  error?: CaughtError;
  [k: string]: unknown;
}

/** Where unzipped CSV entries go in IMPORT_BUCKET. */
export const UNZIPPED_PREFIX = BUCKET_PREFIXES.unzipped;
/** The largest list of unzipped keys kept on the job row. */
const MAX_KEYS_ON_ROW_BYTES = 64 * 1024;
/** Skipped archive entries listed on the job row (the count is always exact). */
const MAX_SKIPPED_RECORDED = 100;

export function jobIdOf(job: Pick<ImportJob, 'jobId' | 'sk'>): string {
  if (job.jobId) return job.jobId;
  const hash = job.sk.indexOf('#');
  return hash >= 0 ? job.sk.slice(hash + 1) : job.sk;
}

export function childJobKey(zip: Pick<ImportJob, 'pk' | 'sk' | 'jobId'>, csvKey: string): Key & { jobId: string } {
  const jobId = `${jobIdOf(zip)}-${sha256Hex(csvKey).slice(0, 12)}`;
  return { pk: zip.pk, sk: `${ImportRowType.CSV_JOB}#${jobId}`, jobId };
}

// ---------------------------------------------------------------- unzip

/** The stack's ZIP bounds (ZIP_MAX_*), each defaulting to DEFAULT_ZIP_BOUNDS. */
export function zipBounds(): ZipBounds {
  return {
    maxEntries: integerEnv('ZIP_MAX_ENTRIES', 1, DEFAULT_ZIP_BOUNDS.maxEntries),
    maxFiles: integerEnv('ZIP_MAX_FILES', 1, DEFAULT_ZIP_BOUNDS.maxFiles),
    maxUncompressedBytes: integerEnv('ZIP_MAX_UNCOMPRESSED_BYTES', 1, DEFAULT_ZIP_BOUNDS.maxUncompressedBytes),
    maxCompressionRatio: integerEnv('ZIP_MAX_COMPRESSION_RATIO', 1, DEFAULT_ZIP_BOUNDS.maxCompressionRatio),
  };
}

export async function unzip(input: ZipMachineInput): Promise<ZipMachineInput & { csvKeys: string[] }> {
  const zip = await requireJob(requireKey(input, 'unzip input'));
  const destBucket = requireEnv('IMPORT_BUCKET');
  await markProcessing(zip, { mode: ImportMode.STEP_FUNCTION, startedAt: new Date().toISOString() });
  const { entries, skipped } = await unzipCsvEntries(
    input.bucket ?? zip.bucket,
    input.key ?? zip.key,
    destBucket,
    // the job's whole identity: two tenants' jobs with the same jobId never share a location
    jobObjectPrefix(UNZIPPED_PREFIX, zip),
    zipBounds(),
  );
  const csvKeys = entries.map((e) => e.key);
  // skipped entries are recorded on the job; finalize_zip_job reports them and fails the job
  // the list travels in the state; the job row keeps a copy (finalize_zip_job's fallback) only
  // while it is small, so the row, its summary and skipped entries stay far below 400 KB
  await updateJob(zip, {
    files: csvKeys.length,
    ...(Buffer.byteLength(JSON.stringify(csvKeys), 'utf8') <= MAX_KEYS_ON_ROW_BYTES ? { csvKeys } : {}),
    ...(skipped.length
      ? {
          skippedEntryCount: skipped.length,
          skippedEntries: skipped
            .slice(0, MAX_SKIPPED_RECORDED)
            .map((e) => ({ entry: truncate(e.entry, 500), reason: truncate(e.reason, 600) })),
        }
      : {}),
  });
  return { ...input, bucket: destBucket, csvKeys };
}

// ---------------------------------------------------------------- trigger_single_csv_and_wait

/**
 * Create the child CSV job for one unzipped file with the parent's task token on it, and
 * start it (`import-csv` on the main topic: DIRECT or STEP_FUNCTION by size). The child's
 * end sends SendTaskSuccess (COMPLETED) or SendTaskFailure (FAILED) with that token.
 * Re-running (retry/redelivery) re-stores the new token; if the child had already ended,
 * its outcome is delivered right away.
 */
export async function triggerSingleCsvAndWait(
  input: ZipMachineInput,
  taskToken: string | undefined,
): Promise<ZipMachineInput> {
  if (!taskToken) throw new Error('trigger_single_csv_and_wait needs "taskToken.$": "$$.Task.Token" in its Payload');
  if (typeof input.key !== 'string' || typeof input.bucket !== 'string')
    throw new Error('trigger_single_csv_and_wait: input needs "bucket" and "key"');
  const zip = await requireJob(requireKey(input, 'trigger_single_csv_and_wait input'));
  const child = childJobKey(zip, input.key);
  const size = await objectSize(input.bucket, input.key);
  const mode = importModeForSize(size, integerEnv('DIRECT_IMPORT_MAX_BYTES', 0));
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new PutCommand({
        TableName: tables.importTmp(),
        Item: {
          pk: child.pk,
          sk: child.sk,
          type: ImportRowType.CSV_JOB,
          jobId: child.jobId,
          bucket: input.bucket,
          key: input.key,
          size,
          mode,
          schema: zip.schema,
          status: ImportStatus.CREATED,
          totalRows: null,
          processedRows: 0,
          succeededRows: 0,
          failedRows: 0,
          parentPk: zip.pk,
          parentSk: zip.sk,
          taskToken,
          createdAt: now,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const existing = await updateJob(child, { taskToken, tokenStoredAt: now });
    if (isTerminal(existing.status)) {
      await deliverJobOutcome(existing);
      return input;
    }
  }
  await publishAction(sns(), requireEnv('MAIN_TOPIC_ARN'), Action.IMPORT_CSV, {
    pk: child.pk,
    sk: child.sk,
    parentPk: zip.pk,
    parentSk: zip.sk,
  });
  return input;
}

// ---------------------------------------------------------------- finalize_zip_job

export async function finalizeZipJob(input: ZipMachineInput): Promise<JobOutcome> {
  const key = requireKey(input, 'finalize_zip_job input');
  const zip = await requireJob(key);
  const children = (await queryAll(ddb(), {
    TableName: tables.importTmp(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': zip.pk, ':prefix': `${ImportRowType.CSV_JOB}#${jobIdOf(zip)}-` },
    ConsistentRead: true,
  })) as ImportJob[];
  const byKey = new Map(children.filter((c) => c.parentSk === zip.sk).map((c) => [c.key, c]));
  const keys: string[] = Array.isArray(input.csvKeys)
    ? input.csvKeys
    : Array.isArray(zip.csvKeys)
      ? (zip.csvKeys as string[])
      : Array.from(byKey.keys()).sort();
  const files = keys.map((k) => {
    const c = byKey.get(k);
    return c
      ? {
          key: k,
          status: c.status,
          // null: that file was not read to its end, its row count is unknown
          totalRows: c.totalRows === null ? null : Number(c.totalRows ?? 0),
          succeededRows: Number(c.succeededRows ?? 0),
          failedRows: Number(c.failedRows ?? 0),
          ...(c.unreadRemainder ? { unreadRemainder: true } : {}),
          ...(c.error ? { error: truncate(String(c.error), 300) } : {}),
        }
      : { key: k, status: 'NOT_STARTED', totalRows: null, succeededRows: 0, failedRows: 0 };
  });
  const sum = (f: 'totalRows' | 'succeededRows' | 'failedRows'): number =>
    files.reduce((n, x) => n + Number(x[f] ?? 0), 0);
  const totalRows = files.some((f) => f.totalRows === null) ? null : sum('totalRows');
  const succeededRows = sum('succeededRows');
  const failedRows = sum('failedRows');
  const problems: string[] = [];
  const machineError = isRecord(input.error)
    ? truncate(`${asText(input.error.Error ?? 'Error')}: ${asText(input.error.Cause ?? '')}`, 1500)
    : undefined;
  if (machineError) problems.push(machineError);
  const notCompleted = files.filter((f) => f.status !== ImportStatus.COMPLETED);
  if (notCompleted.length)
    problems.push(
      `${notCompleted.length} of ${files.length} file(s) did not complete: ${notCompleted
        .slice(0, 5)
        .map((f) => `${f.key} (${f.status})`)
        .join(', ')}`,
    );
  const skippedEntries = Array.isArray(zip.skippedEntries)
    ? (zip.skippedEntries as Array<{ entry: string; reason: string }>)
    : [];
  const skippedCount = Number(zip.skippedEntryCount ?? skippedEntries.length);
  if (skippedCount > 0) {
    problems.push(
      `${skippedCount} archive entr${skippedCount === 1 ? 'y was' : 'ies were'} not imported: ${skippedEntries
        .slice(0, 5)
        .map((e) => `${e.entry} (${e.reason})`)
        .join(', ')}`,
    );
  }
  const status = problems.length === 0 ? ImportStatus.COMPLETED : ImportStatus.FAILED;
  await updateJob(zip, { totalRows, processedRows: succeededRows + failedRows, succeededRows, failedRows });
  const ended = await completeJob(
    key,
    status,
    {
      fileCount: files.length,
      totalRows,
      succeededRows,
      failedRows,
      files: files.slice(0, 100),
      ...(skippedCount ? { skippedEntryCount: skippedCount, skippedEntries } : {}),
      ...(problems.length ? { problems } : {}),
    },
    problems.length ? truncate(problems.join('; '), 2000) : undefined,
  );
  return {
    pk: ended.pk,
    sk: ended.sk,
    status: ended.status,
    totalRows,
    processedRows: succeededRows + failedRows,
    succeededRows,
    failedRows,
    ...(ended.error ? { error: ended.error } : {}),
  };
}
