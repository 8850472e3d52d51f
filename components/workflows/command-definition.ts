import { MAX_SYNC_TARGETS } from '../../core/limits';
import { CALLS_RUNNING_RESULT, CommandError, SyncTargetStatus } from '../../core/status';
import {
  catchAll,
  catchErrors,
  choiceState,
  lambdaTask,
  lambdaThrottleRetrier,
  whenNumberEquals,
  whenStringEquals,
  type Catcher,
  type MapState,
  type State,
  type StateMachineDefinition,
} from '../asl';
import { checkInteger, checkLambdaArn, checkWaitLimits } from './option-checks';

const BUILDER = 'buildCommandDefinition';

/** A consumer Lambda registered as an extra sync target of the command machine. */
export interface SyncTargetFunction {
  /**
   * Target name, as `transform_data` lists it in `targets[].target`; the iteration
   * state invoking the Lambda is `sync_<name>`. Must match `[A-Za-z0-9_-]+`, be
   * unique, not be `data` (the built-in read model) and must not make `sync_<name>`
   * collide with another state of the machine or exceed 80 characters.
   */
  name: string;
  /** ARN of the consumer's Lambda function (plain string, known at preview). */
  functionArn: string;
}

export interface CommandDefinitionOptions {
  /** ARN of the `command-step` function, which runs every Task state except the `sync_<name>` ones. */
  commandStepArn: string;
  /** Extra sync targets besides the built-in `data` read model. Pass `[]` for none. */
  syncTargets: readonly SyncTargetFunction[];
  /**
   * `wait_prev_command` TimeoutSeconds: the longest one wait for the predecessor's
   * callback lasts before `recheck_prev_command` runs. Integer >= 1.
   */
  waitTimeoutSeconds: number;
  /**
   * `wait_prev_command` HeartbeatSeconds: the re-check interval (the waiting step
   * never heartbeats, so this fires first). Integer >= 1 and < `waitTimeoutSeconds`.
   */
  waitHeartbeatSeconds: number;
  /** `sync_data_all` MaxConcurrency. Integer >= 1 (the seed's 0 means unlimited and is refused). */
  syncMaxConcurrency: number;
}

/**
 * States of the command machines (STANDARD, EXPRESS and command-wait) that are not
 * `sync_<name>` states: a target name must not turn into one of them.
 */
const FIXED_STATE_NAMES = new Set([
  'must_wait',
  'already_ended',
  'held_by_another_run',
  'version_failed',
  'run_command',
  'check_version',
  'check_version_result',
  'wait_prev_command',
  'recheck_prev_command',
  'recheck_prev_command_result',
  'calls_running',
  'wait_calls_end',
  'set_ttl_command',
  'history_copy',
  'transform_data',
  'sync_data_all',
  'sync_target',
  'sync_data',
  'sync_unknown_target',
  'sync_failed',
  'sync_failed_unreported',
  'finish',
  'success',
  'mark_failed',
  'fail',
]);

const TARGET_NAME = /^[A-Za-z0-9_-]+$/;
const MAX_STATE_NAME_LENGTH = 80;

/** The iteration state name of an extra sync target. */
export function syncStateName(targetName: string): string {
  return `sync_${targetName}`;
}

export function checkSyncTargets(targets: readonly SyncTargetFunction[], builder = BUILDER): void {
  if (!Array.isArray(targets)) throw new Error(`${builder}: option "syncTargets" must be an array (use [] for none)`);
  if (targets.length > MAX_SYNC_TARGETS)
    throw new Error(
      `${builder}: option "syncTargets" has ${targets.length} targets; at most ${MAX_SYNC_TARGETS} (each one's outcome is recorded on every command row)`,
    );
  const seen = new Set<string>();
  targets.forEach((target, i) => {
    const option = `syncTargets[${i}].name`;
    const name: unknown = (target as SyncTargetFunction | undefined)?.name;
    if (typeof name !== 'string' || !TARGET_NAME.test(name)) {
      throw new Error(`${builder}: option "${option}" must match [A-Za-z0-9_-]+, got ${JSON.stringify(name)}`);
    }
    if (name === 'data') {
      throw new Error(`${builder}: option "${option}" is "data", the name of the built-in read-model target`);
    }
    const stateName = syncStateName(name);
    if (FIXED_STATE_NAMES.has(stateName)) {
      throw new Error(
        `${builder}: option "${option}" ("${name}") would create state "${stateName}", which the machine already uses`,
      );
    }
    if (stateName.length > MAX_STATE_NAME_LENGTH) {
      throw new Error(
        `${builder}: option "${option}" is too long: state "${stateName}" exceeds ${MAX_STATE_NAME_LENGTH} characters`,
      );
    }
    if (seen.has(name)) throw new Error(`${builder}: option "${option}" duplicates sync target "${name}"`);
    seen.add(name);
    checkLambdaArn(builder, `syncTargets[${i}].functionArn`, (target as SyncTargetFunction).functionArn);
  });
}

function checkOptions(opts: CommandDefinitionOptions): void {
  checkLambdaArn(BUILDER, 'commandStepArn', opts.commandStepArn);
  checkSyncTargets(opts.syncTargets);
  checkWaitLimits(
    BUILDER,
    'waitTimeoutSeconds',
    opts.waitTimeoutSeconds,
    'waitHeartbeatSeconds',
    opts.waitHeartbeatSeconds,
  );
  checkInteger(BUILDER, 'syncMaxConcurrency', opts.syncMaxConcurrency, 1);
}

/**
 * Runs one item `{ pk, sk, target }` through the state of its target. Every item ends with
 * `{ status: FINISHED }` or `{ status: FAILED, error, mayStillRun? }` instead of failing:
 * an item that fails must not stop the Map while the other targets' calls still run, because
 * once the Map has ended `finish`/`mark_failed` may release the next version. So when the
 * Map ends, every call of this version has returned — except one that came back with a
 * Lambda service error while it may still be running (`mayStillRun`), which is never retried
 * (only a throttled invocation is) and which `mark_failed` waits out (`callsEndBy`).
 * The items are in the order of `$.targets`: `finish` pairs them up.
 */
export function syncDataAll(
  opts: Pick<CommandDefinitionOptions, 'commandStepArn' | 'syncTargets' | 'syncMaxConcurrency'>,
  onFailure: Catcher,
): MapState {
  const itemFailed = catchAll('sync_failed', '$.error');
  const syncCall = (functionArn: string, ours: boolean) =>
    lambdaTask(functionArn, {
      end: true,
      retry: [lambdaThrottleRetrier()],
      catch: [itemFailed],
      // what a consumer's function returns is not ours to carry (its size is unknown)
      ...(ours ? {} : { resultSelector: { status: SyncTargetStatus.FINISHED } }),
    });
  const states: Record<string, State> = {
    sync_target: choiceState(
      [
        whenStringEquals('$.target', 'data', 'sync_data'),
        ...opts.syncTargets.map((t) => whenStringEquals('$.target', t.name, syncStateName(t.name))),
      ],
      'sync_unknown_target',
    ),
    sync_data: syncCall(opts.commandStepArn, true),
  };
  for (const target of opts.syncTargets) states[syncStateName(target.name)] = syncCall(target.functionArn, false);
  // A target transform_data names but nobody registered is a configuration error: the item
  // fails (and so the command) instead of being skipped silently.
  states.sync_unknown_target = {
    Type: 'Pass',
    Result: {
      status: SyncTargetStatus.FAILED,
      error: 'UnknownSyncTarget: transform_data returned a target that has no sync state in this machine',
    },
    End: true,
  };
  // Turns the caught error into a bounded item result (a Cause can be 32 KiB: carried raw by
  // every failed item, it could push the Map output over the 256 KiB state limit).
  states.sync_failed = lambdaTask(opts.commandStepArn, {
    end: true,
    catch: [catchAll('sync_failed_unreported', '$.syncFailedError')],
  });
  states.sync_failed_unreported = {
    Type: 'Pass',
    Parameters: { status: SyncTargetStatus.FAILED, mayStillRun: true, 'error.$': '$.error.Error' },
    End: true,
  };
  return {
    Type: 'Map',
    ItemsPath: '$.targets',
    ItemSelector: { 'pk.$': '$.pk', 'sk.$': '$.sk', 'target.$': '$$.Map.Item.Value.target' },
    MaxConcurrency: opts.syncMaxConcurrency,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'sync_target', States: states },
    ResultPath: '$.sync',
    Catch: [onFailure],
    Next: 'finish',
  };
}

/**
 * `wait_prev_command`, `recheck_prev_command` and its Choice, `calls_running` and
 * `wait_calls_end`: the wait for the predecessor with a task token (HeartbeatSeconds is the
 * re-check interval), shared by the STANDARD command machine and the command-wait machine.
 * A predecessor that has ended while one of its sync calls may still run releases nobody later:
 * the waiter is answered PredecessorCallsRunning (Cause: JSON with `callsEndBy`), or a check
 * returns result 2 with the same shape, and `wait_calls_end` waits until that timestamp before
 * `recheck_prev_command` — the heartbeat stays the last resort. `proceed` is where a version
 * that may go on goes; `ended` (command-wait) catches a version another path ended meanwhile.
 */
export function waitStates(
  arn: string,
  limits: Pick<CommandDefinitionOptions, 'waitTimeoutSeconds' | 'waitHeartbeatSeconds'>,
  proceed: string,
  onFailure: Catcher,
  ended: Catcher[] = [],
): Record<
  'wait_prev_command' | 'recheck_prev_command' | 'recheck_prev_command_result' | 'calls_running' | 'wait_calls_end',
  State
> {
  return {
    wait_prev_command: lambdaTask(arn, {
      waitForTaskToken: true,
      timeoutSeconds: limits.waitTimeoutSeconds,
      heartbeatSeconds: limits.waitHeartbeatSeconds,
      next: proceed,
      catch: [
        // No callback in time: look at the predecessor again rather than trust the callback alone.
        catchErrors(['States.HeartbeatTimeout', 'States.Timeout'], 'recheck_prev_command', '$.waitTimeout'),
        catchErrors([CommandError.PREDECESSOR_CALLS_RUNNING], 'calls_running', '$.callsRunning'),
        ...ended,
        onFailure,
      ],
    }),
    recheck_prev_command: lambdaTask(arn, { next: 'recheck_prev_command_result', catch: [...ended, onFailure] }),
    recheck_prev_command_result: choiceState(
      [
        whenNumberEquals('$.result', 0, proceed),
        whenNumberEquals('$.result', 1, 'wait_prev_command'),
        whenNumberEquals('$.result', CALLS_RUNNING_RESULT, 'calls_running'),
      ],
      'mark_failed',
    ),
    calls_running: {
      Type: 'Pass',
      Parameters: { 'cause.$': 'States.StringToJson($.callsRunning.Cause)' },
      ResultPath: '$.callsRunning',
      Next: 'wait_calls_end',
    },
    wait_calls_end: { Type: 'Wait', TimestampPath: '$.callsRunning.cause.callsEndBy', Next: 'recheck_prev_command' },
  };
}

/** `mark_failed` → `fail` of the STANDARD command and command-wait machines. */
export function failureStates(arn: string): Record<'mark_failed' | 'fail', State> {
  return {
    // A broken failure step must not hang the chain: its own failure still ends in `fail`.
    mark_failed: lambdaTask(arn, { next: 'fail', catch: [catchAll('fail', '$.markFailedError')] }),
    fail: {
      Type: 'Fail',
      Error: 'CommandFailed',
      Cause: "The command failed; the command row's status and the alarm topic say where and why",
    },
  };
}

/**
 * The command machine (STANDARD) of docs/architecture.md: version check, wait for
 * the predecessor (with timeout and periodic re-check), TTL, history, transform,
 * sync to every target, finish. Any failure goes through `mark_failed` to `fail`.
 */
export function buildCommandDefinition(opts: CommandDefinitionOptions): StateMachineDefinition {
  checkOptions(opts);
  const arn = opts.commandStepArn;
  const onFailure = catchAll('mark_failed', '$.error');
  const step = (next: string) => lambdaTask(arn, { next, catch: [onFailure] });

  return {
    Comment:
      'CQRS command: version check, wait for the previous version, history copy, transform, sync to every target',
    StartAt: 'check_version',
    States: {
      check_version: step('check_version_result'),
      check_version_result: choiceState(
        [
          whenNumberEquals('$.result', 0, 'set_ttl_command'),
          whenNumberEquals('$.result', 1, 'wait_prev_command'),
          whenNumberEquals('$.result', -1, 'mark_failed'),
          whenNumberEquals('$.result', CALLS_RUNNING_RESULT, 'calls_running'),
        ],
        'wait_prev_command',
      ),
      ...waitStates(arn, opts, 'set_ttl_command', onFailure),
      set_ttl_command: step('history_copy'),
      history_copy: step('transform_data'),
      transform_data: step('sync_data_all'),
      sync_data_all: syncDataAll(opts, onFailure),
      finish: step('success'),
      success: { Type: 'Succeed' },
      ...failureStates(arn),
    },
  };
}
