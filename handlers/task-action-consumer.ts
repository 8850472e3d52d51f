import type { BatchResponse, SqsEvent } from './shared/stream';
import { taskActionConsumer } from './triggers/task-consumer';

export { registerTaskExecutor, unregisterTaskExecutor } from './task/executors';

/** SQS `task-action`: `task-start`, `task-execute` (partial batch failures reported). */
export const handler = (event: SqsEvent): Promise<BatchResponse> => taskActionConsumer(event);
