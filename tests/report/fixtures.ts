import type { StateMachineDefinition } from '../../components/asl/types';

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:demo-step';
const invoke = { FunctionName: LAMBDA, Payload: { 'input.$': '$' } };

/**
 * One machine with every state type the report draws: Task (with TimeoutSeconds,
 * HeartbeatSeconds, a callback, Retry and two Catches), Choice (rules and a Default),
 * an inline Map with MaxConcurrency, a Parallel with two branches, Wait, Pass, Succeed, Fail.
 */
export const ALL_STATE_TYPES: StateMachineDefinition = {
  Comment: 'every state type',
  StartAt: 'prepare',
  TimeoutSeconds: 900,
  States: {
    prepare: { Type: 'Pass', Result: { items: [1, 2] }, ResultPath: '$.work', Next: 'await_approval' },
    await_approval: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: { FunctionName: LAMBDA, Payload: { 'token.$': '$$.Task.Token' } },
      TimeoutSeconds: 600,
      HeartbeatSeconds: 60,
      ResultPath: null,
      Retry: [{ ErrorEquals: ['Lambda.ServiceException'], MaxAttempts: 2, JitterStrategy: 'FULL' }],
      Catch: [
        { ErrorEquals: ['States.Timeout', 'States.HeartbeatTimeout'], Next: 'timed_out', ResultPath: '$.error' },
        { ErrorEquals: ['States.ALL'], Next: 'rejected', ResultPath: '$.error' },
      ],
      Next: 'route',
    },
    route: {
      Type: 'Choice',
      Choices: [
        { Variable: '$.work.mode', StringEquals: 'each', Next: 'each_item' },
        { Variable: '$.work.mode', StringEquals: 'both', Next: 'both_ways' },
      ],
      Default: 'pause',
    },
    each_item: {
      Type: 'Map',
      ItemsPath: '$.work.items',
      MaxConcurrency: 3,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'handle_item',
        States: {
          handle_item: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: invoke, End: true },
        },
      },
      ResultPath: null,
      Catch: [{ ErrorEquals: ['ItemFailed'], Next: 'rejected' }],
      Next: 'done',
    },
    both_ways: {
      Type: 'Parallel',
      Branches: [
        { StartAt: 'left_wait', States: { left_wait: { Type: 'Wait', Seconds: 5, End: true } } },
        {
          StartAt: 'right_pass',
          States: {
            right_pass: { Type: 'Pass', Next: 'right_done' },
            right_done: { Type: 'Succeed' },
          },
        },
      ],
      ResultPath: null,
      Next: 'done',
    },
    pause: { Type: 'Wait', SecondsPath: '$.work.delay', Next: 'done' },
    timed_out: { Type: 'Fail', Error: 'ApprovalTimedOut', Cause: 'nobody answered' },
    rejected: { Type: 'Fail', Error: 'Rejected' },
    done: { Type: 'Succeed' },
  },
};
