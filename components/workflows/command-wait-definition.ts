import { CommandError } from '../../core/status';
import { catchAll, catchErrors, lambdaRetrier, lambdaTask, type StateMachineDefinition } from '../asl';
import { failureStates, waitStates } from './command-definition';
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
      ...waitStates(arn, opts, 'run_command', onFailure, [ended]),
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
      ...failureStates(arn),
    },
  };
}
