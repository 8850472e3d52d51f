import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { s3 } from '../shared/aws/s3';
import { sfn } from '../shared/aws/sfn';
import { mapLimit } from '../../core/dynamo';
import { requireEnv, tables } from '../shared/env';
import { describeError, errorName, isConditionalCheckFailed } from '../../core/errors';
import { executionName, subTaskSk } from '../../core/keys';
import { dynamoItemBytes, SUB_TASK_ROW_MAX_BYTES } from '../../core/limits';
import { log } from '../shared/log';
import { metrics } from '../shared/metrics';
import { publishAlarm, publishStatusEventSafe } from '../shared/notify';
import { loadPayload } from '../../core/offload';
import { startExecutionOnce } from '../../core/sfn';
import { Action, isTerminal, TaskRowType, TaskStatus } from '../../core/status';
import type { Key } from '../../core/types';
import { getTaskRow, setParentStatus, type SubTaskRow, type TaskRow } from './model';

export interface PrepareResult {
  started: boolean;
  subTasks: number;
  executionName?: string;
  skipped?: string;
}

/**
 * Largest task machine input (`{ pk, sk, subTasks }`) we start. Every Lambda task gets
 * `{ source, context: $$, input: $ }`, and at finalize_task both `$$.Execution.Input` and `$`
 * (map_state keeps its input, ResultPath null) carry the sub-task keys: the keys count twice,
 * plus a caught error (`$.error`, a Cause of up to 32 KiB) and the rest of the context object.
 * Past 256 KiB the state fails with States.DataLimitExceeded, which no Catch handles and which
 * would leave the task PROCESSING: (256 KiB − 32 KiB − 8 KiB context/envelope) / 2 = 108 KiB,
 * so 100 KiB leaves a margin.
 */
export const MAX_TASK_INPUT_BYTES = 100 * 1024;
/** Sub-task rows created in parallel (one conditional write each). */
const SUB_TASK_WRITE_CONCURRENCY = 16;

/**
 * Create a sub-task row unless it exists. A `task-start` re-drive can run alongside the
 * stream invocation (both saw `subTasksCreated` unset); by the time the slower one writes,
 * the machine may already have moved a sub-task to PROCESSING/COMPLETED, and an
 * unconditional write (BatchWriteItem has no conditions) would reset it to CREATED. An
 * UpdateItem with `attribute_not_exists(pk)` creates the row or leaves it alone; it needs
 * the same grant (UpdateItem on tasks) the functions already hold for the parent.
 */
async function createSubTaskOnce(row: SubTaskRow): Promise<boolean> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  Object.entries(row)
    .filter(([k, v]) => k !== 'pk' && k !== 'sk' && v !== undefined)
    .forEach(([k, v], i) => {
      names[`#a${i}`] = k;
      values[`:a${i}`] = v;
      sets.push(`#a${i} = :a${i}`);
    });
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.tasks(),
        Key: { pk: row.pk, sk: row.sk },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_not_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    throw err;
  }
}

async function loadItems(task: TaskRow): Promise<unknown[]> {
  const items: unknown = task.inputRef ? await loadPayload(s3, requireEnv('IMPORT_BUCKET'), task.inputRef) : task.input;
  if (!Array.isArray(items))
    throw new Error(`task ${task.pk} / ${task.sk}: "input" must be an array of sub-task inputs`);
  return items as unknown[];
}

/**
 * Fail a task before its machine started. Every item counts as failed (`failed = total`), and
 * sub-task rows already created (a write failed part-way) are ended FAILED with the reason, so
 * nothing stays open and the counters add up. Safe here: no machine runs, nothing else counts.
 */
async function failTask(task: TaskRow, reason: string, itemCount?: number, subTasksMayExist = false): Promise<void> {
  const total = itemCount ?? Number(task.total ?? 0);
  if (subTasksMayExist)
    await mapLimit(
      Array.from({ length: total }, (_, i) => subTaskSk(task.sk, i)),
      SUB_TASK_WRITE_CONCURRENCY,
      async (sk) => {
        try {
          await ddb().send(
            new UpdateCommand({
              TableName: tables.tasks(),
              Key: { pk: task.pk, sk },
              UpdateExpression: 'SET #status = :failed, #error = :e, finishedAt = :now',
              // a missing row fails the condition: nothing is created
              ConditionExpression: '#status = :created',
              ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
              ExpressionAttributeValues: {
                ':failed': TaskStatus.FAILED,
                ':created': TaskStatus.CREATED,
                ':e': `not run: ${reason}`,
                ':now': new Date().toISOString(),
              },
            }),
          );
        } catch (err) {
          if (!isConditionalCheckFailed(err)) throw err;
        }
      },
    );
  metrics.taskEnded(
    TaskStatus.FAILED,
    await setParentStatus(task, TaskStatus.FAILED, {
      error: reason,
      finishedAt: new Date().toISOString(),
      total,
      succeeded: 0,
      failed: total,
    }),
  );
  await publishAlarm({ kind: 'task-failed', table: 'tasks', pk: task.pk, sk: task.sk, error: reason });
  await publishStatusEventSafe(Action.TASK_STATUS, {
    table: 'tasks',
    pk: task.pk,
    sk: task.sk,
    type: TaskRowType.TASK,
    taskType: task.taskType,
    status: TaskStatus.FAILED,
    error: reason,
  });
}

/** Fail the task (reason on its row) when its machine input would be over MAX_TASK_INPUT_BYTES. */
async function refuseOversizedInput(task: TaskRow, subKeys: Key[]): Promise<PrepareResult | undefined> {
  const size = Buffer.byteLength(JSON.stringify({ pk: task.pk, sk: task.sk, subTasks: subKeys }), 'utf8');
  if (size <= MAX_TASK_INPUT_BYTES) return undefined;
  await failTask(
    task,
    `task has ${subKeys.length} sub-tasks: their keys (${size} bytes) exceed the ${MAX_TASK_INPUT_BYTES} bytes the task machine can carry ` +
      `(each Lambda payload holds them twice, in $$.Execution.Input and $, under the 256 KiB state limit); split it into several tasks`,
    subKeys.length,
    task.subTasksCreated === true,
  );
  return { started: false, subTasks: subKeys.length, skipped: 'too many sub-tasks' };
}

/**
 * The tasks stream INSERT (and the `task-start` action): create one SUB_TASK row per input
 * item, then start the task machine with `{ pk, sk, subTasks: [keys] }` under a deterministic
 * name. Safe to repeat, also concurrently: a sub-task row is only created where none exists
 * (never rewritten), `subTasksCreated` is set once they all exist, and a second
 * StartExecution with the same name counts as success.
 */
export async function prepareAndStartTask(key: Key): Promise<PrepareResult> {
  const task = await getTaskRow<TaskRow>(key);
  if (!task) return { started: false, subTasks: 0, skipped: 'task row not found' };
  if (task.type !== TaskRowType.TASK)
    return { started: false, subTasks: 0, skipped: `not a task row (type ${String(task.type)})` };
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
    subKeys = items.map((_, index) => ({ pk: task.pk, sk: subTaskSk(task.sk, index) }));
    // checked before any sub-task row exists, so a refused task leaves none behind
    const refused = await refuseOversizedInput(task, subKeys);
    if (refused) return refused;
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
    const oversize = rows.findIndex((r) => dynamoItemBytes(r) > SUB_TASK_ROW_MAX_BYTES);
    if (oversize >= 0) {
      await failTask(
        task,
        `sub-task ${oversize} is ${dynamoItemBytes(rows[oversize])} bytes; a sub-task row holds at most ${SUB_TASK_ROW_MAX_BYTES} bytes (DynamoDB's 400 KB item limit less room for its result and error): pass a reference to large inputs instead`,
        rows.length,
      );
      return { started: false, subTasks: rows.length, skipped: 'sub-task too large' };
    }
    try {
      await mapLimit(rows, SUB_TASK_WRITE_CONCURRENCY, createSubTaskOnce);
    } catch (err) {
      // DynamoDB refuses the item itself (too deep, an invalid value): retrying cannot help
      if (errorName(err) !== 'ValidationException') throw err;
      await failTask(task, `a sub-task could not be written: ${describeError(err)}`, rows.length, true);
      return { started: false, subTasks: rows.length, skipped: 'sub-task not writable' };
    }
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
  } else {
    const total = Number(task.total ?? 0);
    subKeys = Array.from({ length: total }, (_, i) => ({ pk: task.pk, sk: subTaskSk(task.sk, i) }));
    const refused = await refuseOversizedInput(task, subKeys);
    if (refused) return refused;
  }

  const input = { pk: task.pk, sk: task.sk, subTasks: subKeys };
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
