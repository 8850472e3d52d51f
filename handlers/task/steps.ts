import { isRecord, requireKey, stateName, type CaughtError, type StepEvent } from '../../core/types';
import { finalizeTask } from './finalize';
import { runSubTask } from './run';

/** `iterator` (one sub-task key from the Map) and `finalize_task` (the task input, maybe with $.error). */
export async function handleTaskStep(event: StepEvent<unknown>): Promise<unknown> {
  const state = stateName(event);
  switch (state) {
    case 'iterator':
      return runSubTask(requireKey(event.input, 'iterator input'));
    case 'finalize_task': {
      const input = event.input;
      const error = isRecord(input) && isRecord(input.error) ? (input.error as CaughtError) : undefined;
      return finalizeTask(requireKey(input, 'finalize_task input'), error);
    }
    default:
      throw new Error(`task-step: unknown state "${state}"`);
  }
}
