import { numberMapEnv, stringListEnv } from '../shared/env';
import { truncate } from '../../core/errors';
import { COMMAND_REASON_MAX_CHARS } from '../../core/limits';
import { SyncTargetStatus } from '../../core/status';
import { isRecord } from '../../core/types';

/** Built-in sync target name (the `data` read model). */
export const DATA_TARGET = 'data';
/** Lambda's longest timeout: how long a call may run when its function's timeout is not configured. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;
/** Added to every call deadline: clocks of two Lambda hosts may differ a little. */
export const CALL_END_MARGIN_SECONDS = 2;
/**
 * Lambda's Init phase of a cold start: at most 10 s, and not part of the function timeout
 * (docs: "Understanding the Lambda execution environment lifecycle"), so a handler invoked at T
 * can run until T + 10 s + its timeout.
 */
export const LAMBDA_INIT_MAX_SECONDS = 10;
/** Longest error text one sync item carries (the Map output holds one per target). */
export const SYNC_ITEM_ERROR_MAX_CHARS = 400;

/** One target's part in a version, as `finish` and `mark_failed` record it (`syncStatus`). */
export interface SyncOutcome {
  target: string;
  status: SyncTargetStatus;
  error?: string;
  /** The call came back with a service error and may still be running. */
  mayStillRun?: boolean;
}

/** `data` plus the registered targets (SYNC_TARGETS), in the order transform_data lists them. */
export function syncTargetNames(): string[] {
  return [DATA_TARGET, ...stringListEnv('SYNC_TARGETS').filter((t) => t !== DATA_TARGET)];
}

/**
 * The configured timeout of a target's function (SYNC_CALL_TIMEOUTS); a target without one
 * gets Lambda's maximum, which is always long enough.
 */
export function callTimeoutSeconds(target: string): number {
  return numberMapEnv('SYNC_CALL_TIMEOUTS')[target] ?? LAMBDA_MAX_TIMEOUT_SECONDS;
}

/** Epoch seconds after which no call to `targets` started until now can still be running (a cold start's init included). */
export function callsEndBy(targets: readonly string[], nowMs: number): number | undefined {
  if (targets.length === 0) return undefined;
  const longest = Math.max(...targets.map(callTimeoutSeconds));
  return Math.ceil(nowMs / 1000) + LAMBDA_INIT_MAX_SECONDS + longest + CALL_END_MARGIN_SECONDS;
}

/**
 * Errors after which the Lambda invocation may still be running: Step Functions lost track
 * of it (a service or client error), or gave up waiting. An error the function itself
 * returned, `Lambda.Unknown` (it crashed or timed out) and a throttled invocation all mean
 * the call is over.
 */
export function callMayStillRun(errorName: string): boolean {
  if (errorName === 'Lambda.TooManyRequestsException' || errorName === 'Lambda.Unknown') return false;
  return errorName.startsWith('Lambda.') || errorName.startsWith('States.');
}

/** The `sync_failed` item result: the caught error, bounded. */
export function failedItem(error: unknown): { status: 'FAILED'; error: string; mayStillRun?: true } {
  const e = isRecord(error) ? error : {};
  const name = typeof e.Error === 'string' && e.Error ? e.Error : 'Error';
  const cause = typeof e.Cause === 'string' ? e.Cause : '';
  return {
    status: SyncTargetStatus.FAILED,
    error: truncate(cause ? `${name}: ${cause}` : name, SYNC_ITEM_ERROR_MAX_CHARS),
    ...(callMayStillRun(name) ? { mayStillRun: true as const } : {}),
  };
}

/**
 * Pairs `$.targets` with the Map's `$.sync` (same order). Undefined when the state carries no
 * complete sync result (the Map did not end normally): then nothing is known per target.
 */
export function syncOutcomes(input: Record<string, unknown>): SyncOutcome[] | undefined {
  const { targets, sync } = input;
  if (!Array.isArray(targets) || !Array.isArray(sync) || targets.length !== sync.length) return undefined;
  const out: SyncOutcome[] = [];
  for (let i = 0; i < targets.length; i++) {
    const t: unknown = targets[i];
    const item: unknown = sync[i];
    if (!isRecord(t) || typeof t.target !== 'string' || !isRecord(item)) return undefined;
    const finished = item.status === SyncTargetStatus.FINISHED;
    out.push({
      target: t.target,
      status: finished ? SyncTargetStatus.FINISHED : SyncTargetStatus.FAILED,
      ...(finished ? {} : { error: typeof item.error === 'string' ? item.error : 'failed' }),
      ...(!finished && item.mayStillRun === true ? { mayStillRun: true } : {}),
    });
  }
  return out;
}

/** `syncStatus` as recorded on the command row: target → FINISHED | FAILED | UNKNOWN. */
export function syncStatusMap(outcomes: readonly SyncOutcome[]): Record<string, SyncTargetStatus> {
  return Object.fromEntries(outcomes.map((o) => [o.target, o.status]));
}

/** The reason a version failed in its sync: the failed targets and their errors, bounded. */
export function syncFailureReason(outcomes: readonly SyncOutcome[]): string {
  const failed = outcomes.filter((o) => o.status !== SyncTargetStatus.FINISHED);
  const parts = failed.map(
    (o) => `${o.target} (${o.error ?? 'failed'}${o.mayStillRun ? '; may still be running' : ''})`,
  );
  return truncate(
    `${failed.length} of ${outcomes.length} sync target(s) failed: ${parts.join('; ')}`,
    COMMAND_REASON_MAX_CHARS,
  );
}
