import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { sfn } from '../shared/aws/sfn';
import { optionalEnv, requireEnv, tables } from '../shared/env';
import { describeError, isConditionalCheckFailed, NamedError } from '../../core/errors';
import { executionName, isCommandSk } from '../../core/keys';
import { log } from '../shared/log';
import { publishAlarm } from '../shared/notify';
import { startExecutionOnce } from '../../core/sfn';
import {
  CommandError,
  CommandPath,
  CommandRunOutcome,
  ImportRowType,
  ImportStatus,
  TaskRowType,
} from '../../core/status';
import {
  decodeImage,
  tableFromStreamArn,
  type BatchResponse,
  type DynamoStreamEvent,
  type DynamoStreamRecord,
} from '../shared/stream';
import { isRecord, requireKey, stateName, type Key, type StepEvent } from '../../core/types';
import { ConditionRejectedError, publishCommandWith, VersionExistsError } from '../../core/commands';
import { LimitExceededError } from '../../core/limits';
import { prepareAndStartTask } from '../task/prepare';
import { runCommandVersion, type RunResult } from '../command/run';

export type RouteOutcome =
  | { kind: 'command'; executionName: string; started: boolean; run?: RunResult }
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

/** The command path of this stack (COMMAND_PATH; the seed's STANDARD shape when unset). */
function commandPath(): CommandPath {
  return optionalEnv('COMMAND_PATH') === CommandPath.EXPRESS ? CommandPath.EXPRESS : CommandPath.STANDARD;
}

/**
 * commands INSERT → the command machine, input `{ pk, sk }` only (never the record), on the
 * stack's command path.
 */
async function startCommand(image: Record<string, unknown>, deadlineMs: number): Promise<RouteOutcome> {
  const pk = typeof image.pk === 'string' ? image.pk : '';
  const sk = typeof image.sk === 'string' ? image.sk : '';
  if (!pk || !isCommandSk(sk)) return { kind: 'ignored', reason: `not a command row: ${pk} / ${sk}` };
  return commandPath() === CommandPath.STANDARD
    ? startStandardCommand({ pk, sk })
    : startExpressCommand({ pk, sk }, deadlineMs);
}

/** STANDARD path: StartExecution with the deterministic name (a redelivered record starts nothing twice). */
async function startStandardCommand(key: Key): Promise<RouteOutcome> {
  const name = executionName('commands', key.pk, key.sk);
  const res = await startExecutionOnce(sfn(), requireEnv('COMMAND_STATE_MACHINE_ARN'), name, key);
  return { kind: 'command', executionName: name, started: res.started };
}

/**
 * EXPRESS path: the version is run to its end here (StartSyncExecution; a run that fails
 * throws, so the stream retries the record); a version that must wait for its predecessor
 * goes to the command-wait machine under the deterministic name.
 */
async function startExpressCommand(key: Key, deadlineMs: number): Promise<RouteOutcome> {
  const name = executionName('commands', key.pk, key.sk);
  const run = await runCommandVersion(key, { waited: false, deadlineMs });
  if (run !== CommandRunOutcome.MUST_WAIT) return { kind: 'command', executionName: name, started: false, run };
  const res = await startExecutionOnce(sfn(), requireEnv('COMMAND_WAIT_STATE_MACHINE_ARN'), name, key);
  return { kind: 'command', executionName: name, started: res.started, run };
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

export async function routeRecord(
  record: DynamoStreamRecord,
  deadlineMs = Date.now() + DEFAULT_BUDGET_MS,
): Promise<RouteOutcome> {
  if (record.eventName !== 'INSERT') return { kind: 'ignored', reason: `event ${record.eventName}` };
  const table = sourceTable(record);
  if (!table)
    throw new Error(`stream ${record.eventSourceARN} is not one of COMMANDS_TABLE, TASKS_TABLE, IMPORT_TMP_TABLE`);
  const image = decodeImage(record.dynamodb?.NewImage);
  switch (table) {
    case 'commands':
      return startCommand(image, deadlineMs);
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

/** Time budget when the caller gives no deadline (a Lambda context always does). */
const DEFAULT_BUDGET_MS = 60_000;

/** What the router needs of the Lambda context: its deadline. */
export interface InvocationContext {
  getRemainingTimeInMillis?: () => number;
}

function deadlineOf(context: InvocationContext | undefined): number {
  const remaining = context?.getRemainingTimeInMillis?.();
  return Date.now() + (typeof remaining === 'number' && remaining > 0 ? remaining : DEFAULT_BUDGET_MS);
}

function logFailure(record: DynamoStreamRecord, err: unknown): void {
  log('error', 'stream record failed', {
    eventID: record.eventID,
    source: record.eventSourceARN,
    error: describeError(err),
  });
}

/** The failure to report: the first failed record in stream order (Lambda retries from it). */
function failureAt(record: DynamoStreamRecord, err: unknown): BatchResponse {
  const id = record.dynamodb?.SequenceNumber;
  if (!id) throw err;
  return { batchItemFailures: [{ itemIdentifier: id }] };
}

/**
 * Command INSERTs on the EXPRESS path are run concurrently: each waits for its version's run
 * (a few hundred milliseconds), and the order between versions is kept by check_version, not
 * by the stream. The same key twice in a batch (a redelivery) is run once.
 */
async function routeCommandsConcurrently(records: DynamoStreamRecord[], deadlineMs: number): Promise<BatchResponse> {
  const byKey = new Map<string, Promise<RouteOutcome>>();
  const runs = records.map((record) => {
    const keys = record.dynamodb?.Keys;
    const id = `${keys?.pk?.S ?? ''}\u0000${keys?.sk?.S ?? ''}`;
    let run = keys?.pk?.S && keys?.sk?.S ? byKey.get(id) : undefined;
    if (!run) {
      run = routeRecord(record, deadlineMs);
      if (keys?.pk?.S && keys?.sk?.S) byKey.set(id, run);
    }
    return run;
  });
  const settled = await Promise.allSettled(runs);
  for (const [i, result] of settled.entries()) {
    if (result.status === 'fulfilled') {
      log('debug', 'stream record routed', { eventID: records[i].eventID, outcome: result.value });
      continue;
    }
    logFailure(records[i], result.reason);
    return failureAt(records[i], result.reason);
  }
  return { batchItemFailures: [] };
}

/**
 * Stream router for `commands`, `tasks` and `import_tmp` (INSERT only). Records are handled
 * in order; on the first failure its sequence number is reported (ReportBatchItemFailures)
 * and processing stops, so Lambda retries from there (everything is idempotent). A batch of
 * command INSERTs on the EXPRESS path is run concurrently (see routeCommandsConcurrently).
 */
export async function routeStreamEvent(event: DynamoStreamEvent, context?: InvocationContext): Promise<BatchResponse> {
  const records = event.Records ?? [];
  const deadlineMs = deadlineOf(context);
  if (
    commandPath() === CommandPath.EXPRESS &&
    records.length > 1 &&
    records.every((r) => r.eventName === 'INSERT' && sourceTable(r) === 'commands')
  )
    return routeCommandsConcurrently(records, deadlineMs);
  for (const record of records) {
    try {
      const outcome = await routeRecord(record, deadlineMs);
      log('debug', 'stream record routed', { eventID: record.eventID, outcome });
    } catch (err) {
      logFailure(record, err);
      return failureAt(record, err);
    }
  }
  return { batchItemFailures: [] };
}

/**
 * `run_command` of the command-wait machine: the version waited for its predecessor and may
 * now go on, so it is run on the EXPRESS machine like a new command. If that run finds it must
 * wait again, VersionMustWait sends the machine back to `wait_prev_command`; a failed run
 * throws CommandRunFailed (retried by the state, then caught into mark_failed).
 */
export async function runCommandStep(event: StepEvent<unknown>, context?: InvocationContext): Promise<unknown> {
  const state = stateName(event);
  if (state !== 'run_command') throw new Error(`stream-router: unknown state "${state}"`);
  const key = requireKey(event.input, 'run_command input');
  const run = await runCommandVersion(key, { waited: true, deadlineMs: deadlineOf(context) });
  if (run === CommandRunOutcome.MUST_WAIT)
    throw new NamedError(CommandError.VERSION_MUST_WAIT, `${key.pk} / ${key.sk} must wait for its predecessor again`);
  return { pk: key.pk, sk: key.sk, outcome: run };
}
