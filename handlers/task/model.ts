import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { tables } from '../shared/env';
import { isTransactionConditionFailure } from '../../core/errors';
import { TaskStatus } from '../../core/status';
import type { Key } from '../../core/types';

/** Parent task row (`type = TASK`). */
export interface TaskRow {
  pk: string;
  sk: string;
  type: 'TASK';
  taskType: string;
  input?: unknown;
  inputRef?: string;
  status: TaskStatus;
  total?: number;
  succeeded?: number;
  failed?: number;
  subTasksCreated?: boolean;
  [key: string]: unknown;
}

/** Sub-task row (`type = SUB_TASK`, same pk as the parent, sk `<parentSk>#SUB#<index>`). */
export interface SubTaskRow {
  pk: string;
  sk: string;
  type: 'SUB_TASK';
  parentPk: string;
  parentSk: string;
  index: number;
  taskType: string;
  input?: unknown;
  status: TaskStatus;
  [key: string]: unknown;
}

export async function getTaskRow<T>(key: Key): Promise<T | undefined> {
  const res = await ddb().send(
    new GetCommand({ TableName: tables.tasks(), Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
  );
  return res.Item as T | undefined;
}

/** The transaction item that counts one ended sub-task on its parent (the only way counters change). */
export function countOnParent(parent: Key, counter: 'succeeded' | 'failed', now: string) {
  return {
    Update: {
      TableName: tables.tasks(),
      Key: { pk: parent.pk, sk: parent.sk },
      UpdateExpression: 'ADD #c :one SET updatedAt = :now',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#c': counter },
      ExpressionAttributeValues: { ':one': 1, ':now': now },
    },
  };
}

/**
 * End a sub-task exactly once: its status moves from `from` (one status or any of several)
 * to COMPLETED/FAILED and the parent's `succeeded`/`failed` counter is incremented in the
 * same transaction — the only way the counters ever change, so `succeeded + failed` always
 * counts exactly the ended sub-tasks. Returns false if the sub-task was no longer in `from`
 * (someone else ended it: nothing counted twice).
 */
export async function endSubTask(
  sub: Pick<SubTaskRow, 'pk' | 'sk' | 'parentPk' | 'parentSk'>,
  from: TaskStatus | readonly TaskStatus[],
  outcome: typeof TaskStatus.COMPLETED | typeof TaskStatus.FAILED,
  details: { result?: unknown; resultRef?: string; error?: string },
): Promise<boolean> {
  const now = new Date().toISOString();
  const sets = ['#status = :to', 'finishedAt = :now'];
  const fromList = typeof from === 'string' ? [from] : [...from];
  const values: Record<string, unknown> = { ':to': outcome, ':now': now };
  fromList.forEach((f, i) => (values[`:from${i}`] = f));
  if (details.result !== undefined) {
    sets.push('#result = :result');
    values[':result'] = details.result;
  }
  if (details.resultRef) {
    sets.push('resultRef = :resultRef');
    values[':resultRef'] = details.resultRef;
  }
  if (details.error) {
    sets.push('#error = :error');
    values[':error'] = details.error;
  }
  const counter = outcome === TaskStatus.COMPLETED ? 'succeeded' : 'failed';
  try {
    await ddb().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: tables.tasks(),
              Key: { pk: sub.pk, sk: sub.sk },
              UpdateExpression: `SET ${sets.join(', ')}`,
              ConditionExpression: `#status IN (${fromList.map((_, i) => `:from${i}`).join(', ')})`,
              ExpressionAttributeNames: {
                '#status': 'status',
                ...(details.result !== undefined ? { '#result': 'result' } : {}),
                ...(details.error ? { '#error': 'error' } : {}),
              },
              ExpressionAttributeValues: values,
            },
          },
          countOnParent({ pk: sub.parentPk, sk: sub.parentSk }, counter, now),
        ],
      }),
    );
    return true;
  } catch (err) {
    if (isTransactionConditionFailure(err, 0)) return false;
    throw err;
  }
}

/** Returns the status the parent had before (undefined when it had none). */
export async function setParentStatus(
  key: Key,
  status: TaskStatus,
  extra: Record<string, unknown> = {},
): Promise<unknown> {
  const names: Record<string, string> = { '#status': 'status' };
  const values: Record<string, unknown> = { ':s': status, ':now': new Date().toISOString() };
  const sets = ['#status = :s', 'updatedAt = :now'];
  Object.entries(extra).forEach(([k, v], i) => {
    names[`#x${i}`] = k;
    values[`:x${i}`] = v;
    sets.push(`#x${i} = :x${i}`);
  });
  const res = await ddb().send(
    new UpdateCommand({
      TableName: tables.tasks(),
      Key: { pk: key.pk, sk: key.sk },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_OLD',
    }),
  );
  return res.Attributes?.status;
}
