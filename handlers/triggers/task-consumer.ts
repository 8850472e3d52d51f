import { finalizeTask } from '../task/finalize';
import { getTaskRow, type SubTaskRow, type TaskRow } from '../task/model';
import { prepareAndStartTask } from '../task/prepare';
import { runSubTask } from '../task/run';
import { processSqsBatch, type ActionMessage } from '../shared/sqs';
import { Action, isTerminal } from '../../core/status';
import type { BatchResponse, SqsEvent } from '../shared/stream';
import { requireKey } from '../../core/types';

/**
 * task-action queue:
 *  - `task-start` { pk, sk } of a task: create its sub-tasks and start the task machine (re-drive).
 *  - `task-execute` { pk, sk } of a sub-task: run it now (outside the machine); if it was the
 *    parent's last open sub-task, finalize the parent.
 */
export async function handleTaskAction(message: ActionMessage): Promise<void> {
  const key = requireKey(message.body, `${message.action} message`);
  if (message.action === Action.TASK_START) {
    await prepareAndStartTask(key);
    return;
  }
  if (message.action === Action.TASK_EXECUTE) {
    await runSubTask(key);
    const sub = await getTaskRow<SubTaskRow>(key);
    if (!sub) return;
    const parent = await getTaskRow<TaskRow>({ pk: sub.parentPk, sk: sub.parentSk });
    if (
      parent &&
      !isTerminal(parent.status) &&
      Number(parent.succeeded ?? 0) + Number(parent.failed ?? 0) >= Number(parent.total ?? 0)
    ) {
      await finalizeTask({ pk: parent.pk, sk: parent.sk });
    }
    return;
  }
  throw new Error(`task-action-consumer: unsupported action "${message.action}"`);
}

export const taskActionConsumer = (event: SqsEvent): Promise<BatchResponse> =>
  processSqsBatch(event, handleTaskAction, 'task-action-consumer');
