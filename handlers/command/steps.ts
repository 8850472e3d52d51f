import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { requirePositiveNumber, stringListEnv, tables } from '../shared/env';
import { isConditionalCheckFailed, NamedError, truncate } from '../shared/errors';
import { dataKey, parseCommandSk } from '../shared/keys';
import { log } from '../shared/log';
import { publishAlarm } from '../shared/notify';
import { runRecordedStep } from '../shared/step-status';
import { COMMAND_FAILED_STATUS, CommandResult, StepPhase, stepStatus } from '../shared/status';
import { isRecord, requireKey, stateName, type CaughtError, type Key, type StepEvent } from '../shared/types';
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

/** Attributes of a command row that are workflow bookkeeping, not part of the command's data. */
const INTERNAL_FIELDS = new Set([
  'status',
  'statusAt',
  'result',
  'taskToken',
  'tokenStoredAt',
  'waitingSince',
  'ttl',
  'resumedAt',
  'resumedBy',
  'lastError',
  'failedReason',
  'failedAt',
  'completedAt',
  'syncStatus',
]);

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
  const { error: _error, ...rest } = input;
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
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression:
          'SET taskToken = :t, tokenStoredAt = :now, waitingSince = if_not_exists(waitingSince, :now), #status = :s, #statusAt = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#result)',
        ExpressionAttributeNames: { '#status': 'status', '#statusAt': 'statusAt', '#result': 'result' },
        ExpressionAttributeValues: { ':t': taskToken, ':now': now, ':s': stepStatus('wait_prev_command', StepPhase.STARTED) },
      }),
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw new NamedError('CommandNotWaitable', `command ${key.pk} / ${key.sk} is missing or already ended`);
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
  if (check.result === 1) {
    const since = Date.parse(String(row.waitingSince ?? '')) || Date.now();
    const waited = (Date.now() - since) / 1000;
    if (waited >= maxWaitSeconds) {
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

async function setTtlCommand(input: CommandStateInput): Promise<CommandStateInput> {
  const ttlSeconds = requirePositiveNumber('COMMAND_TTL_SECONDS');
  const key = requireKey(input, 'set_ttl_command input');
  const { code, version } = parseCommandSk(key.sk);
  const ttl = Math.floor(Date.now() / 1000) + Math.floor(ttlSeconds);
  let updated = 0;
  for (let v = version - 1; v >= Math.max(1, version - TTL_SCAN); v--) {
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
      Item: { ...publicFields(row), pk: row.pk, sk: row.sk, version: Number(row.version), appliedAt: new Date().toISOString() },
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
  if (input.target !== DATA_TARGET) throw new Error(`sync_data only handles the built-in "${DATA_TARGET}" target, got "${input.target}"`);
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
    if (Number(current?.version) !== version) {
      throw new NamedError('VersionConflict', `data ${row.pk} / ${row.code} is at version ${current?.version}, cannot apply version ${version}`);
    }
    // same version already written (a retry of this step): idempotent success
  }
  await ddb().send(
    new UpdateCommand({
      TableName: tables.commands(),
      Key: { pk: row.pk, sk: row.sk },
      UpdateExpression: 'SET syncStatus.#t = :s',
      ConditionExpression: 'attribute_exists(syncStatus)',
      ExpressionAttributeNames: { '#t': DATA_TARGET },
      ExpressionAttributeValues: { ':s': 'FINISHED' },
    }),
  ).catch((err: unknown) => {
    if (!isConditionalCheckFailed(err)) throw err;
  });
  return { target: DATA_TARGET, status: 'FINISHED' };
}

// ---------------------------------------------------------------- finish

async function finish(input: CommandStateInput): Promise<CommandStateInput> {
  const key = requireKey(input, 'finish input');
  const { code, version } = parseCommandSk(key.sk);
  const now = new Date().toISOString();
  await ddb().send(
    new UpdateCommand({
      TableName: tables.commands(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: 'SET #result = :r, #status = :s, #statusAt = :now, completedAt = :now REMOVE taskToken',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
      ExpressionAttributeValues: { ':r': CommandResult.COMPLETED, ':s': stepStatus('finish', StepPhase.FINISHED), ':now': now },
    }),
  );
  const released = await releaseSuccessor(key.pk, code, version, `finish:${version}`);
  return { ...withoutError(input), ...(released.resumed ? { resumedVersion: released.resumed } : {}) };
}

// ---------------------------------------------------------------- mark_failed

function failureReason(input: CommandStateInput): string {
  if (typeof input.reason === 'string' && input.reason) return input.reason;
  if (isRecord(input.error)) {
    const e = input.error as CaughtError;
    return truncate(`${e.Error ?? 'Error'}: ${e.Cause ?? ''}`, 4000);
  }
  if (input.result === -1) return 'version conflict';
  return 'command failed';
}

/**
 * status FAILED + result FAILED with the reason, an alarm, and the next version released
 * (resumed if it waits and may now proceed) so a failure never leaves the chain waiting.
 */
async function markFailed(input: CommandStateInput, executionArn?: string): Promise<CommandStateInput> {
  const key = requireKey(input, 'mark_failed input');
  const reason = failureReason(input);
  const now = new Date().toISOString();
  let recorded = true;
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'SET #result = :r, #status = :s, #statusAt = :now, failedAt = :now, failedReason = :reason REMOVE taskToken',
        // a version that already COMPLETED is never turned into a failure
        ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#result) OR #result <> :completed)',
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: { ':r': CommandResult.FAILED, ':s': COMMAND_FAILED_STATUS, ':now': now, ':reason': reason, ':completed': CommandResult.COMPLETED },
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    recorded = false;
  }
  await publishAlarm({ kind: 'command-failed', table: 'commands', pk: key.pk, sk: key.sk, state: 'mark_failed', executionArn, error: reason });
  if (recorded) {
    const { code, version } = parseCommandSk(key.sk);
    await releaseSuccessor(key.pk, code, version, `mark_failed:${version}`);
  }
  return { ...input, reason };
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
      return runRecordedStep(key, state, () => markFailed(input, executionArn), { executionArn, recordFinished: false });
    default:
      throw new Error(`command-step: unknown state "${state}"`);
  }
}

