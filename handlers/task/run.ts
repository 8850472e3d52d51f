import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { optionalEnv, tables } from '../shared/env';
import { describeError, isConditionalCheckFailed } from '../../core/errors';
import { publishStatusEventSafe } from '../shared/notify';
import { jsonBytes, offloadIfLarge } from '../../core/offload';
import { Action, isTerminal, TaskRowType, TaskStatus } from '../../core/status';
import type { Key } from '../../core/types';
import { resolveExecutor } from './executors';
import { endSubTask, getTaskRow, type SubTaskRow } from './model';

/** Results larger than this are offloaded to S3 (payloads/) instead of stored on the sub-task row. */
export const MAX_INLINE_RESULT_BYTES = 64 * 1024;

export interface SubTaskOutcome {
  pk: string;
  sk: string;
  status: TaskStatus;
  error?: string;
}

/**
 * The `iterator` state (and the `task-execute` action): sub-task CREATED → PROCESSING →
 * COMPLETED | FAILED. The executor's error is recorded on the sub-task, never thrown, so
 * one failing item does not stop the others; the parent's counters move in the same
 * transaction as the sub-task's final status.
 */
export async function runSubTask(key: Key): Promise<SubTaskOutcome> {
  const sub = await getTaskRow<SubTaskRow>(key);
  if (!sub) throw new Error(`sub-task ${key.pk} / ${key.sk} not found`);
  if (sub.type !== TaskRowType.SUB_TASK) throw new Error(`${key.pk} / ${key.sk} is not a sub-task`);
  if (isTerminal(sub.status)) return { pk: sub.pk, sk: sub.sk, status: sub.status };

  const startedAt = new Date().toISOString();
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.tasks(),
        Key: { pk: sub.pk, sk: sub.sk },
        UpdateExpression: 'SET #status = :processing, startedAt = :now ADD attempts :one',
        ConditionExpression: '#status IN (:created, :processing)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':processing': TaskStatus.PROCESSING,
          ':created': TaskStatus.CREATED,
          ':now': startedAt,
          ':one': 1,
        },
      }),
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) {
      const now = await getTaskRow<SubTaskRow>(key);
      return { pk: key.pk, sk: key.sk, status: now?.status ?? TaskStatus.FAILED };
    }
    throw err;
  }
  const event = {
    table: 'tasks',
    pk: sub.pk,
    sk: sub.sk,
    type: TaskRowType.SUB_TASK,
    parentPk: sub.parentPk,
    parentSk: sub.parentSk,
    taskType: sub.taskType,
  };
  await publishStatusEventSafe(Action.TASK_STATUS, { ...event, status: TaskStatus.PROCESSING });

  let outcome: typeof TaskStatus.COMPLETED | typeof TaskStatus.FAILED;
  let details: { result?: unknown; resultRef?: string; error?: string };
  try {
    const executor = resolveExecutor(sub.taskType);
    const result = await executor({
      source: 'task',
      taskType: sub.taskType,
      parent: { pk: sub.parentPk, sk: sub.parentSk },
      subTask: { pk: sub.pk, sk: sub.sk },
      index: Number(sub.index),
      input: sub.input,
    });
    outcome = TaskStatus.COMPLETED;
    if (result === undefined) details = {};
    else if (jsonBytes(result) <= MAX_INLINE_RESULT_BYTES) details = { result };
    else {
      const off = await offloadIfLarge(
        s3,
        optionalEnv('IMPORT_BUCKET'),
        result,
        ['tasks', sub.pk, sub.sk, 'result'],
        MAX_INLINE_RESULT_BYTES,
      );
      details = off.ref ? { resultRef: off.ref } : { result };
    }
  } catch (err) {
    outcome = TaskStatus.FAILED;
    details = { error: describeError(err, 4000) };
  }
  const counted = await endSubTask(sub, TaskStatus.PROCESSING, outcome, details);
  if (!counted) {
    const now = await getTaskRow<SubTaskRow>(key);
    return { pk: key.pk, sk: key.sk, status: now?.status ?? outcome };
  }
  await publishStatusEventSafe(Action.TASK_STATUS, {
    ...event,
    status: outcome,
    ...(details.error ? { error: details.error } : {}),
  });
  return { pk: sub.pk, sk: sub.sk, status: outcome, ...(details.error ? { error: details.error } : {}) };
}
