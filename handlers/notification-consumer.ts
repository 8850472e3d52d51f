import type { BatchResponse, SqsEvent } from './shared/stream';
import { notificationConsumer } from './triggers/notifications';

export { addNotificationListener, type StatusEvent } from './triggers/notifications';

/** SQS `notification`: status events (partial batch failures reported). */
export const handler = (event: SqsEvent): Promise<BatchResponse> => notificationConsumer(event);
