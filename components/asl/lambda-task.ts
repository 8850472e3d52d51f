import type { Catcher, PayloadTemplate, Retrier, TaskState, Transition } from './types';

export const LAMBDA_INVOKE_RESOURCE = 'arn:aws:states:::lambda:invoke';
export const LAMBDA_INVOKE_WAIT_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/**
 * A service integration ARN in the partition of `anyArn` (`aws`, `aws-cn`,
 * `aws-us-gov`): integrations carry the partition, so a machine in GovCloud must
 * not name `arn:aws:states:::…`.
 */
export function integrationResource(anyArn: string, integration: string): string {
  const partition = /^arn:([a-z-]+):/.exec(anyArn)?.[1] ?? 'aws';
  return `arn:${partition}:states:::${integration}`;
}

/**
 * Transient Lambda service errors worth retrying. Handler errors are not listed: a
 * handler that throws has already recorded `<state>:FAILED` and must not run twice
 * behind the state machine's back.
 */
export const LAMBDA_TRANSIENT_ERRORS: readonly string[] = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/** Returns a fresh copy of the standard retrier every Lambda Task carries. */
export function lambdaRetrier(): Retrier {
  return {
    ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS],
    IntervalSeconds: 1,
    MaxAttempts: 3,
    BackoffRate: 2,
    MaxDelaySeconds: 20,
    JitterStrategy: 'FULL',
  };
}

/**
 * The one transient Lambda error after which the function certainly did not run: the
 * invocation was throttled. The others (ServiceException, AWSLambdaException,
 * SdkClientException) can come back while the first attempt is still running.
 */
export const LAMBDA_THROTTLED_ERROR = 'Lambda.TooManyRequestsException';

/**
 * A retrier for calls that must never overlap (the sync targets of a command version): only
 * a throttled invocation is retried, because only then is it certain that no earlier
 * attempt is still running.
 */
export function lambdaThrottleRetrier(): Retrier {
  return { ...lambdaRetrier(), ErrorEquals: [LAMBDA_THROTTLED_ERROR] };
}

/** The payload every handler receives (docs/architecture.md, "Lambda task payload"). */
export function lambdaPayload(waitForTaskToken: boolean): PayloadTemplate {
  const payload: PayloadTemplate = { source: 'step-function', 'context.$': '$$', 'input.$': '$' };
  if (waitForTaskToken) payload['taskToken.$'] = '$$.Task.Token';
  return payload;
}

interface LambdaTaskCommon {
  /** Catchers, in order. Default: none. */
  catch?: Catcher[];
  /** Replaces the standard Lambda retrier. Default: `[lambdaRetrier()]`. */
  retry?: Retrier[];
  comment?: string;
}

/** Request/response invocation: the handler's return value becomes the next input. */
export interface LambdaInvokeOptions extends LambdaTaskCommon {
  waitForTaskToken?: false;
  /** Task TimeoutSeconds. Default: unset (the Lambda's own timeout bounds the call). */
  timeoutSeconds?: number;
  /**
   * Replaces what the function returns: the state outputs this template (evaluated on the
   * invocation result) instead of `$.Payload`. For functions whose result is not ours to
   * carry (its size is unknown). Default: unset (`OutputPath: "$.Payload"`).
   */
  resultSelector?: PayloadTemplate;
}

/**
 * `.waitForTaskToken` invocation. Both limits are required so a token nobody
 * returns cannot park an execution for the service maximum of one year.
 */
export interface LambdaWaitOptions extends LambdaTaskCommon {
  waitForTaskToken: true;
  /** Task TimeoutSeconds: the longest the state waits for SendTask* (integer >= 1). */
  timeoutSeconds: number;
  /**
   * HeartbeatSeconds (integer, < timeoutSeconds), or `null` to state explicitly that
   * the resumer never sends heartbeats.
   */
  heartbeatSeconds: number | null;
}

export type LambdaTaskOptions = (LambdaInvokeOptions | LambdaWaitOptions) & TransitionOption;

/** `next: "<state>"` or `end: true`. */
export type TransitionOption = { next: string; end?: never } | { end: true; next?: never };

function assertPositiveInteger(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`lambdaTask: ${what} must be an integer >= 1, got ${String(value)}`);
  }
}

function toTransition(opts: TransitionOption): Transition {
  if (opts.next !== undefined && opts.end === undefined) return { Next: opts.next };
  if (opts.end === true && opts.next === undefined) return { End: true };
  throw new Error('lambdaTask: exactly one of `next` or `end: true` is required');
}

/**
 * A Task invoking `functionArn` through the optimized Lambda integration with the
 * contract payload. Request/response tasks return `$.Payload` (the handler's return
 * value); waiting tasks keep their input (`ResultPath: null`) whatever the resumer sends.
 */
export function lambdaTask(functionArn: string, opts: LambdaTaskOptions): TaskState {
  if (typeof functionArn !== 'string' || functionArn.trim() === '') {
    throw new Error('lambdaTask: functionArn must be a non-empty string');
  }
  const wait = opts.waitForTaskToken === true;
  const task: TaskState = {
    Type: 'Task',
    Resource: integrationResource(functionArn, wait ? 'lambda:invoke.waitForTaskToken' : 'lambda:invoke'),
    Parameters: { FunctionName: functionArn, Payload: lambdaPayload(wait) },
    ...toTransition(opts),
  };
  if (opts.comment !== undefined) task.Comment = opts.comment;
  if (opts.waitForTaskToken === true) {
    assertPositiveInteger('timeoutSeconds', opts.timeoutSeconds);
    task.TimeoutSeconds = opts.timeoutSeconds;
    if (opts.heartbeatSeconds !== null) {
      assertPositiveInteger('heartbeatSeconds', opts.heartbeatSeconds);
      if (opts.heartbeatSeconds >= opts.timeoutSeconds) {
        throw new Error(
          `lambdaTask: heartbeatSeconds (${opts.heartbeatSeconds}) must be less than timeoutSeconds (${opts.timeoutSeconds})`,
        );
      }
      task.HeartbeatSeconds = opts.heartbeatSeconds;
    }
    task.ResultPath = null;
  } else {
    if (opts.timeoutSeconds !== undefined) {
      assertPositiveInteger('timeoutSeconds', opts.timeoutSeconds);
      task.TimeoutSeconds = opts.timeoutSeconds;
    }
    if (opts.resultSelector !== undefined) task.ResultSelector = opts.resultSelector;
    else task.OutputPath = '$.Payload';
  }
  task.Retry = opts.retry ?? [lambdaRetrier()];
  if (opts.catch !== undefined && opts.catch.length > 0) task.Catch = opts.catch;
  return task;
}
