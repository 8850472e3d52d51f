import type { BatchResponse, SqsEvent } from './shared/stream';
import { executionWatch } from './triggers/execution-watch';

/** SQS `execution-events`: Step Functions executions that ended TIMED_OUT/ABORTED/FAILED (partial batch failures reported). */
export const handler = (event: SqsEvent): Promise<BatchResponse> => executionWatch(event);
