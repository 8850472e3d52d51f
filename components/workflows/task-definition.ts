import { catchAll, lambdaTask, type StateMachineDefinition } from '../asl';
import { checkInteger, checkLambdaArn } from './option-checks';

const BUILDER = 'buildTaskDefinition';

/** Longest execution a STANDARD state machine allows (one year). */
const MAX_STANDARD_EXECUTION_SECONDS = 31_536_000;

export interface TaskDefinitionOptions {
  /** ARN of the `task-step` function, which runs `iterator` and `finalize_task`. */
  taskStepArn: string;
  /** `map_state` MaxConcurrency: sub-tasks run at once. Integer >= 1. Default: 2. */
  maxConcurrency?: number;
  /** Machine-level TimeoutSeconds: the whole task's time budget. Integer >= 1. Default: 900. */
  timeoutSeconds?: number;
}

export const TASK_DEFAULTS = { maxConcurrency: 2, timeoutSeconds: 900 } as const;

/**
 * The task machine (STANDARD, overall timeout): every sub-task runs through
 * `iterator`; a failing sub-task is caught inside its iteration so the others go on,
 * and `finalize_task` always runs.
 */
export function buildTaskDefinition(opts: TaskDefinitionOptions): StateMachineDefinition {
  const maxConcurrency = opts.maxConcurrency ?? TASK_DEFAULTS.maxConcurrency;
  const timeoutSeconds = opts.timeoutSeconds ?? TASK_DEFAULTS.timeoutSeconds;
  checkLambdaArn(BUILDER, 'taskStepArn', opts.taskStepArn);
  checkInteger(BUILDER, 'maxConcurrency', maxConcurrency, 1);
  checkInteger(BUILDER, 'timeoutSeconds', timeoutSeconds, 1, MAX_STANDARD_EXECUTION_SECONDS);
  const arn = opts.taskStepArn;

  return {
    Comment: 'CQRS task: run every sub-task with bounded concurrency, then finalize the parent task',
    TimeoutSeconds: timeoutSeconds,
    StartAt: 'map_state',
    States: {
      map_state: {
        Type: 'Map',
        ItemsPath: '$.subTasks',
        MaxConcurrency: maxConcurrency,
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'iterator',
          States: {
            // The handler has recorded the sub-task as FAILED; the Pass keeps one
            // failure from cancelling the other iterations.
            iterator: lambdaTask(arn, { end: true, catch: [catchAll('iterator_failed', '$.error')] }),
            iterator_failed: { Type: 'Pass', End: true },
          },
        },
        ResultPath: null,
        Catch: [catchAll('finalize_task', '$.error')],
        Next: 'finalize_task',
      },
      finalize_task: lambdaTask(arn, { next: 'success' }),
      success: { Type: 'Succeed' },
    },
  };
}
