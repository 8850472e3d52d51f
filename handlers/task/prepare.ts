import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { sfn } from '../shared/aws/sfn';
import { batchPutAll } from '../shared/dynamo';
import { requireEnv, tables } from '../shared/env';
import { describeError, isConditionalCheckFailed } from '../shared/errors';
import { executionName, subTaskSk } from '../shared/keys';
import { log } from '../shared/log';
import { publishAlarm, publishStatusEventSafe } from '../shared/notify';
import { loadPayload } from '../shared/offload';
import { SFN_MAX_PAYLOAD_BYTES, startExecutionOnce } from '../shared/sfn-helpers';
import { Action, isTerminal, TaskRowType, TaskStatus } from '../shared/status';
import type { Key } from '../shared/types';
import { getTaskRow, setParentStatus, type SubTaskRow, type TaskRow } from './model';

export interface PrepareResult {
  started: boolean;
  subTasks: number;
  executionName?: string;
  skipped?: string;
}

async function loadItems(task: TaskRow): Promise<unknown[]> {
  const items = task.inputRef ? await loadPayload(s3(), requireEnv('IMPORT_BUCKET'), task.inputRef) : task.input;
  if (!Array.isArray(items)) throw new Error(`task ${task.pk} / ${task.sk}: "input" must be an array of sub-task inputs`);
  return items;
}

async function failTask(task: TaskRow, reason: string): Promise<void> {
  await setParentStatus(task, TaskStatus.FAILED, { error: reason, finishedAt: new Date().toISOString() });
  await publishAlarm({ kind: 'task-failed', table: 'tasks', pk: task.pk, sk: task.sk, error: reason });
  await publishStatusEventSafe(Action.TASK_STATUS, { table: 'tasks', pk: task.pk, sk: task.sk, type: TaskRowType.TASK, taskType: task.taskType, status: TaskStatus.FAILED, error: reason });
}

/**
 * The tasks stream INSERT (and the `task-start` action): create one SUB_TASK row per input
 * item, then start the task machine with `{ pk, sk, subTasks: [keys] }` under a deterministic
 * name. Safe to repeat: sub-tasks are only (re)written before the machine has been started
 * (`subTasksCreated` flag, set after they are all written), and a second StartExecution with
 * the same name counts as success.
 */
export async function prepareAndStartTask(key: Key): Promise<PrepareResult> {
  const task = await getTaskRow<TaskRow>(key);
  if (!task) return { started: false, subTasks: 0, skipped: 'task row not found' };
  if (task.type !== TaskRowType.TASK) return { started: false, subTasks: 0, skipped: `not a task row (type ${String(task.type)})` };
  if (isTerminal(task.status)) return { started: false, subTasks: 0, skipped: `task already ${task.status}` };
  if (!task.taskType) {
    await failTask(task, 'task has no taskType');
    return { started: false, subTasks: 0, skipped: 'no taskType' };
  }

  let subKeys: Key[];
  if (!task.subTasksCreated) {
    let items: unknown[];
    try {
      items = await loadItems(task);
    } catch (err) {
      await failTask(task, describeError(err));
      return { started: false, subTasks: 0, skipped: 'invalid input' };
    }
    const now = new Date().toISOString();
    const rows: SubTaskRow[] = items.map((input, index) => ({
      pk: task.pk,
      sk: subTaskSk(task.sk, index),
      type: TaskRowType.SUB_TASK,
      parentPk: task.pk,
      parentSk: task.sk,
      index,
      taskType: task.taskType,
      input,
      status: TaskStatus.CREATED,
      createdAt: now,
    }));
    await batchPutAll(ddb(), tables.tasks(), rows);
    try {
      await ddb().send(
        new UpdateCommand({
          TableName: tables.tasks(),
          Key: { pk: task.pk, sk: task.sk },
          UpdateExpression:
            'SET subTasksCreated = :true, #total = :n, succeeded = if_not_exists(succeeded, :zero), failed = if_not_exists(failed, :zero), #status = :processing, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND NOT #status IN (:completed, :failed)',
          ExpressionAttributeNames: { '#status': 'status', '#total': 'total' },
          ExpressionAttributeValues: {
            ':true': true,
            ':n': rows.length,
            ':zero': 0,
            ':processing': TaskStatus.PROCESSING,
            ':completed': TaskStatus.COMPLETED,
            ':failed': TaskStatus.FAILED,
            ':now': now,
          },
        }),
      );
    } catch (err) {
      if (isConditionalCheckFailed(err)) return { started: false, subTasks: 0, skipped: 'task ended meanwhile' };
      throw err;
    }
    subKeys = rows.map((r) => ({ pk: r.pk, sk: r.sk }));
  } else {
    const total = Number(task.total ?? 0);
    subKeys = Array.from({ length: total }, (_, i) => ({ pk: task.pk, sk: subTaskSk(task.sk, i) }));
  }

  const input = { pk: task.pk, sk: task.sk, subTasks: subKeys };
  const size = Buffer.byteLength(JSON.stringify(input), 'utf8');
  if (size > SFN_MAX_PAYLOAD_BYTES - 1024) {
    await failTask(task, `task has ${subKeys.length} sub-tasks: their keys (${size} bytes) exceed the 256 KiB execution input limit; split it into several tasks`);
    return { started: false, subTasks: subKeys.length, skipped: 'too many sub-tasks' };
  }
  const name = executionName('tasks', task.pk, task.sk);
  const res = await startExecutionOnce(sfn(), requireEnv('TASK_STATE_MACHINE_ARN'), name, input);
  if (res.executionArn) {
    await ddb()
      .send(
        new UpdateCommand({
          TableName: tables.tasks(),
          Key: { pk: task.pk, sk: task.sk },
          UpdateExpression: 'SET executionArn = :arn',
          ExpressionAttributeValues: { ':arn': res.executionArn },
        }),
      )
      .catch((err: unknown) => log('warn', 'could not store executionArn', { key, error: describeError(err) }));
  }
  if (res.started) {
    await publishStatusEventSafe(Action.TASK_STATUS, {
      table: 'tasks',
      pk: task.pk,
      sk: task.sk,
      type: TaskRowType.TASK,
      taskType: task.taskType,
      status: TaskStatus.PROCESSING,
      total: subKeys.length,
    });
  }
  return { started: res.started, subTasks: subKeys.length, executionName: name };
}
