import { InvokeCommand } from '@aws-sdk/client-lambda';
import { lambda } from '../shared/aws/lambda';
import { stringMapEnv } from '../shared/env';
import { NamedError } from '../../core/errors';
import type { TaskExecutionRequest } from '../../core/types';

export type { TaskExecutionRequest };

/** An in-process executor (tests, or extensions bundled into the task-step function). */
export type TaskExecutor = (request: TaskExecutionRequest) => unknown;

const registry = new Map<string, TaskExecutor>();

/** Register an in-process executor for a task type; it takes precedence over TASK_EXECUTORS. */
export function registerTaskExecutor(taskType: string, executor: TaskExecutor): void {
  if (!taskType) throw new Error('taskType must not be empty');
  registry.set(taskType, executor);
}

export function unregisterTaskExecutor(taskType: string): void {
  registry.delete(taskType);
}

export function clearTaskExecutors(): void {
  registry.clear();
}

/** Error raised by a Lambda executor (FunctionError), carrying its errorType/errorMessage. */
export class ExecutorError extends NamedError {
  constructor(errorType: string, message: string) {
    super(errorType || 'ExecutorError', message);
  }
}

async function invokeLambda(functionArn: string, request: TaskExecutionRequest): Promise<unknown> {
  const res = await lambda().send(
    new InvokeCommand({
      FunctionName: functionArn,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify(request)),
    }),
  );
  const text = res.Payload ? Buffer.from(res.Payload).toString('utf8') : '';
  let payload: unknown = undefined;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  if (res.FunctionError) {
    const p = (payload ?? {}) as { errorType?: string; errorMessage?: string };
    throw new ExecutorError(
      p.errorType ?? res.FunctionError,
      p.errorMessage ?? `executor ${functionArn} failed (${res.FunctionError})`,
    );
  }
  return payload ?? null;
}

/** In-process executor if registered, else the Lambda ARN from TASK_EXECUTORS; unknown type → error. */
export function resolveExecutor(taskType: string): TaskExecutor {
  const local = registry.get(taskType);
  if (local) return local;
  const arn = stringMapEnv('TASK_EXECUTORS')[taskType];
  if (!arn)
    throw new NamedError(
      'NoExecutor',
      `no executor registered for task type "${taskType}" (TASK_EXECUTORS or registerTaskExecutor)`,
    );
  return (request) => invokeLambda(arn, request);
}
