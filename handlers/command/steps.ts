import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { optionalPositiveNumber, requirePositiveNumber, tables } from '../shared/env';
import { isConditionalCheckFailed, isItemTooLarge, NamedError, truncate } from '../../core/errors';
import {
  COMMAND_BOOKKEEPING_RESERVE_BYTES,
  COMMAND_MINIMAL_REASON_MAX_CHARS,
  COMMAND_REASON_MAX_CHARS,
  COMMAND_ROW_MAX_BYTES,
  dynamoItemBytes,
} from '../../core/limits';
import { dataKey, parseCommandSk } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm } from '../shared/notify';
import { runRecordedStep } from '../shared/step-status';
import {
  COMMAND_BOOKKEEPING_FIELDS,
  CALLS_RUNNING_RESULT,
  COMMAND_FAILED_STATUS,
  CommandError,
  CommandResult,
  CommandRunOutcome,
  StepPhase,
  stepStatus,
  SyncTargetStatus,
} from '../../core/status';
import { isRecord, requireKey, stateName, type CaughtError, type Key, type StepEvent } from '../../core/types';
import {
  answersWaiter,
  callsRunningCause,
  claimAndResume,
  commandKeyOf,
  evaluateVersion,
  getCommand,
  getDataRow,
  hasEnded,
  releaseSuccessor,
  requireCommand,
  type CommandRow,
  type VersionCheck,
} from './model';
import {
  CALL_END_MARGIN_SECONDS,
  callsEndBy,
  DATA_TARGET,
  failedItem,
  syncFailureReason,
  syncOutcomes,
  syncStatusMap,
  syncTargetNames,
} from './sync-outcomes';

/** The object flowing through the command machine: `{ pk, sk }` plus what steps add. */
export interface CommandStateInput {
  pk: string;
  sk: string;
  result?: number;
  reason?: string;
  waitingOn?: number;
  targets?: Array<{ target: string }>;
  error?: CaughtError;
  /** Set by the command-wait machine's run_command: this run follows a wait, so `waitingSince` does not defer it. */
  waited?: boolean;
  /**
   * Result 2: the caught PredecessorCallsRunning (`{ Error, Cause }`, Cause a JSON
   * CallsRunningCause), or the same shape from check_version / recheck_prev_command; the
   * definitions parse it and wait until its `callsEndBy`.
   */
  callsRunning?: unknown;
  /** How the EXPRESS run ended (finish, mark_failed, already_ended; Pass states for the others). */
  outcome?: CommandRunOutcome;
  [key: string]: unknown;
}

export interface SyncItemInput {
  pk: string;
  sk: string;
  target: string;
}

export { DATA_TARGET } from './sync-outcomes';

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

/** A step reached for a version that has already ended (a stray retry, a stopped execution's late call, a redrive). */
export class VersionAlreadyEndedError extends NamedError {
  constructor(key: Key, result: unknown) {
    super(
      CommandError.VERSION_ALREADY_ENDED,
      `command ${key.pk} / ${key.sk} has already ended (${String(result)}); nothing is changed`,
    );
  }
}

function withoutError(input: CommandStateInput): CommandStateInput {
  const rest = { ...input };
  delete rest.error;
  return rest;
}

/** The state output for a version check: result, reason, waitingOn and, for result 2, callsRunning. */
function checkOutput(input: CommandStateInput, check: VersionCheck): CommandStateInput {
  const out: CommandStateInput = { ...withoutError(input), result: check.result };
  delete out.reason;
  delete out.waitingOn;
  delete out.callsRunning;
  if (check.reason) out.reason = check.reason;
  if (check.waitingOn !== undefined) out.waitingOn = check.waitingOn;
  const cause = callsRunningCause(check);
  if (cause) {
    out.result = CALLS_RUNNING_RESULT;
    out.callsRunning = { Error: CommandError.PREDECESSOR_CALLS_RUNNING, Cause: JSON.stringify(cause) };
  }
  return out;
}

// ---------------------------------------------------------------- check_version

/**
 * A row that leaves less than the bookkeeping reserve free could not record how its version
 * ended (nor be copied to history/data with their own fields): refuse it up front (-1, so it
 * ends FAILED with the reason and releases its successor) instead of failing half-way.
 */
function oversizeReason(row: CommandRow): string | undefined {
  const bytes = dynamoItemBytes(publicFields(row));
  if (bytes <= COMMAND_ROW_MAX_BYTES) return undefined;
  return `command row is ${bytes} bytes, over the ${COMMAND_ROW_MAX_BYTES}-byte limit (DynamoDB's 400 KB item limit less ${COMMAND_BOOKKEEPING_RESERVE_BYTES} bytes the workflow needs to record the outcome): not applied; publish large values as attributes (the client offloads them to S3)`;
}

async function checkVersion(input: CommandStateInput): Promise<CommandStateInput> {
  const row = await requireCommand(input);
  if (hasEnded(row)) throw new VersionAlreadyEndedError(input, row.result);
  const tooLarge = oversizeReason(row);
  if (tooLarge) {
    const out: CommandStateInput = { ...withoutError(input), result: -1, reason: tooLarge };
    delete out.waitingOn;
    return out;
  }
  if (row.waitingSince !== undefined && input.waited !== true) {
    // A command-wait execution has taken this version on (a redelivered stream record runs it
    // again): leave it to that execution, which its predecessor's release or its own re-check
    // resumes. Running it here too would be safe (the sync lease), but would spend a second run.
    const out: CommandStateInput = {
      ...withoutError(input),
      result: 1,
      reason: 'waiting in its command-wait execution',
    };
    delete out.waitingOn;
    return out;
  }
  return checkOutput(input, await evaluateVersion(row.pk, row.code, Number(row.version)));
}

/** A conditional write on the row failed: an ended version says so by name, anything else cannot wait. */
async function notWaitable(key: Key): Promise<Error> {
  const row = await getCommand(key);
  if (hasEnded(row)) return new VersionAlreadyEndedError(key, row?.result);
  return new NamedError('CommandNotWaitable', `command ${key.pk} / ${key.sk} is missing`);
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
    if (isConditionalCheckFailed(err)) throw await notWaitable(key);
    throw err;
  }
  await waitHooks.afterTokenStore?.(key);
  const check = await evaluateVersion(key.pk, code, version);
  if (answersWaiter(check)) {
    const outcome = await claimAndResume(key, taskToken, check, 'self');
    log('info', 'wait_prev_command re-check: predecessor already ended', {
      key,
      outcome,
      result: check.result,
      ...(check.callsEndBy !== undefined ? { callsEndBy: check.callsEndBy } : {}),
    });
  }
  return input;
}

// ---------------------------------------------------------------- recheck_prev_command

/**
 * Reached when the wait timed out (HeartbeatSeconds is the re-check interval, TimeoutSeconds
 * the per-wait cap), or after waiting out a predecessor's `callsEndBy`. Drops the dead token
 * and re-evaluates: 0 → go on, 2 → wait until the ended predecessors' calls end, 1 → wait
 * again while the total wait (since `waitingSince`) is below COMMAND_MAX_WAIT_SECONDS,
 * otherwise -1 with a reason (→ mark_failed: alarm, FAILED, successor released).
 */
async function recheckPrevCommand(input: CommandStateInput): Promise<CommandStateInput> {
  const maxWaitSeconds = requirePositiveNumber('COMMAND_MAX_WAIT_SECONDS');
  const key = requireKey(input, 'recheck_prev_command input');
  let row: CommandRow;
  try {
    const res = await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'REMOVE taskToken',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#result)',
        ExpressionAttributeNames: { '#result': 'result' },
        ReturnValues: 'ALL_NEW',
      }),
    );
    row = res.Attributes as CommandRow;
  } catch (err) {
    if (isConditionalCheckFailed(err)) throw await notWaitable(key);
    throw err;
  }
  const check = await evaluateVersion(row.pk, row.code, Number(row.version));
  const out = checkOutput(input, check);
  if (check.result !== 1) metrics.versionWaitEnded(row.waitingSince, 'recheck_prev_command');
  // result 2 (only ended versions' calls may still run) ends by itself: not capped
  if (out.result === 1) {
    const since = Date.parse(String(row.waitingSince ?? '')) || Date.now();
    const waited = (Date.now() - since) / 1000;
    if (waited >= maxWaitSeconds) {
      metrics.versionWaitEnded(row.waitingSince, 'recheck_prev_command');
      out.result = -1;
      out.reason = `gave up after waiting ${Math.round(waited)}s (COMMAND_MAX_WAIT_SECONDS=${maxWaitSeconds}) for version ${check.waitingOn} of ${row.code}`;
      delete out.waitingOn;
    } else {
      delete out.reason;
    }
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

/** History rows are written once and never changed: a retried or re-driven copy finds its row and leaves it. */
async function historyCopy(input: CommandStateInput): Promise<CommandStateInput> {
  const row = await requireCommand(input);
  if (hasEnded(row)) throw new VersionAlreadyEndedError(input, row.result);
  try {
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
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
  }
  return input;
}

// ---------------------------------------------------------------- transform_data

/** Another run of the same version holds the sync: its calls may still start until `until` (epoch s). */
export class SyncHeldError extends NamedError {
  constructor(
    key: Key,
    readonly holder: string,
    readonly until: number | undefined,
  ) {
    super(
      CommandError.SYNC_HELD,
      `the sync of ${key.pk} / ${key.sk} is held by run ${holder}${until ? ` until ${new Date(until * 1000).toISOString()}` : ''}`,
    );
  }
}

/**
 * Lists the targets and claims the sync for this run — the one write of this step:
 * `syncStartedAt` (from here on a version that ends without a result from every target may
 * have calls still running, and mark_failed makes its successor wait them out), `syncRunId`
 * (the execution that may call the targets) and, on the EXPRESS path, `syncCallsStartBy`:
 * an EXPRESS run is stopped by its TimeoutSeconds (COMMAND_RUN_TIMEOUT_SECONDS), so no call of
 * this run can start later than now + that timeout.
 *
 * The claim is a lease. EXPRESS runs are at-least-once and a second run of the same version
 * starts when its first caller died, so two runs may reach this step; only the holder calls
 * the targets, so finish (which releases the successor) runs only after every call of the
 * version has returned. Another run finding a live lease stops here (SyncHeldByAnotherRun:
 * its caller waits and runs again). Once the lease has passed `syncCallsStartBy`, its holder
 * is gone and a new run takes over, recording that the old holder's calls may run until
 * `syncCallsStartBy` + the longest target timeout (`callsEndBy`: the successor waits for it).
 * A STANDARD execution holds its lease for good: it is the only execution of its version.
 * Conditional on the version not having ended, so no target is called for an ended version.
 */
async function transformData(input: CommandStateInput, runId: string): Promise<CommandStateInput> {
  const key = requireKey(input, 'transform_data input');
  const targets = syncTargetNames();
  const runTimeout = optionalPositiveNumber('COMMAND_RUN_TIMEOUT_SECONDS');
  const nowMs = Date.now();
  const startBy = runTimeout === undefined ? undefined : Math.ceil(nowMs / 1000) + Math.ceil(runTimeout);
  const lease = {
    set: `syncStartedAt = if_not_exists(syncStartedAt, :now), syncRunId = :run${startBy === undefined ? '' : ', syncCallsStartBy = :startBy'}`,
    values: {
      ':now': new Date(nowMs).toISOString(),
      ':run': runId,
      ...(startBy === undefined ? {} : { ':startBy': startBy }),
    },
  };
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: `SET ${lease.set}`,
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(#result) AND (attribute_not_exists(syncRunId) OR syncRunId = :run)',
        ExpressionAttributeNames: { '#result': 'result' },
        ExpressionAttributeValues: lease.values,
      }),
    );
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    await takeOverSync(key, runId, lease, targets, nowMs);
  }
  return { ...input, targets: targets.map((target) => ({ target })) };
}

/** The claim found another holder: take an expired lease over, or say who holds it. */
async function takeOverSync(
  key: Key,
  runId: string,
  lease: { set: string; values: Record<string, unknown> },
  targets: readonly string[],
  nowMs: number,
): Promise<void> {
  const row = await getCommand(key);
  if (!row || hasEnded(row)) throw new VersionAlreadyEndedError(key, row ? row.result : 'missing');
  const holder = String(row.syncRunId);
  const heldUntil = typeof row.syncCallsStartBy === 'number' ? row.syncCallsStartBy : undefined;
  // the margin covers clocks that differ a little between the holder's host and this one
  if (heldUntil === undefined || (heldUntil + CALL_END_MARGIN_SECONDS) * 1000 > nowMs)
    throw new SyncHeldError(key, holder, heldUntil);
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: `SET ${lease.set}, callsEndBy = :endBy`,
        ConditionExpression: 'attribute_not_exists(#result) AND syncRunId = :holder AND syncCallsStartBy = :heldUntil',
        ExpressionAttributeNames: { '#result': 'result' },
        ExpressionAttributeValues: {
          ...lease.values,
          ':holder': holder,
          ':heldUntil': heldUntil,
          // the old holder's calls started before heldUntil; none runs longer than its target's timeout
          ':endBy': Math.max(callsEndBy(targets, heldUntil * 1000) ?? 0, Number(row.callsEndBy) || 0),
        },
      }),
    );
    log('warn', 'transform_data: took over the sync of a run that is gone', { key, from: holder, to: runId });
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const now = await getCommand(key);
    if (hasEnded(now)) throw new VersionAlreadyEndedError(key, now?.result);
    throw new SyncHeldError(key, String(now?.syncRunId), Number(now?.syncCallsStartBy) || undefined);
  }
}

// ---------------------------------------------------------------- sync_data

/**
 * Built-in read model: the latest version in `data`, written only over an older one, so a
 * retried, late or re-driven call can never put an older version over a newer one. What it
 * did is recorded by finish / mark_failed from the Map's result (`syncStatus.data`).
 */
async function syncData(input: SyncItemInput): Promise<{ target: string; status: 'FINISHED' }> {
  if (input.target !== DATA_TARGET)
    throw new Error(`sync_data only handles the built-in "${DATA_TARGET}" target, got "${input.target}"`);
  const row = await requireCommand(input);
  if (hasEnded(row)) throw new VersionAlreadyEndedError(input, row.result);
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
    // a retry of this call finds its own write; anything newer means this version lost its turn
    if (Number(current?.version) !== version) {
      throw new NamedError(
        'VersionConflict',
        `data ${row.pk} / ${row.code} is at version ${current?.version}, cannot apply version ${version}`,
      );
    }
  }
  return { target: DATA_TARGET, status: SyncTargetStatus.FINISHED };
}

/** `sync_failed`: the caught error of one sync item as a small item result (no write). */
function syncFailed(input: Record<string, unknown>): ReturnType<typeof failedItem> {
  return failedItem(input.error);
}

// ---------------------------------------------------------------- bounded row writes

type RowUpdate = Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>;

/**
 * Update the command row with `full`; if DynamoDB refuses it because the row would exceed
 * 400 KB (a row written past COMMAND_ROW_MAX_BYTES by something other than the client), with
 * `minimal`, which records only what successors need and removes the workflow's own
 * bookkeeping to make room. A ConditionalCheckFailed is the caller's to interpret.
 */
async function updateRowFitting(key: Key, full: RowUpdate, minimal: RowUpdate): Promise<void> {
  const send = (update: RowUpdate) =>
    ddb().send(new UpdateCommand({ TableName: tables.commands(), Key: { pk: key.pk, sk: key.sk }, ...update }));
  try {
    await send(full);
  } catch (err) {
    if (!isItemTooLarge(err)) throw err;
    log('warn', 'command row too full for the outcome record: writing the minimal one', { key });
    await send(minimal);
  }
}

/** The bookkeeping a full row loses to make room for the minimal outcome record. */
const BOOKKEEPING_DROPPED_WHEN_FULL = 'lastError, #status, #statusAt, syncStatus, failedAfterCompletion';

// ---------------------------------------------------------------- finish

/**
 * COMPLETED, with what each target did, then the next version is released. A failed sync
 * item fails the version instead (SyncTargetFailed → mark_failed). Conditional on the version
 * not having ended: a finish still running after execution-watch failed the version (its
 * execution was stopped) changes nothing; a retry after a lost response finds its own result.
 * Conditional, too, on this run still holding the sync lease: the finish of an EXPRESS run
 * that timed out can answer after another run took the lease over, and completing the version
 * then would release the successor while the new holder's calls run (SyncHeldByAnotherRun:
 * the holder ends the version).
 */
async function finish(input: CommandStateInput, runId: string | undefined): Promise<CommandStateInput> {
  const key = requireKey(input, 'finish input');
  const { code, version } = parseCommandSk(key.sk);
  const outcomes = syncOutcomes(input);
  if (outcomes?.some((o) => o.status !== SyncTargetStatus.FINISHED))
    throw new NamedError('SyncTargetFailed', syncFailureReason(outcomes));
  const now = new Date().toISOString();
  // rows whose sync was claimed before the lease existed have no syncRunId
  const holds = runId === undefined ? '' : ' AND (attribute_not_exists(syncRunId) OR syncRunId = :run)';
  const condition = `attribute_exists(pk) AND attribute_not_exists(#result)${holds}`;
  const run = runId === undefined ? {} : { ':run': runId };
  try {
    await updateRowFitting(
      key,
      {
        UpdateExpression: `SET #result = :r, #status = :s, #statusAt = :now, completedAt = :now${outcomes ? ', syncStatus = :sync' : ''} REMOVE taskToken`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: {
          ':r': CommandResult.COMPLETED,
          ':s': stepStatus('finish', StepPhase.FINISHED),
          ':now': now,
          ...run,
          ...(outcomes ? { ':sync': syncStatusMap(outcomes) } : {}),
        },
      },
      {
        UpdateExpression: `SET #result = :r REMOVE taskToken, ${BOOKKEEPING_DROPPED_WHEN_FULL}`,
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: { ':r': CommandResult.COMPLETED, ...run },
      },
    );
    // the write succeeds only where no result was set: counted once per version
    metrics.commandApplied();
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const row = await getCommand(key);
    if (!row) throw new Error(`command ${key.pk} / ${key.sk} not found in ${tables.commands()}`, { cause: err });
    if (!hasEnded(row))
      throw new SyncHeldError(
        key,
        String(row.syncRunId),
        typeof row.syncCallsStartBy === 'number' ? row.syncCallsStartBy : undefined,
      );
    if (row.result !== CommandResult.COMPLETED) throw new VersionAlreadyEndedError(key, row.result);
    // our own earlier attempt wrote it (a lost response): go on to the release
  }
  const released = await releaseSuccessor(key.pk, code, version, `finish:${version}`);
  return {
    ...withoutError(input),
    outcome: CommandRunOutcome.COMPLETED,
    ...(released.resumed ? { resumedVersion: released.resumed } : {}),
  };
}

// ---------------------------------------------------------------- mark_failed

function failureReason(input: CommandStateInput): string {
  // $.error is written by the Catch that led here, so it is the current failure; `reason`
  // may be a leftover of check_version that travelled unchanged through the wait
  if (isRecord(input.error)) {
    const e = input.error as CaughtError;
    return truncate(`${e.Error ?? 'Error'}: ${e.Cause ?? ''}`, COMMAND_REASON_MAX_CHARS);
  }
  if (typeof input.reason === 'string' && input.reason) return truncate(input.reason, COMMAND_REASON_MAX_CHARS);
  if (input.result === -1) return 'version conflict';
  return 'command failed';
}

/**
 * A version that already COMPLETED is never turned into a failure, but its execution still
 * ends in `fail` (e.g. finish recorded COMPLETED, then releasing the successor threw): say
 * so on the row, once.
 */
async function recordFailureAfterCompletion(key: Key, reason: string, now: string): Promise<void> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression:
          'SET #status = :s, #statusAt = :now, failedAfterCompletion = :reason, failedAfterCompletionAt = :now',
        ConditionExpression: '#result = :completed AND attribute_not_exists(failedAfterCompletion)',
        ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: {
          ':s': stepStatus('mark_failed', StepPhase.FINISHED),
          ':now': now,
          ':reason': reason,
          ':completed': CommandResult.COMPLETED,
        },
      }),
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) return;
    if (isItemTooLarge(err)) {
      log('warn', 'failedAfterCompletion not recorded: the command row is full', { key });
      return;
    }
    throw err;
  }
}

/** The failure record mark_failed writes, and the lease it read (its write is conditional on it). */
interface FailureRecord {
  syncStatus?: Record<string, string>;
  callsEndBy?: number;
  /** A condition that holds while the lease is as this record was computed from. */
  lease: { condition: string; values: Record<string, unknown> };
}

/** The lease fields of `row` as a condition: a run that claims or takes over the sync meanwhile fails it. */
function leaseAsRead(row: CommandRow | undefined): FailureRecord['lease'] {
  if (!row) return { condition: 'attribute_exists(pk)', values: {} };
  if (row.syncRunId === undefined) return { condition: 'attribute_not_exists(syncRunId)', values: {} };
  const startBy = row.syncCallsStartBy;
  return typeof startBy === 'number'
    ? {
        condition: 'syncRunId = :leaseRun AND syncCallsStartBy = :leaseStartBy',
        values: { ':leaseRun': row.syncRunId, ':leaseStartBy': startBy },
      }
    : {
        condition: 'syncRunId = :leaseRun AND attribute_not_exists(syncCallsStartBy)',
        values: { ':leaseRun': row.syncRunId },
      };
}

/**
 * What is known of the targets when the version fails, from the row as it is now:
 * - this run held the sync and its Map ended (`$.sync`): what each target did; calls that
 *   came back with a service error may still run (from now on);
 * - the sync was claimed (`syncStartedAt`) but this run has no result of its own from the
 *   holder (its execution was stopped, the Map failed, another run holds or took over the
 *   sync, execution-watch records it): every target is UNKNOWN, and any call may run until its
 *   function's timeout after the last moment the holder could start one;
 * - no sync claimed: nothing.
 * A `callsEndBy` already on the row (a takeover's: the old holder's calls) is never shortened.
 * The lease read is returned too: a run that claims the sync between this read and the write
 * (a duplicate EXPRESS run, or one whose caller the stream gave up on) would call the targets
 * unseen, so the write is conditional on it and computed again if it moved.
 */
async function failureRecord(
  key: Key,
  input: CommandStateInput,
  nowMs: number,
  runId: string | undefined,
): Promise<FailureRecord> {
  const row = await getCommand(key);
  const lease = leaseAsRead(row);
  if (!row || hasEnded(row)) return { lease };
  const earlier = Number(row.callsEndBy) || 0;
  const outcomes = syncOutcomes(input);
  if (outcomes && runId !== undefined && (row.syncRunId === undefined || row.syncRunId === runId)) {
    const endBy = callsEndBy(
      outcomes.filter((o) => o.mayStillRun).map((o) => o.target),
      nowMs,
    );
    return { syncStatus: syncStatusMap(outcomes), callsEndBy: Math.max(endBy ?? 0, earlier) || undefined, lease };
  }
  if (row.syncStartedAt === undefined) return { lease };
  const targets = syncTargetNames();
  // An EXPRESS holder may still start calls until syncCallsStartBy (it may outlive this
  // failure: nothing stops an EXPRESS run early); a STANDARD execution starts none after now.
  const startBy = Number(row.syncCallsStartBy);
  const lastStartMs = Number.isFinite(startBy) ? Math.max(nowMs, startBy * 1000) : nowMs;
  return {
    syncStatus: Object.fromEntries(targets.map((t) => [t, SyncTargetStatus.UNKNOWN])),
    callsEndBy: Math.max(callsEndBy(targets, lastStartMs) ?? 0, earlier) || undefined,
    lease,
  };
}

/** How often mark_failed computes its record again when the sync lease moved under it. */
const MARK_FAILED_LEASE_ATTEMPTS = 3;

/**
 * result FAILED with the reason (and what each target did), an alarm, and the next version
 * released — resumed if it waits and may now proceed, which it may only once no call of this
 * version can still be running (`callsEndBy`; until then its own re-check keeps it waiting).
 * Conditional on the version not having ended: the first outcome and reason stay.
 */
async function markFailed(input: CommandStateInput, executionArn?: string): Promise<CommandStateInput> {
  const key = requireKey(input, 'mark_failed input');
  const reason = failureReason(input);
  const condition = 'attribute_exists(pk) AND attribute_not_exists(#result)';
  let completed = false;
  for (let attempt = 1; ; attempt++) {
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const { syncStatus, callsEndBy: endBy, lease } = await failureRecord(key, input, nowMs, executionArn);
    try {
      await updateRowFitting(
        key,
        {
          UpdateExpression: `SET #result = :r, #status = :s, #statusAt = :now, failedAt = :now, failedReason = :reason${syncStatus ? ', syncStatus = :sync' : ''}${endBy ? ', callsEndBy = :endBy' : ''} REMOVE taskToken`,
          ConditionExpression: `${condition} AND ${lease.condition}`,
          ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
          ExpressionAttributeValues: {
            ':r': CommandResult.FAILED,
            ':s': COMMAND_FAILED_STATUS,
            ':now': now,
            ':reason': reason,
            ...lease.values,
            ...(syncStatus ? { ':sync': syncStatus } : {}),
            ...(endBy ? { ':endBy': endBy } : {}),
          },
        },
        {
          UpdateExpression: `SET #result = :r, failedReason = :reason${endBy ? ', callsEndBy = :endBy' : ''} REMOVE taskToken, ${BOOKKEEPING_DROPPED_WHEN_FULL}`,
          ConditionExpression: `${condition} AND ${lease.condition}`,
          ExpressionAttributeNames: { '#result': 'result', '#status': 'status', '#statusAt': 'statusAt' },
          ExpressionAttributeValues: {
            ':r': CommandResult.FAILED,
            ':reason': truncate(reason, COMMAND_MINIMAL_REASON_MAX_CHARS),
            ...lease.values,
            ...(endBy ? { ':endBy': endBy } : {}),
          },
        },
      );
      metrics.commandFailed(); // the write succeeds only where no result was set: counted once
      break;
    } catch (err) {
      if (!isConditionalCheckFailed(err)) throw err;
      const row = await getCommand(key);
      if (row && !hasEnded(row)) {
        // the sync lease moved between our read and our write: compute the record again
        if (attempt < MARK_FAILED_LEASE_ATTEMPTS) continue;
        throw new Error(`the sync lease of ${key.pk} / ${key.sk} kept changing while mark_failed recorded it`, {
          cause: err,
        });
      }
      if (row?.result === CommandResult.COMPLETED) {
        completed = true;
        await recordFailureAfterCompletion(key, reason, now);
      }
      // FAILED already: the first outcome and reason stay; missing: nothing to record
      break;
    }
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
  // Always, also for an ended row: its finish may have thrown while releasing the successor.
  // releaseSuccessor is idempotent (a token is claimed before it is sent, so at most one
  // resume), so releasing again is harmless.
  const { code, version } = parseCommandSk(key.sk);
  await releaseSuccessor(key.pk, code, version, `mark_failed:${version}`);
  return {
    ...input,
    reason,
    outcome: completed ? CommandRunOutcome.COMPLETED : CommandRunOutcome.FAILED,
    ...(completed ? { completed: true } : {}),
  };
}

// ---------------------------------------------------------------- already_ended

/**
 * EXPRESS path: a run found its version already ended (a duplicate run, a redelivered stream
 * record). The run that ended it may have died before releasing the successor, so the release
 * is done again (idempotent: a token is claimed before it is sent).
 */
async function alreadyEnded(input: CommandStateInput): Promise<CommandStateInput> {
  const key = requireKey(input, 'already_ended input');
  const { code, version } = parseCommandSk(key.sk);
  await releaseSuccessor(key.pk, code, version, `already_ended:${version}`);
  return { ...withoutError(input), outcome: CommandRunOutcome.ENDED };
}

// ---------------------------------------------------------------- dispatcher

/** The execution a step runs in: the holder of the sync lease (docs/architecture.md, "Sync lease"). */
function runIdOf(event: StepEvent<unknown>): string {
  const id = event.context?.Execution?.Id;
  if (typeof id !== 'string' || id === '')
    throw new Error('transform_data needs context.Execution.Id ("context.$": "$$")');
  return id;
}

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
      // wait_prev_command:FINISHED is written by whoever resumes it (claimAndResume)
      return runRecordedStep(key, state, () => waitPrevCommand(input, event.taskToken ?? event.context?.Task?.Token), {
        executionArn,
      });
    case 'recheck_prev_command':
      return runRecordedStep(key, state, () => recheckPrevCommand(input), { executionArn });
    case 'set_ttl_command':
      return runRecordedStep(key, state, () => setTtlCommand(input), { executionArn });
    case 'history_copy':
      return runRecordedStep(key, state, () => historyCopy(input), { executionArn });
    case 'transform_data':
      return runRecordedStep(key, state, () => transformData(input, runIdOf(event)), { executionArn });
    case 'sync_data':
      return runRecordedStep(key, state, () => syncData(raw as SyncItemInput), { executionArn });
    case 'sync_failed':
      // no status write: the outcome travels in the Map result to finish / mark_failed
      return syncFailed(input);
    case 'finish':
      return runRecordedStep(key, state, () => finish(input, executionArn), { executionArn });
    case 'mark_failed':
      // a broken mark_failed is caught to `fail`
      return runRecordedStep(key, state, () => markFailed(input, executionArn), { executionArn });
    case 'already_ended':
      return runRecordedStep(key, state, () => alreadyEnded(input), { executionArn });
    default:
      throw new Error(`command-step: unknown state "${state}"`);
  }
}
