import { randomUUID } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { asText, isConditionalCheckFailed } from '../core/errors';
import { queryAll } from '../core/dynamo';
import { publishAction } from '../core/publish-action';
import { BUCKET_PREFIXES } from '../core/bucket-layout';
import { jobIdProblem } from '../core/keys';
import { assertNoProblems, importJobKeyProblems } from '../core/limits';
import {
  Action,
  DEFAULT_DIRECT_IMPORT_MAX_BYTES,
  importModeForSize,
  ImportMode,
  ImportRowType,
  ImportStatus,
} from '../core/status';
import { documentClient, need, type CqrsClientConfig } from './config';

export { DEFAULT_DIRECT_IMPORT_MAX_BYTES };

export interface StartImportInput {
  /** Object key of the CSV / ZIP file. */
  key: string;
  /** Default: config.importBucket. The import functions are granted access to the import bucket only. */
  bucket?: string;
  /** Partition of the job row (e.g. a tenant). Default `IMPORT`. */
  pk?: string;
  /** Default a random UUID. The job row's sk is `CSV_JOB#<jobId>` / `ZIP_JOB#<jobId>`. */
  jobId?: string;
  /** Registered import schema name (default: the header-driven default schema). */
  schema?: string;
  /** CSV only: force a mode instead of choosing by size. */
  mode?: ImportMode;
}

export interface StartedImport {
  pk: string;
  sk: string;
  jobId: string;
  mode: ImportMode;
  size: number;
}

async function startJob(
  config: CqrsClientConfig,
  input: StartImportInput,
  type: typeof ImportRowType.CSV_JOB | typeof ImportRowType.ZIP_JOB,
): Promise<StartedImport> {
  if (!input.key) throw new Error('start import: key is required');
  // The import functions may read only the upload prefix of the import bucket:
  // refuse here what would fail later with AccessDenied inside a workflow.
  if (!input.key.startsWith(BUCKET_PREFIXES.uploads)) {
    throw new Error(
      `start import: key must be under ${BUCKET_PREFIXES.uploads} in the import bucket, got ${input.key}`,
    );
  }
  const jobId = input.jobId ?? randomUUID();
  const idProblem = jobIdProblem(jobId);
  if (idProblem) throw new Error(`start import: ${idProblem}`);
  const pk = input.pk ?? 'IMPORT';
  const sk = `${type}#${jobId}`;
  assertNoProblems('start import', importJobKeyProblems(pk, sk, type === ImportRowType.ZIP_JOB));
  const bucket = input.bucket ?? need(config.importBucket, 'importBucket');
  if (config.importBucket && bucket !== config.importBucket) {
    throw new Error(
      `start import: the import functions can read only the import bucket ${config.importBucket}, not ${bucket}`,
    );
  }
  const s3 = need(config.clients.s3, 'clients.s3');
  const sns = need(config.clients.sns, 'clients.sns');
  const topic = need(config.mainTopicArn, 'mainTopicArn');
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: input.key }));
  const size = Number(head.ContentLength ?? 0);
  const threshold = config.directImportMaxBytes ?? DEFAULT_DIRECT_IMPORT_MAX_BYTES;
  const mode =
    type === ImportRowType.ZIP_JOB ? ImportMode.STEP_FUNCTION : (input.mode ?? importModeForSize(size, threshold));
  const table = need(config.tables.importTmp, 'tables.importTmp');
  const doc = documentClient(config);
  try {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk,
          sk,
          type,
          jobId,
          bucket,
          key: input.key,
          size,
          mode,
          ...(input.schema ? { schema: input.schema } : {}),
          status: ImportStatus.CREATED,
          totalRows: null,
          processedRows: 0,
          succeededRows: 0,
          failedRows: 0,
          createdAt: new Date().toISOString(),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    // same jobId again (a retry after a failed publish): republish if it is the same, not-yet-started job
    const existing = (await doc.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }))).Item;
    if (
      !existing ||
      existing.bucket !== bucket ||
      existing.key !== input.key ||
      existing.status !== ImportStatus.CREATED
    ) {
      throw new Error(`start import: job ${pk} / ${sk} already exists for another file or has already started`, {
        cause: err,
      });
    }
    await publishAction(sns, topic, type === ImportRowType.ZIP_JOB ? Action.IMPORT_ZIP : Action.IMPORT_CSV, { pk, sk });
    return { pk, sk, jobId, mode: existing.mode as ImportMode, size: Number(existing.size ?? size) };
  }
  await publishAction(sns, topic, type === ImportRowType.ZIP_JOB ? Action.IMPORT_ZIP : Action.IMPORT_CSV, { pk, sk });
  return { pk, sk, jobId, mode, size };
}

/**
 * Create a CSV import job (DIRECT when the object is at most `directImportMaxBytes`, found by
 * HeadObject, else STEP_FUNCTION) and start it by publishing `import-csv` to the main topic:
 * the import-action consumer runs DIRECT jobs inline and starts the import-csv machine for
 * the others (deterministic execution name, so a redelivered message starts nothing twice).
 */
export async function startCsvImport(config: CqrsClientConfig, input: StartImportInput): Promise<StartedImport> {
  return startJob(config, input, ImportRowType.CSV_JOB);
}

/** Create a ZIP import job and start it (`import-zip` on the main topic → import-zip machine). */
export async function startZipImport(
  config: CqrsClientConfig,
  input: Omit<StartImportInput, 'mode'>,
): Promise<StartedImport> {
  return startJob(config, input, ImportRowType.ZIP_JOB);
}

export interface ImportErrorItem {
  index: number;
  line: number;
  reason: string;
  raw?: string;
}

/** Every invalid/unprocessed row of a job, in file order, with its line number and reason. */
export async function listImportErrors(
  config: CqrsClientConfig,
  job: { pk: string; sk: string },
): Promise<ImportErrorItem[]> {
  const items = await queryAll(documentClient(config), {
    TableName: need(config.tables.importTmp, 'tables.importTmp'),
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': `${ImportRowType.IMPORT_ERROR}#${job.pk}#${job.sk}` },
  });
  return items.map((i) => ({
    index: Number(i.index),
    line: Number(i.line),
    reason: String(i.reason),
    ...(i.raw !== undefined ? { raw: asText(i.raw) } : {}),
  }));
}
