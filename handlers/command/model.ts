import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { sfn } from '../shared/aws/sfn';
import { batchGetAll, keyId, type Item } from '../../core/dynamo';
import { tables } from '../shared/env';
import { describeError, isConditionalCheckFailed } from '../../core/errors';
import { commandSk, dataKey, parseCommandSk } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { sendTaskFailure, sendTaskSuccess } from '../../core/sfn';
import { CommandError, CommandResult, StepPhase, stepStatus } from '../../core/status';
import type { Key } from '../../core/types';

/** A row of the `commands` table (docs/architecture.md, data model; `result` etc. are refinements). */
export interface CommandRow {
  pk: string;
  sk: string;
  code: string;
  version: number;
  attributes?: unknown;
  attributesRef?: string;
  status?: string;
  /** COMPLETED after finish, FAILED after mark_failed: the terminal outcome of this version. */
  result?: CommandResult;
  taskToken?: string;
  waitingSince?: string;
  ttl?: number;
  failedReason?: string;
  [key: string]: unknown;
}

export interface DataRow {
  pk: string;
  sk: string;
  version: number;
  [key: string]: unknown;
}

/** 0 = apply now, 1 = an earlier version is in flight (wait), -1 = conflict. */
export type VersionResult = 0 | 1 | -1;

export interface VersionCheck {
  result: VersionResult;
  dataVersion: number;
  /** The earlier version this one waits for (result 1). */
  waitingOn?: number;
  reason?: string;
  /**
   * Result 1 only because earlier versions that have ended may still have sync calls running:
   * the latest of their `callsEndBy` (epoch seconds). Nothing else will release this version,
   * so it waits until then (a Wait state) instead of for a callback.
   */
  callsEndBy?: number;
}

/** How many earlier versions check_version inspects individually (beyond that it keeps waiting). */
export const MAX_GAP_CHECKED = 100;
/** How far finish / mark_failed walk forward over FAILED versions to find a waiting successor. */
export const MAX_RELEASE_SCAN = 25;

export function commandKeyOf(pk: string, code: string, version: number): Key {
  return { pk, sk: commandSk(code, version) };
}

export async function getCommand(key: Key, consistent = true): Promise<CommandRow | undefined> {
  const res = await ddb().send(
    new GetCommand({ TableName: tables.commands(), Key: { pk: key.pk, sk: key.sk }, ConsistentRead: consistent }),
  );
  return res.Item as CommandRow | undefined;
}

export async function requireCommand(key: Key): Promise<CommandRow> {
  const row = await getCommand(key);
  if (!row) throw new Error(`command ${key.pk} / ${key.sk} not found in ${tables.commands()}`);
  return row;
}

export async function getDataRow(pk: string, code: string): Promise<DataRow | undefined> {
  const res = await ddb().send(
    new GetCommand({ TableName: tables.data(), Key: dataKey(pk, code), ConsistentRead: true }),
  );
  return res.Item as DataRow | undefined;
}

/** A version has ended once finish (COMPLETED) or mark_failed (FAILED) recorded its result. */
export function hasEnded(row: { result?: unknown } | undefined): boolean {
  return row?.result === CommandResult.FAILED || row?.result === CommandResult.COMPLETED;
}

/**
 * A later version may go on past this one: it has ended and no call it made to a sync
 * target can still be running (`callsEndBy`, epoch seconds, is set by mark_failed when a
 * call was cut off or lost: a stopped execution, a Lambda service error).
 */
function isSettled(row: { result?: unknown; callsEndBy?: unknown } | undefined, nowMs: number): boolean {
  if (!hasEnded(row)) return false;
  const endBy = Number(row?.callsEndBy);
  return !Number.isFinite(endBy) || endBy * 1000 <= nowMs;
}

/**
 * The check_version rule (strongly consistent reads, so a waiter and a resumer always
 * see each other's committed writes):
 *  -1  version <= data.version (conflict)
 *   0  every version from data.version to version - 1 has ended (FAILED or COMPLETED)
 *   1  one of them has not ended yet (or, above data.version, does not exist yet)
 *
 * The version the data row holds must have ended too: only one item of sync_data_all writes
 * the data row, so that version's registered targets may still be running (and may still
 * fail). Going on earlier would let those targets see versions out of order.
 *
 * Missing rows: above data.version a missing row is a version that has not arrived yet, so
 * it is waited for. At data.version a missing row does not block: the data row proves the
 * version was applied, and its row is gone only because set_ttl_command expired it (which
 * it does only for ended versions <= data.version) or because the data row was written
 * without a command (seeded). Rows below data.version are never read.
 */
export async function evaluateVersion(pk: string, code: string, version: number): Promise<VersionCheck> {
  const data = await getDataRow(pk, code);
  const dataVersion = Number(data?.version ?? 0);
  if (version <= dataVersion) {
    return { result: -1, dataVersion, reason: `version conflict: version ${version} <= data version ${dataVersion}` };
  }
  const lowest = Math.max(dataVersion + 1, version - MAX_GAP_CHECKED);
  const between: Key[] = [];
  for (let v = version - 1; v >= lowest; v--) between.push(commandKeyOf(pk, code, v));
  const applied = dataVersion >= 1 && lowest === dataVersion + 1 ? commandKeyOf(pk, code, dataVersion) : undefined;
  const keys = applied ? [...between, applied] : between;
  const rows = keys.length
    ? await batchGetAll(ddb(), tables.commands(), keys, {
        consistentRead: true,
        projection: ['result', 'status', 'callsEndBy'],
      })
    : new Map<string, Item>();
  const now = Date.now();
  // A version not ended yet is waited for with a callback (its end releases this one); versions
  // that ended but may still have calls running release nobody later, so they are waited out
  // until the latest of their callsEndBy.
  const callsRunning: Array<{ version: number; row: Item | undefined }> = [];
  for (const key of between) {
    const row = rows.get(keyId(key));
    if (isSettled(row, now)) continue;
    const waitingOn = parseCommandSk(key.sk).version;
    if (!hasEnded(row)) return { result: 1, dataVersion, waitingOn };
    callsRunning.push({ version: waitingOn, row });
  }
  if (lowest > dataVersion + 1) {
    return {
      result: 1,
      dataVersion,
      waitingOn: lowest - 1,
      reason: `more than ${MAX_GAP_CHECKED} versions between data and this one`,
    };
  }
  if (applied) {
    const row = rows.get(keyId(applied));
    if (row && !isSettled(row, now)) {
      if (!hasEnded(row)) return { result: 1, dataVersion, waitingOn: dataVersion };
      callsRunning.push({ version: dataVersion, row });
    }
  }
  if (callsRunning.length > 0) {
    const latest = callsRunning.reduce((a, b) => (Number(b.row?.callsEndBy) > Number(a.row?.callsEndBy) ? b : a));
    const endBy = Number(latest.row?.callsEndBy);
    return {
      result: 1,
      dataVersion,
      waitingOn: latest.version,
      reason: callsStillRunning(latest.version, endBy),
      callsEndBy: endBy,
    };
  }
  return { result: 0, dataVersion };
}

function callsStillRunning(version: number, endBy: number): string {
  return `version ${version} has ended, but a call it made to a sync target may run until ${callsEndByTimestamp(endBy)}`;
}

/**
 * `callsEndBy` (epoch seconds) as the timestamp a Wait state's TimestampPath takes: RFC 3339
 * in UTC with whole seconds (rounded up, so the Wait never ends before it).
 */
export function callsEndByTimestamp(endBy: number): string {
  return new Date(Math.ceil(endBy) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * What a version waiting only for its predecessors' calls to end is told (the Cause of
 * PredecessorCallsRunning, and check_version's / recheck_prev_command's `callsRunning` with
 * result 2): a JSON object the definitions parse (States.StringToJson) to wait until
 * `callsEndBy` and then re-check.
 */
export interface CallsRunningCause {
  callsEndBy: string;
  waitingOn: number;
  reason: string;
}

export function callsRunningCause(check: VersionCheck): CallsRunningCause | undefined {
  if (check.result !== 1 || check.callsEndBy === undefined) return undefined;
  return {
    callsEndBy: callsEndByTimestamp(check.callsEndBy),
    waitingOn: Number(check.waitingOn),
    reason: check.reason ?? 'an earlier version may still have sync calls running',
  };
}

export type ClaimOutcome = 'sent' | 'stale' | 'lost';

/**
 * Whether a waiting version is to be answered now: it may go on (0), must fail (-1), or waits
 * only for ended predecessors' calls (told when they end by PredecessorCallsRunning). A
 * predecessor still in flight (plain 1) answers it itself when it ends.
 */
export function answersWaiter(check: VersionCheck): boolean {
  return check.result !== 1 || check.callsEndBy !== undefined;
}

/**
 * Resume a waiting execution exactly once: the caller first removes the token from the row
 * with a condition on its value (only one of several concurrent resumers — the waiter's own
 * re-check and the predecessor's finish/mark_failed — wins), then sends SendTaskSuccess
 * (check 0), SendTaskFailure VersionConflict (check -1) or, when only ended predecessors'
 * calls may still run, SendTaskFailure PredecessorCallsRunning with the time they end by
 * (the execution waits until then in a Wait state and re-checks: no callback will come).
 * 'lost' = someone else claimed / replaced it.
 */
export async function claimAndResume(
  key: Key,
  token: string,
  check: VersionCheck,
  resumedBy: string,
): Promise<ClaimOutcome> {
  const now = new Date().toISOString();
  const callsRunning = callsRunningCause(check);
  let waitingSince: unknown;
  try {
    const claimed = await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'REMOVE taskToken SET #status = :s, #statusAt = :now, resumedAt = :now, resumedBy = :by',
        ConditionExpression: 'taskToken = :t AND attribute_not_exists(#result)',
        ExpressionAttributeNames: { '#status': 'status', '#statusAt': 'statusAt', '#result': 'result' },
        ExpressionAttributeValues: {
          ':t': token,
          ':s': stepStatus('wait_prev_command', check.result === -1 ? StepPhase.FAILED : StepPhase.FINISHED),
          ':now': now,
          ':by': resumedBy,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    waitingSince = claimed.Attributes?.waitingSince;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return 'lost';
    throw err;
  }
  let outcome: ClaimOutcome;
  try {
    outcome = callsRunning
      ? await sendTaskFailure(sfn(), token, CommandError.PREDECESSOR_CALLS_RUNNING, JSON.stringify(callsRunning))
      : check.result === -1
        ? await sendTaskFailure(sfn(), token, 'VersionConflict', check.reason ?? 'version conflict')
        : await sendTaskSuccess(sfn(), token, { resumedBy, dataVersion: check.dataVersion });
  } catch (err) {
    // The send failed (throttled, network) and the waiter may still wait on this token: put it
    // back so the next releaser (mark_failed after a failed finish) can send again instead of
    // finding no token and leaving the waiter until HeartbeatSeconds. A second send to a token
    // that did get through answers stale, so this cannot resume twice.
    await restoreToken(key, token, now, resumedBy);
    throw err;
  }
  // a version sent on to wait out its predecessors' calls is still waiting: its re-check counts the wait
  if (!callsRunning) metrics.versionWaitEnded(waitingSince, resumedBy);
  log('info', 'waiting command resumed', {
    key,
    resumedBy,
    outcome,
    result: check.result,
    ...(callsRunning ? { callsEndBy: callsRunning.callsEndBy } : {}),
  });
  return outcome;
}

/** Undo our claim, only if nothing moved the row on since (no new token, no result, still our claim). */
async function restoreToken(key: Key, token: string, claimedAt: string, resumedBy: string): Promise<void> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'SET taskToken = :t, #status = :s REMOVE resumedAt, resumedBy',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(taskToken) AND attribute_not_exists(#result) AND resumedAt = :at AND resumedBy = :by',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result' },
        ExpressionAttributeValues: {
          ':t': token,
          ':s': stepStatus('wait_prev_command', StepPhase.STARTED),
          ':at': claimedAt,
          ':by': resumedBy,
        },
      }),
    );
  } catch (err) {
    // not restorable (moved on) or the write failed: the waiter's heartbeat re-check still covers it
    if (!isConditionalCheckFailed(err))
      log('error', 'could not restore the task token after a failed send', { key, error: describeError(err) });
  }
}

/**
 * Called by finish and mark_failed of version `version` (and execution-watch, the stream's
 * on-failure, already_ended): find the next version that still has to run (skipping versions
 * that already ended) and, if it is waiting (has a token) and may now proceed, resume it; if
 * it may not yet only because an ended version's calls may still run (`callsEndBy`), tell it
 * when they end (PredecessorCallsRunning), since no later release will come. If it has no
 * token yet it has not stored one: it will re-check after storing it, so nothing is lost.
 */
export async function releaseSuccessor(
  pk: string,
  code: string,
  version: number,
  resumedBy: string,
): Promise<{ resumed?: number; outcome?: ClaimOutcome }> {
  for (let v = version + 1; v <= version + MAX_RELEASE_SCAN; v++) {
    const key = commandKeyOf(pk, code, v);
    let ended = false;
    for (let attempt = 0; attempt < 3 && !ended; attempt++) {
      const row = await getCommand(key);
      if (!row) return {};
      if (hasEnded(row)) {
        ended = true; // this version already ended: look at the next one
        break;
      }
      if (!row.taskToken) return {};
      const check = await evaluateVersion(pk, code, v);
      if (!answersWaiter(check)) return {};
      const outcome = await claimAndResume(key, row.taskToken, check, resumedBy);
      if (outcome !== 'lost') return { resumed: v, outcome };
      // the token changed under us (a re-check stored a new one): read the row again
    }
    if (!ended) return {};
  }
  return {};
}
