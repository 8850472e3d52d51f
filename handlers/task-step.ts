import type { StepEvent } from '../core/types';
import { handleTaskStep } from './task/steps';

export {
  registerTaskExecutor,
  unregisterTaskExecutor,
  type TaskExecutor,
  type TaskExecutionRequest,
} from './task/executors';

/** `iterator` and `finalize_task` of the task machine. */
export const handler = (event: StepEvent<unknown>): Promise<unknown> => handleTaskStep(event);
