import { CommandError } from '../../core/status';
import {
  catchAll,
  catchErrors,
  choiceState,
  lambdaRetrier,
  lambdaTask,
  whenNumberEquals,
  type StateMachineDefinition,
} from '../asl';
import { checkLambdaArn, checkWaitLimits } from './option-checks';

const BUILDER = 'buildCommandWaitDefinition';

export interface CommandWaitDefinitionOptions {
  /** ARN of the `command-step` function (wait_prev_command, recheck_prev_command, mark_failed). */
  commandStepArn: string;
  /** ARN of the function that runs a version on the EXPRESS machine (`run_command`: the stream router). */
  commandRunnerArn: string;
  /** `wait_prev_command` TimeoutSeconds. Integer >= 1. */
  waitTimeoutSeconds: number;
  /** `wait_prev_command` HeartbeatSeconds: the re-check interval. Integer >= 1 and < `waitTimeoutSeconds`. */
  waitHeartbeatSeconds: number;
}

/**
 * The command-wait machine (STANDARD, EXPRESS path only): a version whose predecessor is in
 * flight waits here with a task token (the seed's `wait_prev_command`, its periodic
 * `recheck_prev_command` and the race fix), then `run_command` runs it on the EXPRESS machine.
 * Its execution name is the one the STANDARD path would use (deterministic, so a redelivered
 * stream record starts nothing twice), and a normal wait costs two transitions.
 */
export function buildCommandWaitDefinition(opts: CommandWaitDefinitionOptions): StateMachineDefinition {
  checkLambdaArn(BUILDER, 'commandStepArn', opts.commandStepArn);
  checkLambdaArn(BUILDER, 'commandRunnerArn', opts.commandRunnerArn);
  checkWaitLimits(
    BUILDER,
    'waitTimeoutSeconds',
    opts.waitTimeoutSeconds,
    'waitHeartbeatSeconds',
    opts.waitHeartbeatSeconds,
  );
  const arn = opts.commandStepArn;
  const onFailure = catchAll('mark_failed', '$.error');
  // Another run or path ended the version meanwhile: nothing left to do here.
  const ended = catchErrors([CommandError.VERSION_ALREADY_ENDED], 'already_ended', '$.error');

  return {
    Comment:
      'CQRS command that must wait for its predecessor: wait with a task token (re-checked every HeartbeatSeconds), then run it on the EXPRESS command machine',
    StartAt: 'wait_prev_command',
    States: {
      wait_prev_command: lambdaTask(arn, {
        waitForTaskToken: true,
        timeoutSeconds: opts.waitTimeoutSeconds,
        heartbeatSeconds: opts.waitHeartbeatSeconds,
        next: 'run_command',
        catch: [
          catchErrors(['States.HeartbeatTimeout', 'States.Timeout'], 'recheck_prev_command', '$.waitTimeout'),
          ended,
          onFailure,
        ],
      }),
      recheck_prev_command: lambdaTask(arn, { next: 'recheck_prev_command_result', catch: [ended, onFailure] }),
      recheck_prev_command_result: choiceState(
        [whenNumberEquals('$.result', 0, 'run_command'), whenNumberEquals('$.result', 1, 'wait_prev_command')],
        'mark_failed',
      ),
      run_command: lambdaTask(opts.commandRunnerArn, {
        end: true,
        retry: [
          lambdaRetrier(),
          {
            // the run failed, timed out or another run's lease outlasted the call: run it again
            ErrorEquals: [CommandError.RUN_FAILED, CommandError.SYNC_HELD],
            IntervalSeconds: 5,
            MaxAttempts: 3,
            BackoffRate: 2,
            MaxDelaySeconds: 60,
            JitterStrategy: 'FULL',
          },
        ],
        catch: [catchErrors([CommandError.VERSION_MUST_WAIT], 'wait_prev_command', '$.mustWait'), onFailure],
      }),
      already_ended: { Type: 'Succeed' },
      // A broken failure step must not hang the chain: its own failure still ends in `fail`.
      mark_failed: lambdaTask(arn, { next: 'fail', catch: [catchAll('fail', '$.markFailedError')] }),
      fail: {
        Type: 'Fail',
        Error: 'CommandFailed',
        Cause: "The command failed; the command row's status and the alarm topic say where and why",
      },
    },
  };
}
