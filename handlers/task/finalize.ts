import { ddb } from '../shared/aws/dynamodb';
import { queryAll } from '../../core/dynamo';
import { tables } from '../shared/env';
import { truncate } from '../../core/errors';
import { subTaskPrefix } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm, publishStatusEventSafe } from '../shared/notify';
import { Action, TaskRowType, TaskStatus } from '../../core/status';
import type { CaughtError, Key } from '../../core/types';
import { endSubTask, getTaskRow, setParentStatus, type SubTaskRow, type TaskRow } from './model';

export interface TaskSummary {
  pk: string;
  sk: string;
  status: TaskStatus;
  total: number;
  succeeded: number;
  failed: number;
}

/**
 * `finalize_task`: every sub-task still CREATED/PROCESSING (the machine failed, was aborted
 * or an iterator crashed) is ended as FAILED with a reason and counted; counters are then
 * reconciled from the sub-task rows and the parent ends COMPLETED (all succeeded) or FAILED.
 */
export async function finalizeTask(key: Key, machineError?: CaughtError): Promise<TaskSummary> {
  const task = await getTaskRow<TaskRow>(key);
  if (!task) throw new Error(`task ${key.pk} / ${key.sk} not found`);
  const errorText = machineError
    ? truncate(`${machineError.Error ?? 'Error'}: ${machineError.Cause ?? ''}`, 2000)
    : undefined;

  let subs = (await queryAll(ddb(), {
    TableName: tables.tasks(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': task.pk, ':prefix': subTaskPrefix(task.sk) },
    ConsistentRead: true,
  })) as SubTaskRow[];

  const unfinished = subs.filter((s) => s.status === TaskStatus.CREATED || s.status === TaskStatus.PROCESSING);
  for (const s of unfinished) {
    const reason = errorText
      ? `not processed: task machine failed (${errorText})`
      : 'not processed: the task machine ended before this sub-task ran';
    await endSubTask(s, s.status, TaskStatus.FAILED, { error: reason });
  }
  if (unfinished.length > 0) {
    subs = (await queryAll(ddb(), {
      TableName: tables.tasks(),
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': task.pk, ':prefix': subTaskPrefix(task.sk) },
      ConsistentRead: true,
    })) as SubTaskRow[];
  }

  const total = Math.max(Number(task.total ?? 0), subs.length);
  const succeeded = subs.filter((s) => s.status === TaskStatus.COMPLETED).length;
  const missing = total - subs.length;
  const failed = subs.filter((s) => s.status === TaskStatus.FAILED).length + missing;
  if (Number(task.succeeded ?? 0) !== succeeded || Number(task.failed ?? 0) !== failed) {
    log('warn', 'task counters reconciled from sub-task rows', {
      key,
      counters: { succeeded: task.succeeded, failed: task.failed },
      actual: { succeeded, failed },
    });
  }
  const status = failed === 0 && succeeded === total && !errorText ? TaskStatus.COMPLETED : TaskStatus.FAILED;
  const extra: Record<string, unknown> = { total, succeeded, failed, finishedAt: new Date().toISOString() };
  if (errorText) extra.error = errorText;
  if (missing > 0) extra.missingSubTasks = missing;
  metrics.taskEnded(status, await setParentStatus(task, status, extra));

  await publishStatusEventSafe(Action.TASK_STATUS, {
    table: 'tasks',
    pk: task.pk,
    sk: task.sk,
    type: TaskRowType.TASK,
    taskType: task.taskType,
    status,
    total,
    succeeded,
    failed,
    ...(errorText ? { error: errorText } : {}),
  });
  if (errorText)
    await publishAlarm({
      kind: 'task-failed',
      table: 'tasks',
      pk: task.pk,
      sk: task.sk,
      state: 'finalize_task',
      error: errorText,
    });
  return { pk: task.pk, sk: task.sk, status, total, succeeded, failed };
}
