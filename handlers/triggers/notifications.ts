import { log } from '../shared/log';
import { processSqsBatch, type ActionMessage } from '../shared/sqs';
import type { BatchResponse, SqsEvent } from '../shared/stream';

/** A status event from the main topic (task-status, import-status, ...). */
export interface StatusEvent {
  action: string;
  table?: string;
  pk?: string;
  sk?: string;
  status?: string;
  [key: string]: unknown;
}

export type NotificationListener = (event: StatusEvent) => Promise<void> | void;

const listeners: NotificationListener[] = [];

/** Extension point: in-process listeners (e.g. push to websockets/AppSync) bundled into the consumer. */
export function addNotificationListener(listener: NotificationListener): () => void {
  listeners.push(listener);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/**
 * notification queue: every status event is validated, logged as one structured line and as
 * a CloudWatch Embedded Metric (namespace CqrsWorkflows, metric StatusEvents by action and
 * status), and handed to registered listeners. A listener failure fails only that message.
 */
export async function handleNotification(message: ActionMessage): Promise<void> {
  const body = message.body;
  if (typeof body.pk !== 'string' || typeof body.sk !== 'string')
    throw new Error(`status event ${message.record.messageId} has no pk/sk`);
  const event: StatusEvent = { ...body, action: message.action };
  const status = typeof event.status === 'string' ? event.status : 'UNKNOWN';
  log('info', 'status event', {
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: 'CqrsWorkflows',
          Dimensions: [['action', 'status']],
          Metrics: [{ Name: 'StatusEvents', Unit: 'Count' }],
        },
      ],
    },
    action: message.action,
    status,
    StatusEvents: 1,
    table: event.table,
    pk: event.pk,
    sk: event.sk,
    messageId: message.record.messageId,
  });
  for (const listener of listeners) await listener(event);
}

export const notificationConsumer = (event: SqsEvent): Promise<BatchResponse> =>
  processSqsBatch(event, handleNotification, 'notification-consumer');
