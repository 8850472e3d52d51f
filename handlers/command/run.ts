/**
 * Runs one command version on the EXPRESS command machine (the default `commandPath`) and
 * says how the run ended. The stream router calls it for every command INSERT; the
 * command-wait machine's `run_command` calls it once a waiting version may go on.
 *
 * The run is synchronous (StartSyncExecution), so the caller sees a run that fails, times out
 * or is lost — something no EventBridge event would report for an EXPRESS execution — and
 * throws: the stream retries the record (its last failure reaches the on-failure destination,
 * where execution-watch records the version FAILED), and run_command is retried and then
 * caught into mark_failed. Every step of the run is idempotent, so running a version again is
 * always safe.
 */
import { sfn } from '../shared/aws/sfn';
import { optionalPositiveNumber, requireEnv } from '../shared/env';
import { NamedError } from '../../core/errors';
import { startSyncExecution } from '../../core/sfn';
import { CommandError, CommandRunOutcome } from '../../core/status';
import { isRecord, type Key } from '../../core/types';
import { log } from '../shared/log';
import { getCommand, hasEnded } from './model';
import { CALL_END_MARGIN_SECONDS } from './sync-outcomes';

/** How a version's run ended for its caller (a held sync is waited out here, never returned). */
export type RunResult = Exclude<CommandRunOutcome, typeof CommandRunOutcome.HELD>;

export interface RunOptions {
  /** The run follows a wait in the command-wait machine (check_version then ignores `waitingSince`). */
  waited: boolean;
  /** Epoch ms by which the caller must have returned (its Lambda's deadline). */
  deadlineMs: number;
}

/** How often a caller looks at the row while another run of the version holds the sync. */
export const HELD_POLL_MS = 1000;
/** Margin kept between a wait for a held sync and the caller's deadline. */
const DEADLINE_MARGIN_MS = 5000;

const OUTCOMES: ReadonlySet<string> = new Set(Object.values(CommandRunOutcome));

function outcomeOf(output: unknown): CommandRunOutcome | undefined {
  const outcome = isRecord(output) ? output.outcome : undefined;
  return typeof outcome === 'string' && OUTCOMES.has(outcome) ? (outcome as CommandRunOutcome) : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Another run holds the sync of this version. Wait, reading the row, until it ends the version
 * (true) or until its lease has passed, after which a new run takes the sync over (false).
 * A lease that cannot pass before the caller's deadline (leaving time for a new run) is not
 * waited for: SyncHeldByAnotherRun, and the caller's retry comes back later.
 */
async function waitForHolder(key: Key, deadlineMs: number, runTimeoutMs: number): Promise<boolean> {
  for (;;) {
    const row = await getCommand(key);
    if (!row || hasEnded(row)) return true;
    // a new run takes the lease over once it has passed (with the margin for clocks: see transform_data)
    const until = (Number(row.syncCallsStartBy) + CALL_END_MARGIN_SECONDS) * 1000;
    if (!Number.isFinite(until))
      throw new NamedError(
        CommandError.SYNC_HELD,
        `the sync of ${key.pk} / ${key.sk} is held by ${String(row.syncRunId)}`,
      );
    const now = Date.now();
    if (until < now) return false;
    if (until + runTimeoutMs + DEADLINE_MARGIN_MS > deadlineMs)
      throw new NamedError(
        CommandError.SYNC_HELD,
        `the sync of ${key.pk} / ${key.sk} is held by ${String(row.syncRunId)} until ${new Date(until).toISOString()}, past this caller's deadline`,
      );
    await sleep(Math.min(HELD_POLL_MS, until - now + 1));
  }
}

/**
 * Run the version to an end: COMPLETED / FAILED (this run recorded it), ENDED (it had ended
 * already), MUST_WAIT (its predecessor is in flight: the caller hands it to the command-wait
 * machine, or waits again). Throws CommandRunFailed when the run failed, timed out or was
 * aborted, and SyncHeldByAnotherRun when another run's lease outlasts the caller.
 */
export async function runCommandVersion(key: Key, options: RunOptions): Promise<RunResult> {
  const machineArn = requireEnv('COMMAND_STATE_MACHINE_ARN');
  const runTimeoutMs = (optionalPositiveNumber('COMMAND_RUN_TIMEOUT_SECONDS') ?? 300) * 1000;
  const input = { pk: key.pk, sk: key.sk, ...(options.waited ? { waited: true } : {}) };
  let releaseRun = false;
  for (let attempt = 1; ; attempt++) {
    const run = await startSyncExecution(sfn(), machineArn, input);
    if (run.status !== 'SUCCEEDED') {
      throw new NamedError(
        CommandError.RUN_FAILED,
        `EXPRESS run ${run.executionArn ?? '?'} of ${key.pk} / ${key.sk} ended ${run.status}${run.error ? `: ${run.error}` : ''}${run.cause ? ` (${run.cause.slice(0, 500)})` : ''}`,
      );
    }
    const outcome = outcomeOf(run.output);
    if (outcome === undefined)
      throw new NamedError(
        CommandError.RUN_FAILED,
        `EXPRESS run ${run.executionArn ?? '?'} of ${key.pk} / ${key.sk} ended without an outcome`,
      );
    if (outcome !== CommandRunOutcome.HELD) return outcome;
    if (releaseRun) return CommandRunOutcome.ENDED;
    log('info', 'command run: the sync is held by another run of this version', { key, attempt });
    if (await waitForHolder(key, options.deadlineMs, runTimeoutMs)) {
      // The holder recorded the end, but it may have died before releasing the successor, and no
      // event reports a dead EXPRESS run: one more run (check_version → already_ended) releases it
      // now, idempotently, instead of at the successor's heartbeat. Only after a held sync.
      releaseRun = true;
      continue;
    }
    if (attempt >= 3)
      throw new NamedError(
        CommandError.SYNC_HELD,
        `the sync of ${key.pk} / ${key.sk} is still held after ${attempt} runs`,
      );
  }
}
