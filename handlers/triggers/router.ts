import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { sfn } from '../shared/aws/sfn';
import { optionalEnv, requireEnv, tables } from '../shared/env';
import { describeError, isConditionalCheckFailed } from '../../core/errors';
import { executionName, isCommandSk } from '../../core/keys';
import { log } from '../shared/log';
import { publishAlarm } from '../shared/notify';
import { startExecutionOnce } from '../../core/sfn';
import { ImportRowType, ImportStatus, TaskRowType } from '../../core/status';
import {
  decodeImage,
  tableFromStreamArn,
  type BatchResponse,
  type DynamoStreamEvent,
  type DynamoStreamRecord,
} from '../shared/stream';
import { isRecord } from '../../core/types';
import { ConditionRejectedError, publishCommandWith, VersionExistsError } from '../../core/commands';
import { LimitExceededError } from '../../core/limits';
import { prepareAndStartTask } from '../task/prepare';

export type RouteOutcome =
  | { kind: 'command'; executionName: string; started: boolean }
  | { kind: 'task'; started: boolean; skipped?: string }
  | { kind: 'import-row'; published: boolean; sk?: string; clash?: string }
  | { kind: 'ignored'; reason: string };

type SourceTable = 'commands' | 'tasks' | 'import_tmp';

function sourceTable(record: DynamoStreamRecord): SourceTable | undefined {
  const name = tableFromStreamArn(record.eventSourceARN);
  if (!name) return undefined;
  if (name === optionalEnv('COMMANDS_TABLE')) return 'commands';
  if (name === optionalEnv('TASKS_TABLE')) return 'tasks';
  if (name === optionalEnv('IMPORT_TMP_TABLE')) return 'import_tmp';
  return undefined;
}

/** commands INSERT → command machine, input `{ pk, sk }` only (never the record). */
async function startCommand(image: Record<string, unknown>): Promise<RouteOutcome> {
  const pk = typeof image.pk === 'string' ? image.pk : '';
  const sk = typeof image.sk === 'string' ? image.sk : '';
  if (!pk || !isCommandSk(sk)) return { kind: 'ignored', reason: `not a command row: ${pk} / ${sk}` };
  const name = executionName('commands', pk, sk);
  const res = await startExecutionOnce(sfn(), requireEnv('COMMAND_STATE_MACHINE_ARN'), name, { pk, sk });
  return { kind: 'command', executionName: name, started: res.started };
}

/**
 * import_tmp IMPORT_ROW INSERT → the next version of the command, through the same
 * publishCommand logic as the client; the row is marked `publishedAt`/`commandSk` in the same
 * transaction, so a redelivered record never publishes twice.
 */
async function importRowToCommand(image: Record<string, unknown>): Promise<RouteOutcome> {
  const command = image.command;
  if (!isRecord(command) || typeof command.pk !== 'string' || typeof command.code !== 'string') {
    throw new Error(`IMPORT_ROW ${String(image.pk)} / ${String(image.sk)} has no valid "command"`);
  }
  const rowKey = { pk: String(image.pk), sk: String(image.sk) };
  const now = new Date().toISOString();
  try {
    const published = await publishCommandWith(
      {
        dynamodb: ddb(),
        commandsTable: tables.commands(),
        dataTable: optionalEnv('DATA_TABLE'),
        s3,
        payloadBucket: optionalEnv('IMPORT_BUCKET'),
      },
      {
        pk: command.pk,
        code: command.code,
        ...(typeof command.version === 'number' ? { version: command.version } : {}),
        ...(isRecord(command.attributes) ? { attributes: command.attributes } : {}),
        ...(typeof command.attributesRef === 'string' ? { attributesRef: command.attributesRef } : {}),
        fields: { importSource: { jobPk: image.jobPk, jobSk: image.jobSk, line: image.line } },
      },
      {
        alsoWrite: {
          Update: {
            TableName: tables.importTmp(),
            Key: rowKey,
            UpdateExpression: 'SET publishedAt = :now',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(publishedAt)',
            ExpressionAttributeValues: { ':now': now },
          },
        },
      },
    );
    return { kind: 'import-row', published: true, sk: published.sk };
  } catch (err) {
    if (err instanceof ConditionRejectedError) return { kind: 'import-row', published: false };
    if (err instanceof VersionExistsError)
      return recordRowRejected(
        image,
        rowKey,
        'import-row-version-clash',
        `version clash: ${err.pk} / ${err.sk} already exists (written by another source); this row's command was not published`,
      );
    // The CSV schema refuses such rows; one written by older code or by hand must not block the shard.
    if (err instanceof LimitExceededError)
      return recordRowRejected(
        image,
        rowKey,
        'import-row-rejected',
        `rejected: ${err.message}; this row's command was not published`,
      );
    throw err;
  }
}

/**
 * The row's command can never be published: it names an explicit version that another writer
 * already created, or it does not fit DynamoDB's limits. Retrying cannot change that, and
 * throwing would block the stream shard through its retries and end in the stream DLQ; so the
 * reason is recorded on the IMPORT_ROW (`status` FAILED + `reason`) and alarmed. The job's
 * counters are left as they are (the job may have ended already): the row's status and the
 * alarm are the record. Conditional on the row not being marked yet, so a redelivered record
 * neither rewrites it nor alarms twice.
 */
async function recordRowRejected(
  image: Record<string, unknown>,
  rowKey: { pk: string; sk: string },
  kind: string,
  reason: string,
): Promise<RouteOutcome> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.importTmp(),
        Key: rowKey,
        UpdateExpression: 'SET #status = :failed, reason = :reason, failedAt = :now',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(publishedAt) AND attribute_not_exists(#status)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': ImportStatus.FAILED,
          ':reason': reason,
          ':now': new Date().toISOString(),
        },
      }),
    );
  } catch (e) {
    if (isConditionalCheckFailed(e)) return { kind: 'import-row', published: false, clash: reason };
    throw e;
  }
  log('error', 'imported row cannot be published', { row: rowKey, kind, reason });
  await publishAlarm({
    kind,
    table: 'import_tmp',
    pk: rowKey.pk,
    sk: rowKey.sk,
    jobPk: image.jobPk,
    jobSk: image.jobSk,
    line: image.line,
    error: reason,
  });
  return { kind: 'import-row', published: false, clash: reason };
}

export async function routeRecord(record: DynamoStreamRecord): Promise<RouteOutcome> {
  if (record.eventName !== 'INSERT') return { kind: 'ignored', reason: `event ${record.eventName}` };
  const table = sourceTable(record);
  if (!table)
    throw new Error(`stream ${record.eventSourceARN} is not one of COMMANDS_TABLE, TASKS_TABLE, IMPORT_TMP_TABLE`);
  const image = decodeImage(record.dynamodb?.NewImage);
  switch (table) {
    case 'commands':
      return startCommand(image);
    case 'tasks': {
      if (image.type !== TaskRowType.TASK)
        return { kind: 'ignored', reason: `tasks row of type ${String(image.type)}` };
      const res = await prepareAndStartTask({ pk: String(image.pk), sk: String(image.sk) });
      return { kind: 'task', started: res.started, ...(res.skipped ? { skipped: res.skipped } : {}) };
    }
    case 'import_tmp':
      if (image.type !== ImportRowType.IMPORT_ROW)
        return { kind: 'ignored', reason: `import_tmp row of type ${String(image.type)}` };
      return importRowToCommand(image);
  }
}

/**
 * Stream router for `commands`, `tasks` and `import_tmp` (INSERT only). Records are handled
 * in order; on the first failure its sequence number is reported (ReportBatchItemFailures)
 * and processing stops, so Lambda retries from there (everything is idempotent).
 */
export async function routeStreamEvent(event: DynamoStreamEvent): Promise<BatchResponse> {
  for (const record of event.Records ?? []) {
    try {
      const outcome = await routeRecord(record);
      log('debug', 'stream record routed', { eventID: record.eventID, outcome });
    } catch (err) {
      log('error', 'stream record failed', {
        eventID: record.eventID,
        source: record.eventSourceARN,
        error: describeError(err),
      });
      const id = record.dynamodb?.SequenceNumber;
      if (!id) throw err;
      return { batchItemFailures: [{ itemIdentifier: id }] };
    }
  }
  return { batchItemFailures: [] };
}
