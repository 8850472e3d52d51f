import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { assertNoProblems, taskKeyProblems } from '../core/limits';
import { DEFAULT_MAX_INLINE_BYTES, offloadIfLarge } from '../core/offload';
import { TaskRowType, TaskStatus } from '../core/status';
import { documentClient, need, type CqrsClientConfig } from './config';

export interface CreateTaskInput {
  pk: string;
  /** Default `TASK#<taskType>#<uuid>`. */
  sk?: string;
  /** Executor key: TASK_EXECUTORS maps it to a Lambda (or an in-process executor is registered for it). */
  taskType: string;
  /** One sub-task per item. */
  items: unknown[];
  /** Extra fields stored on the task row. */
  fields?: Record<string, unknown>;
}

export interface CreatedTask {
  pk: string;
  sk: string;
  total: number;
}

/**
 * Write a task row (`type = TASK`, status CREATED, counters 0). Its stream INSERT creates the
 * sub-tasks and starts the task machine. Large inputs are offloaded to S3 (`inputRef`).
 */
export async function createTask(config: CqrsClientConfig, input: CreateTaskInput): Promise<CreatedTask> {
  if (!input.pk) throw new Error('createTask: pk is required');
  if (!input.taskType) throw new Error('createTask: taskType is required');
  if (!Array.isArray(input.items)) throw new Error('createTask: items must be an array');
  const sk = input.sk ?? `TASK#${input.taskType}#${randomUUID()}`;
  assertNoProblems('createTask', taskKeyProblems(input.pk, sk, input.items.length));
  const off = await offloadIfLarge(
    config.clients.s3,
    config.importBucket,
    input.items,
    ['tasks', input.pk, sk, 'input'],
    config.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES,
  );
  await documentClient(config).send(
    new PutCommand({
      TableName: need(config.tables.tasks, 'tables.tasks'),
      Item: {
        ...(input.fields ?? {}),
        pk: input.pk,
        sk,
        type: TaskRowType.TASK,
        taskType: input.taskType,
        ...(off.ref ? { inputRef: off.ref } : { input: input.items }),
        status: TaskStatus.CREATED,
        total: input.items.length,
        succeeded: 0,
        failed: 0,
        createdAt: new Date().toISOString(),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  return { pk: input.pk, sk, total: input.items.length };
}
