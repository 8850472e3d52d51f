import { handleCommandStep } from './command/steps';
import type { StepEvent } from '../core/types';

/** Every Task state of the command machine, dispatched on context.State.Name. */
export const handler = (event: StepEvent<unknown>): Promise<unknown> => handleCommandStep(event);
