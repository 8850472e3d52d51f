import type { BatchResponse, DynamoStreamEvent } from './shared/stream';
import { routeStreamEvent, runCommandStep, type InvocationContext } from './triggers/router';
import { isRecord, type StepEvent } from '../core/types';

/**
 * DynamoDB stream INSERTs of `commands`, `tasks` and `import_tmp`; and `run_command` of the
 * command-wait machine (EXPRESS path), which runs a version that waited the way the router
 * runs every new one.
 */
export function handler(event: DynamoStreamEvent, context?: InvocationContext): Promise<BatchResponse>;
export function handler(event: StepEvent<unknown>, context?: InvocationContext): Promise<unknown>;
export function handler(event: DynamoStreamEvent | StepEvent<unknown>, context?: InvocationContext): Promise<unknown> {
  return isRecord(event) && event.source === 'step-function'
    ? runCommandStep(event as StepEvent<unknown>, context)
    : routeStreamEvent(event as DynamoStreamEvent, context);
}
