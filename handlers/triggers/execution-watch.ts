import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { sfn } from '../shared/aws/sfn';
import { handleCommandStep } from '../command/steps';
import { getCommand, releaseSuccessor } from '../command/model';
import { parseCommandSk } from '../../core/keys';
import { reconcileAndComplete } from '../import/csv-steps';
import { deliverJobOutcome, getJob, type ImportJob } from '../import/model';
import { finalizeZipJob } from '../import/zip-steps';
import { optionalEnv, type EnvName } from '../shared/env';
import { describeError, NamedError, truncate } from '../../core/errors';
import { log } from '../shared/log';
import { publishAlarm } from '../shared/notify';
import { CommandPath, CommandResult, ImportRowType, isTerminal, TaskRowType } from '../../core/status';
import type { BatchResponse, SqsEvent, SqsRecord } from '../shared/stream';
import { isRecord, type CaughtError, type Key, type StepEvent } from '../../core/types';
import { finalizeTask } from '../task/finalize';
import { getTaskRow, type TaskRow } from '../task/model';
import { handleStreamFailure, isStreamFailureRecord } from './stream-failures';

/**
 * execution-events queue: EventBridge "Step Functions Execution Status Change" events
 * (TIMED_OUT, ABORTED, FAILED) of the STANDARD machines (and of the command machine a
 * `commandPath` switch retired). An execution that ends this way may not
 * have run its own failure path (machine-level TimeoutSeconds, StopExecution, States.Runtime),
 * so the business row would stay in progress. If the row is not terminal yet, the machine's
 * own failure code is run for it (mark_failed, finalize_task, finalize_parent_job,
 * finalize_zip_job) and one alarm names the machine, the execution and its status.
 * A row that is already terminal (the failure path ran, or this is a redelivery) is left alone.
 */

export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
export const STATES_SOURCE = 'aws.states';

/** The statuses the EventBridge rule forwards; any other status is logged and ignored. */
export const WATCHED_STATUSES = ['TIMED_OUT', 'ABORTED', 'FAILED'] as const;
export type WatchedStatus = (typeof WATCHED_STATUSES)[number];

export type WatchedMachine = 'command' | 'command-wait' | 'task' | 'import-csv' | 'import-zip';

const MACHINE_ENV: ReadonlyArray<readonly [WatchedMachine, EnvName]> = [
  ['command', 'COMMAND_STATE_MACHINE_ARN'],
  // EXPRESS path: versions that wait for their predecessor (the EXPRESS machine emits no events)
  ['command-wait', 'COMMAND_WAIT_STATE_MACHINE_ARN'],
  ['task', 'TASK_STATE_MACHINE_ARN'],
  ['import-csv', 'IMPORT_CSV_STATE_MACHINE_ARN'],
  ['import-zip', 'IMPORT_ZIP_STATE_MACHINE_ARN'],
];

/** History event type of each status, used as the error name recorded on the row. */
const ERROR_NAME: Record<WatchedStatus, string> = {
  TIMED_OUT: 'ExecutionTimedOut',
  ABORTED: 'ExecutionAborted',
  FAILED: 'ExecutionFailed',
};

export interface ExecutionStatusDetail {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  startDate?: number | string | null;
  stopDate?: number | string | null;
  /** The execution input as a JSON string; null when too large to be included (see inputDetails). */
  input?: string | null;
  inputDetails?: { included?: boolean } | null;
  error?: string | null;
  cause?: string | null;
}

export interface ExecutionStatusEvent {
  'detail-type': string;
  source: string;
  detail: ExecutionStatusDetail;
}

export type WatchOutcome =
  | { kind: 'ignored'; machine: WatchedMachine; status: string; reason: string }
  | { kind: 'already-terminal'; machine: WatchedMachine; key: Key; rowStatus: string }
  | { kind: 'row-missing'; machine: WatchedMachine; key: Key }
  | { kind: 'failed'; machine: WatchedMachine; key: Key; rowStatus: string; reason: string };

/** The event cannot be understood: goes to the DLQ (reported as a batch item failure). */
export class MalformedExecutionEventError extends NamedError {
  constructor(message: string) {
    super('MalformedExecutionEvent', message);
  }
}

/** The event is for a state machine this function does not watch (a rule/queue wiring problem). */
export class UnknownStateMachineError extends NamedError {
  constructor(readonly stateMachineArn: string) {
    super(
      'UnknownStateMachine',
      `state machine ${stateMachineArn} is none of COMMAND_STATE_MACHINE_ARN, COMMAND_WAIT_STATE_MACHINE_ARN, RETIRED_COMMAND_STATE_MACHINE_ARN, TASK_STATE_MACHINE_ARN, IMPORT_CSV_STATE_MACHINE_ARN, IMPORT_ZIP_STATE_MACHINE_ARN`,
    );
  }
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Validate an EventBridge "Step Functions Execution Status Change" event. */
export function parseExecutionEvent(value: unknown): ExecutionStatusEvent {
  if (!isRecord(value)) throw new MalformedExecutionEventError('event is not a JSON object');
  if (value.source !== STATES_SOURCE || value['detail-type'] !== EXECUTION_STATUS_CHANGE) {
    throw new MalformedExecutionEventError(
      `not a "${EXECUTION_STATUS_CHANGE}" event from ${STATES_SOURCE} (source ${String(value.source)}, detail-type ${String(value['detail-type'])})`,
    );
  }
  const d = value.detail;
  if (!isRecord(d)) throw new MalformedExecutionEventError('event has no "detail" object');
  for (const field of ['executionArn', 'stateMachineArn', 'status'] as const) {
    if (!nonEmptyString(d[field])) throw new MalformedExecutionEventError(`detail.${field} is missing`);
  }
  if (d.input !== undefined && d.input !== null && typeof d.input !== 'string')
    throw new MalformedExecutionEventError('detail.input is not a string');
  const executionArn = d.executionArn as string;
  const detail: ExecutionStatusDetail = {
    executionArn,
    stateMachineArn: d.stateMachineArn as string,
    name: nonEmptyString(d.name) ? d.name : executionArn.slice(executionArn.lastIndexOf(':') + 1),
    status: d.status as string,
    startDate: typeof d.startDate === 'number' || typeof d.startDate === 'string' ? d.startDate : undefined,
    stopDate: typeof d.stopDate === 'number' || typeof d.stopDate === 'string' ? d.stopDate : undefined,
    input: typeof d.input === 'string' ? d.input : null,
    inputDetails:
      isRecord(d.inputDetails) && typeof d.inputDetails.included === 'boolean'
        ? { included: d.inputDetails.included }
        : undefined,
    error: optionalText(d.error),
    cause: optionalText(d.cause),
  };
  return { 'detail-type': EXECUTION_STATUS_CHANGE, source: STATES_SOURCE, detail };
}

/**
 * Which machine an execution belongs to (exact match on the env ARNs); unknown →
 * UnknownStateMachineError. RETIRED_COMMAND_STATE_MACHINE_ARN is the STANDARD machine the other
 * command path runs versions on (EXPRESS path: the STANDARD `command`; STANDARD path:
 * `command-wait`): a commandPath switch deletes it, and Step Functions then ends its running
 * executions FAILED (States.Runtime) at their next transition, after this function already
 * serves the new path. Their versions are failed like any other command execution's.
 */
export function machineOf(stateMachineArn: string): WatchedMachine {
  for (const [machine, env] of MACHINE_ENV) {
    if (optionalEnv(env) === stateMachineArn) return machine;
  }
  if (optionalEnv('RETIRED_COMMAND_STATE_MACHINE_ARN') === stateMachineArn)
    return optionalEnv('COMMAND_PATH') === CommandPath.EXPRESS ? 'command' : 'command-wait';
  throw new UnknownStateMachineError(stateMachineArn);
}

export function isWatchedStatus(status: string): status is WatchedStatus {
  return (WATCHED_STATUSES as readonly string[]).includes(status);
}

/** The reason recorded on the row: which execution of which machine ended how (error, cause). */
export function executionFailureReason(machine: WatchedMachine, detail: ExecutionStatusDetail): string {
  const what = detail.error ? `: ${detail.error}` : '';
  const why = detail.cause ? ` (${truncate(detail.cause, 1000)})` : '';
  return truncate(
    `execution ${detail.name} of the ${machine} machine ended ${detail.status}${what}${why} without its own failure path completing`,
    1800,
  );
}

/** `{ pk, sk }` from the execution input; when EventBridge left the input out (too large), from DescribeExecution. */
export async function executionKey(detail: ExecutionStatusDetail): Promise<Key> {
  let raw = detail.input;
  if ((raw === null || raw === undefined) && detail.inputDetails?.included === false) {
    const res = await sfn().send(new DescribeExecutionCommand({ executionArn: detail.executionArn }));
    raw = res.input;
  }
  if (raw === null || raw === undefined)
    throw new MalformedExecutionEventError(`detail.input is missing for ${detail.executionArn}`);
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch {
    throw new MalformedExecutionEventError(`detail.input of ${detail.executionArn} is not JSON`);
  }
  if (!isRecord(input) || !nonEmptyString(input.pk) || !nonEmptyString(input.sk)) {
    throw new MalformedExecutionEventError(`the input of ${detail.executionArn} has no string "pk" and "sk"`);
  }
  return { pk: input.pk, sk: input.sk };
}

// ---------------------------------------------------------------- per machine

interface FixResult {
  terminal: boolean;
  missing?: boolean;
  rowStatus: string;
}

/**
 * command: mark_failed itself (FAILED + result FAILED + failedReason, its alarm, successor
 * released). A version that has already ended may still owe its release: the execution
 * failed because finish or mark_failed could not resume the next version (throttled, or
 * died after recording the result). The release is idempotent, so it is simply done again;
 * an error throws, and the message is redelivered until it succeeds (then the DLQ, and the
 * waiting version's own re-check every HeartbeatSeconds still covers it).
 */
async function failCommand(key: Key, detail: ExecutionStatusDetail, error: CaughtError): Promise<FixResult> {
  const row = await getCommand(key);
  if (!row) return { terminal: false, missing: true, rowStatus: 'MISSING' };
  if (row.result === CommandResult.COMPLETED || row.result === CommandResult.FAILED) {
    const { code, version } = parseCommandSk(key.sk);
    const released = await releaseSuccessor(key.pk, code, version, `execution-watch:${version}`);
    if (released.resumed)
      log('warn', 'execution-watch: released the successor of an ended version', { key, ...released });
    return { terminal: true, rowStatus: String(row.result) };
  }
  const event: StepEvent<unknown> = {
    source: 'execution-watch',
    context: {
      Execution: { Id: detail.executionArn, Name: detail.name },
      State: { Name: 'mark_failed' },
      StateMachine: { Id: detail.stateMachineArn },
    },
    input: { pk: key.pk, sk: key.sk, reason: `${error.Error}: ${error.Cause}` },
  };
  await handleCommandStep(event);
  const after = await getCommand(key);
  return { terminal: false, rowStatus: String(after?.result ?? after?.status ?? 'UNKNOWN') };
}

/** task: finalize_task with the machine error (open sub-tasks FAILED with the reason, counters reconciled). */
async function failTask(key: Key, error: CaughtError): Promise<FixResult> {
  const task = await getTaskRow<TaskRow>(key);
  if (!task) return { terminal: false, missing: true, rowStatus: 'MISSING' };
  if (task.type !== TaskRowType.TASK)
    throw new MalformedExecutionEventError(
      `task machine input ${key.pk} / ${key.sk} is not a TASK row (type ${String(task.type)})`,
    );
  if (isTerminal(task.status)) return { terminal: true, rowStatus: String(task.status) };
  const summary = await finalizeTask(key, error);
  return { terminal: false, rowStatus: summary.status };
}

async function importJob(key: Key, type: ImportJob['type'], machine: WatchedMachine): Promise<ImportJob | undefined> {
  const job = await getJob(key);
  if (job && job.type !== type)
    throw new MalformedExecutionEventError(
      `${machine} machine input ${key.pk} / ${key.sk} is not a ${type} (type ${String(job.type)})`,
    );
  return job;
}

/**
 * import-csv: finalize_parent_job's reconciliation with the machine error (every row no batch
 * counted is recorded with the reason), the job FAILED and, if a ZIP parent waits on it,
 * SendTaskFailure on its token. A job that already ended but still holds a token (its
 * delivery never got through) only gets its outcome delivered.
 */
async function failCsvJob(key: Key, error: CaughtError): Promise<FixResult> {
  const job = await importJob(key, ImportRowType.CSV_JOB, 'import-csv');
  if (!job) return { terminal: false, missing: true, rowStatus: 'MISSING' };
  if (isTerminal(job.status)) {
    if (job.taskToken) {
      const delivered = await deliverJobOutcome(job);
      log('warn', 'execution-watch: delivered the outcome of an ended CSV job to its waiting parent', {
        key,
        delivered,
      });
    }
    return { terminal: true, rowStatus: String(job.status) };
  }
  const outcome = await reconcileAndComplete(key, { machineError: `${error.Error}: ${error.Cause}` });
  return { terminal: false, rowStatus: outcome.status };
}

/** import-zip: finalize_zip_job with the machine error. */
async function failZipJob(key: Key, error: CaughtError): Promise<FixResult> {
  const job = await importJob(key, ImportRowType.ZIP_JOB, 'import-zip');
  if (!job) return { terminal: false, missing: true, rowStatus: 'MISSING' };
  if (isTerminal(job.status)) return { terminal: true, rowStatus: String(job.status) };
  const outcome = await finalizeZipJob({ pk: key.pk, sk: key.sk, error });
  return { terminal: false, rowStatus: outcome.status };
}

const TABLE_OF: Record<WatchedMachine, string> = {
  command: 'commands',
  'command-wait': 'commands',
  task: 'tasks',
  'import-csv': 'import_tmp',
  'import-zip': 'import_tmp',
};

/**
 * Handle one EventBridge event (already JSON-parsed). Throws MalformedExecutionEventError /
 * UnknownStateMachineError for events it cannot act on, and any AWS error (to be retried).
 */
export async function handleExecutionEvent(value: unknown): Promise<WatchOutcome> {
  const { detail } = parseExecutionEvent(value);
  const machine = machineOf(detail.stateMachineArn);
  if (!isWatchedStatus(detail.status)) {
    log('warn', 'execution-watch: status not watched, ignored', {
      machine,
      executionArn: detail.executionArn,
      status: detail.status,
    });
    return {
      kind: 'ignored',
      machine,
      status: detail.status,
      reason: `status ${detail.status} is not one of ${WATCHED_STATUSES.join(', ')}`,
    };
  }
  const key = await executionKey(detail);
  const reason = executionFailureReason(machine, detail);
  const error: CaughtError = { Error: ERROR_NAME[detail.status], Cause: reason };

  let fix: FixResult;
  switch (machine) {
    case 'command':
    case 'command-wait':
      fix = await failCommand(key, detail, error);
      break;
    case 'task':
      fix = await failTask(key, error);
      break;
    case 'import-csv':
      fix = await failCsvJob(key, error);
      break;
    case 'import-zip':
      fix = await failZipJob(key, error);
      break;
  }

  if (fix.terminal) {
    log('info', 'execution-watch: row already terminal, nothing to do', {
      machine,
      key,
      rowStatus: fix.rowStatus,
      executionArn: detail.executionArn,
      status: detail.status,
    });
    return { kind: 'already-terminal', machine, key, rowStatus: fix.rowStatus };
  }
  await publishAlarm({
    kind: 'execution-ended',
    machine,
    stateMachineArn: detail.stateMachineArn,
    executionArn: detail.executionArn,
    executionName: detail.name,
    status: detail.status,
    table: TABLE_OF[machine],
    pk: key.pk,
    sk: key.sk,
    rowStatus: fix.rowStatus,
    error: fix.missing ? `${reason}; the ${TABLE_OF[machine]} row ${key.pk} / ${key.sk} does not exist` : reason,
  });
  if (fix.missing) {
    log('error', "execution-watch: the execution's row does not exist", {
      machine,
      key,
      executionArn: detail.executionArn,
      status: detail.status,
    });
    return { kind: 'row-missing', machine, key };
  }
  log('warn', 'execution-watch: row failed for an execution that ended without its failure path', {
    machine,
    key,
    executionArn: detail.executionArn,
    status: detail.status,
    rowStatus: fix.rowStatus,
  });
  return { kind: 'failed', machine, key, rowStatus: fix.rowStatus, reason };
}

/**
 * The message body: the raw EventBridge event (SQS target). An SNS envelope
 * (`{ Type: "Notification", Message }`) is unwrapped too, in case the events are fanned out via a topic.
 */
export function decodeExecutionMessage(record: SqsRecord): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    throw new MalformedExecutionEventError(`message ${record.messageId} is not JSON`);
  }
  if (isRecord(parsed) && parsed.Type === 'Notification' && typeof parsed.Message === 'string') {
    try {
      return JSON.parse(parsed.Message);
    } catch {
      throw new MalformedExecutionEventError(`message ${record.messageId}: SNS Message is not JSON`);
    }
  }
  return parsed;
}

/**
 * SQS `execution-events` (EventBridge execution events) and `command-stream-failures` (the
 * commands stream's on-failure records): each record on its own; failed ones (malformed,
 * unknown machine, or an AWS error) are returned in `batchItemFailures` so they are retried and
 * then land in the DLQ. (shared/sqs processSqsBatch is not used: it decodes action messages,
 * and these have no `action`.)
 */
export async function executionWatch(event: SqsEvent): Promise<BatchResponse> {
  const batchItemFailures: BatchResponse['batchItemFailures'] = [];
  for (const record of event.Records ?? []) {
    try {
      const message = decodeExecutionMessage(record);
      const outcome = isStreamFailureRecord(message)
        ? await handleStreamFailure(message)
        : await handleExecutionEvent(message);
      log('debug', 'execution-watch: message handled', { messageId: record.messageId, outcome });
    } catch (err) {
      log('error', 'execution-watch: message failed', {
        messageId: record.messageId,
        error: describeError(err),
        body: truncate(record.body ?? '', 2000),
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
