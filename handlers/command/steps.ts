import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { requirePositiveNumber, stringListEnv, tables } from '../shared/env';
import { isConditionalCheckFailed, NamedError, truncate } from '../../core/errors';
import { dataKey, parseCommandSk } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm } from '../shared/notify';
import { runRecordedStep } from '../shared/step-status';
import {
  COMMAND_BOOKKEEPING_FIELDS,
  COMMAND_FAILED_STATUS,
  CommandResult,
  StepPhase,
  stepStatus,
} from '../../core/status';
import { isRecord, requireKey, stateName, type CaughtError, type Key, type StepEvent } from '../../core/types';
import {
  claimAndResume,
  commandKeyOf,
  evaluateVersion,
  getDataRow,
  releaseSuccessor,
  requireCommand,
  type CommandRow,
} from './model';

/** The object flowing through the command machine: `{ pk, sk }` plus what steps add. */
export interface CommandStateInput {
  pk: string;
  sk: string;
  result?: number;
  reason?: string;
  waitingOn?: number;
  targets?: Array<{ target: string }>;
  error?: CaughtError;
  [key: string]: unknown;
}

export interface SyncItemInput {
  pk: string;
  sk: string;
  target: string;
}

/** Built-in sync target name (the `data` read model). */
export const DATA_TARGET = 'data';

/** Attributes of a command row that are workflow bookkeeping, not part of the command's data (one list, in core/). */
const INTERNAL_FIELDS = new Set(COMMAND_BOOKKEEPING_FIELDS);

function publicFields(row: CommandRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!INTERNAL_FIELDS.has(k)) out[k] = v;
  return out;
}

/** Test seam around the token write of wait_prev_command (used to force the race orderings in tests). */
export interface WaitHooks {
  beforeTokenStore?: (key: Key) => Promise<void>;
  afterTokenStore?: (key: Key) => Promise<void>;
}
export const waitHooks: WaitHooks = {};

function withoutError(input: CommandStateInput): CommandStateInput {
  const rest = { ...input };
  delete rest.error;
  return rest;
}

// ---------------------------------------------------------------- check_version

async function checkVersion(input: CommandStateInput): Promise<CommandStateInput> {
  const row = await requireCommand(input);
  const check = await evaluateVersion(row.pk, row.code, Number(row.version));
  const out: CommandStateInput = { ...withoutError(input), result: check.result };
  delete out.reason;
  delete out.waitingOn;
  if (check.reason) out.reason = check.reason;
  if (check.waitingOn !== undefined) out.waitingOn = check.waitingOn;
  return out;
}

// ---------------------------------------------------------------- wait_prev_command

/**
 * Store the task token on the command row (condition: the row exists and has not ended),
 * then re-check the predecessor. If it already ended — e.g. it finished between our
 * check_version and the token write, so its finish found no token — resume ourselves.
 * The token is removed with a conditional update before sending, so exactly one of
 * {this re-check, the predecessor's finish/mark_failed} sends SendTaskSuccess.
 */
async function waitPrevCommand(input: CommandStateInput, taskToken: string | undefined): Promise<CommandStateInput> {
  if (!taskToken) throw new Error('wait_prev_command needs "taskToken.$": "$$.Task.Token" in its Payload');
  const key = requireKey(input, 'wait_prev_command input');
  const { code, version } = parseCommandSk(key.sk);
  await waitHooks.beforeTokenStore?.(key);
  const now = new Date().toISOString();
  try {
    const stored = await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression:
          'SET taskToken = :t, tokenStoredAt = :now, waitingSince = if_not_exists(waitingSince, :now), #status = :s, #statusAt = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#result)',
        ExpressionAttributeNames: { '#status': 'status', '#statusAt': 'statusAt', '#result': 'result' },
        ExpressionAttributeValues: {
          ':t': taskToken,
          ':now': now,
          ':s': stepStatus('wait_prev_command', StepPhase.STARTED),
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    if (stored.Attributes?.waitingSince === undefined) metrics.versionWaiting();
  } catch (err) {
    if (isConditionalCheckFailed(err))
      throw new NamedError('CommandNotWaitable', `command ${key.pk} / ${key.sk} is missing or already ended`);
    throw err;
  }
  await waitHooks.afterTokenStore?.(key);
  const check = await evaluateVersion(key.pk, code, version);
  if (check.result !== 1) {
    const outcome = await claimAndResume(key, taskToken, check, 'self');
    log('info', 'wait_prev_command re-check: predecessor already ended', { key, outcome, result: check.result });
  }
  return input;
}

// ---------------------------------------------------------------- recheck_prev_command

/**
 * Reached when the wait timed out (HeartbeatSeconds is the re-check interval, TimeoutSeconds
 * the per-wait cap). Drops the dead token and re-evaluates: 0 → go on, 1 → wait again while
 * the total wait (since `waitingSince`) is below COMMAND_MAX_WAIT_SECONDS, otherwise -1 with
 * a reason (→ mark_failed: alarm, FAILED, successor released).
 */
async function recheckPrevCommand(input: CommandStateInput): Promise<CommandStateInput> {
  const maxWaitSeconds = requirePositiveNumber('COMMAND_MAX_WAIT_SECONDS');
  const key = requireKey(input, 'recheck_prev_command input');
  const res = await ddb().send(
    new UpdateCommand({
      TableName: tables.commands(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: 'REMOVE taskToken',
      ConditionExpression: 'attribute_exists(pk)',
      ReturnValues: 'ALL_NEW',
    }),
  );
  const row = res.Attributes as CommandRow;
  const check = await evaluateVersion(row.pk, row.code, Number(row.version));
  const out: CommandStateInput = { ...withoutError(input), result: check.result };
  delete out.reason;
  delete out.waitingOn;
  if (check.result !== 1) metrics.versionWaitEnded(row.waitingSince, 'recheck_prev_command');
  if (check.result === 1) {
    const since = Date.parse(String(row.waitingSince ?? '')) || Date.now();
    const waited = (Date.now() - since) / 1000;
    if (waited >= maxWaitSeconds) {
      metrics.versionWaitEnded(row.waitingSince, 'recheck_prev_command');
      out.result = -1;
      out.reason = `gave up after waiting ${Math.round(waited)}s (COMMAND_MAX_WAIT_SECONDS=${maxWaitSeconds}) for version ${check.waitingOn} of ${row.code}`;
    } else {
      out.waitingOn = check.waitingOn;
    }
  } else if (check.reason) {
    out.reason = check.reason;
  }
  return out;
}

// ---------------------------------------------------------------- set_ttl_command

/** How many superseded versions below this one get a TTL at most (normally just version - 1). */
const TTL_SCAN = 10;

/**
 * TTL only on versions <= data.version. check_version still reads every row above
 * data.version, where a missing row means "not arrived yet", so expiring a FAILED version
 * up there (this version may fail before it is applied) would make every later version wait
 * for it until COMMAND_MAX_WAIT_SECONDS: the entity would be stuck. Those rows get their TTL
 * from the next version that runs once data has passed them. The rows <= data.version have
 * all ended (this version passed check_version), and a missing row at data.version counts
 * as ended (evaluateVersion), so expiring them is safe.
 */
async function setTtlCommand(input: CommandStateInput): Promise<CommandStateInput> {
  const ttlSeconds = requirePositiveNumber('COMMAND_TTL_SECONDS');
  const key = requireKey(input, 'set_ttl_command input');
  const { code, version } = parseCommandSk(key.sk);
  const ttl = Math.floor(Date.now() / 1000) + Math.floor(ttlSeconds);
  const dataVersion = Number((await getDataRow(key.pk, code))?.version ?? 0);
  let updated = 0;
  for (let v = Math.min(version - 1, dataVersion); v >= Math.max(1, version - TTL_SCAN); v--) {
    try {
      await ddb().send(
        new UpdateCommand({
          TableName: tables.commands(),
          Key: commandKeyOf(key.pk, code, v),
          UpdateExpression: 'SET #ttl = :ttl, supersededBy = :by',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#ttl)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':ttl': ttl, ':by': version },
        }),
      );
      updated++;
    } catch (err) {
      if (isConditionalCheckFailed(err)) break; // missing, or already superseded earlier: older ones are done too
      throw err;
    }
  }
  return { ...withoutError(input), supersededCount: updated };
}

// ---------------------------------------------------------------- history_copy

async function historyCopy(input: CommandStateInput): Promise<CommandStateInput> {
  const row = await requireCommand(input);
  await ddb().send(
    new PutCommand({
      TableName: tables.history(),
      Item: {
        ...publicFields(row),
        pk: row.pk,
        sk: row.sk,
        version: Number(row.version),
        appliedAt: new Date().toISOString(),
      },
    }),
  );
  return input;
}

// ---------------------------------------------------------------- transform_data

async function transformData(input: CommandStateInput): Promise<CommandStateInput> {
  const key = requireKey(input, 'transform_data input');
  const registered = stringListEnv('SYNC_TARGETS').filter((t) => t !== DATA_TARGET);
  await ddb().send(
    new UpdateCommand({
      TableName: tables.commands(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: 'SET syncStatus = :empty',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':empty': {} },
    }),
  );
  return { ...input, targets: [{ target: DATA_TARGET }, ...registered.map((target) => ({ target }))] };
}

// ---------------------------------------------------------------- sync_data

/** Built-in read model: the latest version in `data`, written only if newer than what is there. */
async function syncData(input: SyncItemInput): Promise<{ target: string; status: 'FINISHED' }> {
  if (input.target !== DATA_TARGET)
    throw new Error(`sync_data only handles the built-in "${DATA_TARGET}" target, got "${input.target}"`);
  const row = await requireCommand(input);
  const version = Number(row.version);
  try {
    await ddb().send(
      new PutCommand({
        TableName: tables.data(),
        Item: {
          ...publicFields(row),
          ...dataKey(row.pk, row.code),
          code: row.code,
          version,
          commandSk: row.sk,
          updatedAt: new Date().toISOString(),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #version < :v',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':v': version },
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const current = await getDataRow(row.pk, row.code);
    const currentVersion = Number(current?.version);
    // A retry of this step finds its own write (same version), or, if its version has since
    // ended and a later one was written on top, a newer row: the row's own syncStatus.data
    // says this version was written, so succeed without moving the read model back. (The
    // command-step role cannot read `history`, so the command row is the evidence.)
    const alreadyWritten =
      currentVersion === version ||
      (currentVersion > version && isRecord(row.syncStatus) && row.syncStatus[DATA_TARGET] === 'FINISHED');
    if (!alreadyWritten) {
      throw new NamedError(
        'VersionConflict',
        `data ${row.pk} / ${row.code} is at version ${current?.version}, cannot apply version ${version}`,
      );
    }
  }
  await ddb()
    .send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: row.pk, sk: row.sk },
        UpdateExpression: 'SET syncStatus.#t = :s',
        ConditionExpression: 'attribute_exists(syncStatus)',
        ExpressionAttributeNames: { '#t': DATA_TARGET },
        ExpressionAttributeValues: { ':s': 'FINISHED' },
      }),
    )
    .catch((err: unknown) => {
      if (!isConditionalCheckFailed(err)) throw err;
    });
  return { target: DATA_TARGET, status: 'FINISHED' };
}

// ---------------------------------------------------------------- finish

async function finish(input: CommandStateInput): Promise<CommandStateInput> {
  const key = requireKey(input, 'finish input');
  const { code, version } = parseCommandSk(key.sk);
  const now = new Date().toISOString();
  const finished = await ddb().send(
    new UpdateCommand({
      TableName: tables.commands(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: 'SET #result = :r, #status = :s, #statusAt = :now, completedAt = :now REMOVE taskToken',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
      ExpressionAttributeValues: {
        ':r': CommandResult.COMPLETED,
        ':s': stepStatus('finish', StepPhase.FINISHED),
        ':now': now,
      },
      ReturnValues: 'UPDATED_OLD',
    }),
  );
  if (finished.Attributes?.result !== CommandResult.COMPLETED) metrics.commandApplied();
  const released = await releaseSuccessor(key.pk, code, version, `finish:${version}`);
  return { ...withoutError(input), ...(released.resumed ? { resumedVersion: released.resumed } : {}) };
}

// ---------------------------------------------------------------- mark_failed

function failureReason(input: CommandStateInput): string {
  // $.error is written by the Catch that led here, so it is the current failure; `reason`
  // may be a leftover of check_version that travelled unchanged through the wait
  if (isRecord(input.error)) {
    const e = input.error as CaughtError;
    return truncate(`${e.Error ?? 'Error'}: ${e.Cause ?? ''}`, 4000);
  }
  if (typeof input.reason === 'string' && input.reason) return input.reason;
  if (input.result === -1) return 'version conflict';
  return 'command failed';
}

/**
 * A version that already COMPLETED is never turned into a failure, but its execution still
 * ends in `fail` (e.g. finish recorded COMPLETED, then releasing the successor threw): say
 * so on the row. Returns false if the row is not COMPLETED (missing).
 */
async function recordFailureAfterCompletion(key: Key, reason: string, now: string): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression:
          'SET #status = :s, #statusAt = :now, failedAfterCompletion = :reason, failedAfterCompletionAt = :now',
        ConditionExpression: '#result = :completed',
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: {
          ':s': stepStatus('mark_failed', StepPhase.FINISHED),
          ':now': now,
          ':reason': reason,
          ':completed': CommandResult.COMPLETED,
        },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/**
 * status FAILED + result FAILED with the reason, an alarm, and the next version released
 * (resumed if it waits and may now proceed) so a failure never leaves the chain waiting.
 */
async function markFailed(input: CommandStateInput, executionArn?: string): Promise<CommandStateInput> {
  const key = requireKey(input, 'mark_failed input');
  const reason = failureReason(input);
  const now = new Date().toISOString();
  let completed = false;
  try {
    const failed = await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression:
          'SET #result = :r, #status = :s, #statusAt = :now, failedAt = :now, failedReason = :reason REMOVE taskToken',
        // a version that already COMPLETED is never turned into a failure
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#result) OR #result <> :completed)',
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: {
          ':r': CommandResult.FAILED,
          ':s': COMMAND_FAILED_STATUS,
          ':now': now,
          ':reason': reason,
          ':completed': CommandResult.COMPLETED,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    if (failed.Attributes?.result === undefined) metrics.commandFailed();
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    completed = await recordFailureAfterCompletion(key, reason, now);
  }
  await publishAlarm({
    kind: 'command-failed',
    table: 'commands',
    pk: key.pk,
    sk: key.sk,
    state: 'mark_failed',
    executionArn,
    error: completed ? `version already COMPLETED (left COMPLETED); the execution still fails: ${reason}` : reason,
    ...(completed ? { completed: true } : {}),
  });
  // Always, also for a COMPLETED row: its finish may have thrown while releasing the
  // successor. releaseSuccessor is idempotent (a token is claimed before it is sent, so at
  // most one resume), so releasing again is harmless.
  const { code, version } = parseCommandSk(key.sk);
  await releaseSuccessor(key.pk, code, version, `mark_failed:${version}`);
  return { ...input, reason, ...(completed ? { completed: true } : {}) };
}

// ---------------------------------------------------------------- dispatcher

export async function handleCommandStep(event: StepEvent<unknown>): Promise<unknown> {
  const state = stateName(event);
  const executionArn = event.context?.Execution?.Id;
  const raw = event.input;
  const key = requireKey(raw, `${state} input`);
  const input = raw as CommandStateInput;
  switch (state) {
    case 'check_version':
      return runRecordedStep(key, state, () => checkVersion(input), { executionArn });
    case 'wait_prev_command':
      // FINISHED is written by whoever resumes it (claimAndResume), not when the handler returns
      return runRecordedStep(key, state, () => waitPrevCommand(input, event.taskToken ?? event.context?.Task?.Token), {
        executionArn,
        recordFinished: false,
      });
    case 'recheck_prev_command':
      return runRecordedStep(key, state, () => recheckPrevCommand(input), { executionArn });
    case 'set_ttl_command':
      return runRecordedStep(key, state, () => setTtlCommand(input), { executionArn });
    case 'history_copy':
      return runRecordedStep(key, state, () => historyCopy(input), { executionArn });
    case 'transform_data':
      return runRecordedStep(key, state, () => transformData(input), { executionArn });
    case 'sync_data':
      return runRecordedStep(key, state, () => syncData(raw as SyncItemInput), { executionArn });
    case 'finish':
      return runRecordedStep(key, state, () => finish(input), { executionArn, recordFinished: false });
    case 'mark_failed':
      // its final status is FAILED (not mark_failed:FINISHED); a broken mark_failed is caught to `fail`
      return runRecordedStep(key, state, () => markFailed(input, executionArn), {
        executionArn,
        recordFinished: false,
      });
    default:
      throw new Error(`command-step: unknown state "${state}"`);
  }
}
