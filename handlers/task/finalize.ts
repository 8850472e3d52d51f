import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { queryAll } from '../../core/dynamo';
import { tables } from '../shared/env';
import { isConditionalCheckFailed, isTransactionConditionFailure, truncate } from '../../core/errors';
import { subTaskPrefix, subTaskSk } from '../../core/keys';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm, publishStatusEventSafe } from '../shared/notify';
import { Action, TaskRowType, TaskStatus } from '../../core/status';
import type { CaughtError, Key } from '../../core/types';
import { countOnParent, endSubTask, getTaskRow, type SubTaskRow, type TaskRow } from './model';

/** Test seam: runs after finalize_task read the sub-tasks (to force the race with a still-running iterator). */
export const finalizeHooks: { afterSubTasksRead?: (key: Key) => Promise<void> } = {};

export interface TaskSummary {
  pk: string;
  sk: string;
  status: TaskStatus;
  total: number;
  succeeded: number;
  failed: number;
}

const TERMINAL: readonly TaskStatus[] = [TaskStatus.COMPLETED, TaskStatus.FAILED];
const OPEN: readonly TaskStatus[] = [TaskStatus.CREATED, TaskStatus.PROCESSING];
/** Rounds of "end what is open, then close the parent" before giving up (a writer that keeps creating sub-tasks). */
const MAX_FINALIZE_ROUNDS = 5;

function summaryOf(task: TaskRow): TaskSummary {
  return {
    pk: task.pk,
    sk: task.sk,
    status: task.status,
    total: Number(task.total ?? 0),
    succeeded: Number(task.succeeded ?? 0),
    failed: Number(task.failed ?? 0),
  };
}

async function readSubTasks(task: TaskRow): Promise<SubTaskRow[]> {
  return (await queryAll(ddb(), {
    TableName: tables.tasks(),
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': task.pk, ':prefix': subTaskPrefix(task.sk) },
    ConsistentRead: true,
  })) as SubTaskRow[];
}

/**
 * A sub-task index below `total` without a row (deleted by hand): created FAILED, counted in
 * the same transaction, so that it too has ended and is counted once.
 */
async function failMissingSubTask(task: TaskRow, index: number, reason: string): Promise<void> {
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            // an Update with attribute_not_exists creates the row (the role has no PutItem on tasks)
            Update: {
              TableName: tables.tasks(),
              Key: { pk: task.pk, sk: subTaskSk(task.sk, index) },
              UpdateExpression:
                'SET #type = :type, parentPk = :ppk, parentSk = :psk, #index = :index, taskType = :taskType, #status = :failed, #error = :e, finishedAt = :now',
              ConditionExpression: 'attribute_not_exists(pk)',
              ExpressionAttributeNames: { '#type': 'type', '#index': 'index', '#status': 'status', '#error': 'error' },
              ExpressionAttributeValues: {
                ':type': TaskRowType.SUB_TASK,
                ':ppk': task.pk,
                ':psk': task.sk,
                ':index': index,
                ':taskType': task.taskType,
                ':failed': TaskStatus.FAILED,
                ':e': `${reason} (its sub-task row was missing)`,
                ':now': now,
              },
            },
          },
          countOnParent(task, 'failed', now),
        ],
      }),
    );
  } catch (err) {
    if (!isTransactionConditionFailure(err, 0)) throw err;
  }
}

/**
 * The parent's final status, written only if the counters are still what was read (no sub-task
 * ended in between) and the task has not ended: counters are never SET, so a concurrent ADD
 * can never be overwritten. Returns false when something moved (read again and retry).
 */
async function closeParent(task: TaskRow, status: TaskStatus, errorText: string | undefined): Promise<boolean> {
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.tasks(),
        Key: { pk: task.pk, sk: task.sk },
        UpdateExpression: `SET #status = :s, finishedAt = :now, updatedAt = :now${errorText ? ', #error = :e' : ''}`,
        ConditionExpression: 'NOT #status IN (:completed, :failed) AND succeeded = :succ AND failed = :fail',
        ExpressionAttributeNames: { '#status': 'status', ...(errorText ? { '#error': 'error' } : {}) },
        ExpressionAttributeValues: {
          ':s': status,
          ':now': new Date().toISOString(),
          ':completed': TaskStatus.COMPLETED,
          ':failed': TaskStatus.FAILED,
          ':succ': Number(task.succeeded ?? 0),
          ':fail': Number(task.failed ?? 0),
          ...(errorText ? { ':e': errorText } : {}),
        },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

/**
 * `finalize_task`: every sub-task still CREATED or PROCESSING (the machine failed, was stopped
 * or an iterator crashed) is ended FAILED with a reason and counted — whichever state it is in
 * by then, so one an iterator moves CREATED → PROCESSING meanwhile is ended too, and that
 * iterator's own end then finds it ended and counts nothing. The parent ends COMPLETED (all
 * succeeded) or FAILED once `succeeded + failed = total`. A task that has ended is left as it is.
 */
export async function finalizeTask(key: Key, machineError?: CaughtError): Promise<TaskSummary> {
  const errorText = machineError
    ? truncate(`${machineError.Error ?? 'Error'}: ${machineError.Cause ?? ''}`, 2000)
    : undefined;
  const reason = errorText
    ? `not processed: task machine failed (${errorText})`
    : 'not processed: the task machine ended before this sub-task ran';

  for (let round = 1; ; round++) {
    const task = await getTaskRow<TaskRow>(key);
    if (!task) throw new Error(`task ${key.pk} / ${key.sk} not found`);
    if (TERMINAL.includes(task.status)) return summaryOf(task);
    const subs = await readSubTasks(task);
    await finalizeHooks.afterSubTasksRead?.(key);
    for (const s of subs) {
      if (OPEN.includes(s.status)) await endSubTask(s, OPEN, TaskStatus.FAILED, { error: reason });
    }
    const present = new Set(subs.map((s) => Number(s.index)));
    for (let i = 0; i < Number(task.total ?? 0); i++) if (!present.has(i)) await failMissingSubTask(task, i, reason);

    const now = (await getTaskRow<TaskRow>(key))!;
    if (TERMINAL.includes(now.status)) return summaryOf(now);
    const summary = summaryOf(now);
    if (summary.succeeded + summary.failed === summary.total) {
      const status = summary.failed === 0 && !errorText ? TaskStatus.COMPLETED : TaskStatus.FAILED;
      if (await closeParent(now, status, errorText)) {
        metrics.taskEnded(status, now.status); // closeParent only ends an open task: counted once
        await announce(now, { ...summary, status }, errorText);
        return { ...summary, status };
      }
    } else {
      log('warn', 'task counters do not add up yet: ending what is still open again', { key, summary, round });
    }
    if (round >= MAX_FINALIZE_ROUNDS)
      throw new Error(
        `task ${key.pk} / ${key.sk}: could not close it after ${round} rounds (succeeded ${summary.succeeded} + failed ${summary.failed} of ${summary.total})`,
      );
  }
}

async function announce(task: TaskRow, summary: TaskSummary, errorText: string | undefined): Promise<void> {
  await publishStatusEventSafe(Action.TASK_STATUS, {
    table: 'tasks',
    pk: task.pk,
    sk: task.sk,
    type: TaskRowType.TASK,
    taskType: task.taskType,
    status: summary.status,
    total: summary.total,
    succeeded: summary.succeeded,
    failed: summary.failed,
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
}
