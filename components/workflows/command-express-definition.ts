import { COMMAND_RUN_TIMEOUT_SECONDS, EXPRESS_SYNC_TARGET_MAX_TIMEOUT_SECONDS } from '../../core/limits';
import { CommandError, CommandRunOutcome } from '../../core/status';
import {
  catchAll,
  catchErrors,
  choiceState,
  lambdaTask,
  whenNumberEquals,
  type PassState,
  type StateMachineDefinition,
} from '../asl';
import { checkSyncTargets, syncDataAll, type SyncTargetFunction } from './command-definition';
import { checkInteger, checkLambdaArn } from './option-checks';

const BUILDER = 'buildCommandExpressDefinition';

/** A sync target of the EXPRESS machine: its calls must fit inside one run. */
export interface ExpressSyncTargetFunction extends SyncTargetFunction {
  /**
   * The target function's timeout in seconds (integer, at most
   * EXPRESS_SYNC_TARGET_MAX_TIMEOUT_SECONDS = 240): one run has 300 seconds for every step.
   */
  timeoutSeconds: number;
}

export interface CommandExpressDefinitionOptions {
  /** ARN of the `command-step` function, which runs every Task state except the `sync_<name>` ones. */
  commandStepArn: string;
  /** Extra sync targets besides the built-in `data` read model, with their timeouts. Pass `[]` for none. */
  syncTargets: readonly ExpressSyncTargetFunction[];
  /** `sync_data_all` MaxConcurrency. Integer >= 1. */
  syncMaxConcurrency: number;
  /** Machine TimeoutSeconds. Integer from 1 to 300. Default: 300 (COMMAND_RUN_TIMEOUT_SECONDS). */
  timeoutSeconds?: number;
}

/** A Pass that ends the run with `outcome` set (the router reads it). */
function endWith(outcome: CommandRunOutcome): PassState {
  return { Type: 'Pass', Result: outcome, ResultPath: '$.outcome', End: true };
}

function checkOptions(opts: CommandExpressDefinitionOptions, timeoutSeconds: number): void {
  checkLambdaArn(BUILDER, 'commandStepArn', opts.commandStepArn);
  checkSyncTargets(opts.syncTargets, BUILDER);
  checkInteger(BUILDER, 'syncMaxConcurrency', opts.syncMaxConcurrency, 1);
  checkInteger(BUILDER, 'timeoutSeconds', timeoutSeconds, 1, COMMAND_RUN_TIMEOUT_SECONDS);
  const limit = Math.min(EXPRESS_SYNC_TARGET_MAX_TIMEOUT_SECONDS, timeoutSeconds);
  opts.syncTargets.forEach((t, i) => {
    const seconds: unknown = t.timeoutSeconds;
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1 || seconds > limit) {
      throw new Error(
        `${BUILDER}: option "syncTargets[${i}].timeoutSeconds" of target "${t.name}" must be an integer from 1 to ${limit}, got ${String(seconds)}: ` +
          `an EXPRESS run lasts at most ${timeoutSeconds} s for every step. Lower the function's timeout, or run commands on the STANDARD path (commandPath STANDARD)`,
      );
    }
  });
}

/**
 * The EXPRESS command machine (the default path): one run per command version, started
 * synchronously by the stream router (or by the command-wait machine's run_command after a
 * wait), with the seed's state names. It never waits: a version whose predecessor is in flight
 * ends the run as MUST_WAIT, and its caller hands it to the command-wait machine. Every step
 * is idempotent, so a duplicate run (EXPRESS is at-least-once; a caller that died is retried)
 * changes nothing: a run that finds its version ended redoes the release (`already_ended`),
 * and only the run holding the sync lease calls the targets (`held_by_another_run`).
 * The run ends SUCCEEDED whenever the version's outcome is recorded — FAILED included —
 * so a failed run (status FAILED/TIMED_OUT) always means "run it again".
 */
export function buildCommandExpressDefinition(opts: CommandExpressDefinitionOptions): StateMachineDefinition {
  const timeoutSeconds = opts.timeoutSeconds ?? COMMAND_RUN_TIMEOUT_SECONDS;
  checkOptions(opts, timeoutSeconds);
  const arn = opts.commandStepArn;
  const onFailure = catchAll('mark_failed', '$.error');
  const ended = catchErrors([CommandError.VERSION_ALREADY_ENDED], 'already_ended', '$.error');
  const step = (next: string) => lambdaTask(arn, { next, catch: [ended, onFailure] });
  const held = catchErrors([CommandError.SYNC_HELD], 'held_by_another_run', '$.error');

  return {
    Comment:
      'CQRS command (EXPRESS, one run per version): version check, TTL, history copy, transform, sync to every target, finish',
    TimeoutSeconds: timeoutSeconds,
    StartAt: 'check_version',
    States: {
      check_version: step('check_version_result'),
      check_version_result: choiceState(
        [whenNumberEquals('$.result', 0, 'set_ttl_command'), whenNumberEquals('$.result', -1, 'mark_failed')],
        'must_wait',
      ),
      must_wait: endWith(CommandRunOutcome.MUST_WAIT),
      set_ttl_command: step('history_copy'),
      history_copy: step('transform_data'),
      transform_data: lambdaTask(arn, { next: 'sync_data_all', catch: [ended, held, onFailure] }),
      held_by_another_run: endWith(CommandRunOutcome.HELD),
      sync_data_all: syncDataAll(opts, onFailure),
      // a run whose lease was taken over (its clock was behind) leaves the version to the holder
      finish: lambdaTask(arn, { next: 'success', catch: [ended, held, onFailure] }),
      success: { Type: 'Succeed' },
      already_ended: lambdaTask(arn, { end: true, catch: [catchAll('fail', '$.alreadyEndedError')] }),
      // A broken failure step must not look like a recorded failure: the run fails, its caller runs it again.
      mark_failed: lambdaTask(arn, { next: 'version_failed', catch: [catchAll('fail', '$.markFailedError')] }),
      version_failed: { Type: 'Succeed' },
      fail: {
        Type: 'Fail',
        Error: 'CommandRunFailed',
        Cause: 'A failure step of the command run failed; the caller runs the version again',
      },
    },
  };
}
