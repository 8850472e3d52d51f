// A task executor: the task machine invokes it once per sub-task of an `invoice` task.
import type { TaskExecutionRequest } from 'cqrs-workflows/client';

export async function handler(request: TaskExecutionRequest): Promise<{ invoiced: boolean }> {
  // request.input is the sub-task's item; the return value becomes the sub-task's result.
  console.log(JSON.stringify({ message: 'invoicing', subTask: request.subTask, index: request.index }));
  return Promise.resolve({ invoiced: true });
}
