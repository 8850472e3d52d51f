import { describeError } from '../../core/errors';
import { log } from './log';
import { isRecord } from '../../core/types';
import type { BatchResponse, SqsEvent, SqsRecord } from './stream';

export interface ActionMessage {
  action: string;
  body: Record<string, unknown>;
  record: SqsRecord;
}

/**
 * Decode an SQS message that came from the main topic: either the SNS envelope
 * (`{ Type: "Notification", Message, MessageAttributes: { action: { Value } } }`) or a raw
 * message (raw message delivery: body is our JSON, attribute in `messageAttributes`).
 */
export function decodeActionMessage(record: SqsRecord): ActionMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(record.body);
  } catch {
    throw new Error(`message ${record.messageId} is not JSON`);
  }
  let body: unknown = parsed;
  let action: string | undefined = record.messageAttributes?.action?.stringValue;
  if (isRecord(parsed) && parsed.Type === 'Notification' && typeof parsed.Message === 'string') {
    const attrs = parsed.MessageAttributes;
    if (isRecord(attrs) && isRecord(attrs.action) && typeof attrs.action.Value === 'string')
      action = attrs.action.Value;
    try {
      body = JSON.parse(parsed.Message);
    } catch {
      throw new Error(`message ${record.messageId}: SNS Message is not JSON`);
    }
  }
  if (!isRecord(body)) throw new Error(`message ${record.messageId}: body is not a JSON object`);
  if (!action && typeof body.action === 'string') action = body.action;
  if (!action) throw new Error(`message ${record.messageId}: no "action" attribute`);
  return { action, body, record };
}

/**
 * Process each record independently; failed ones are returned in `batchItemFailures`
 * (the event source mapping must enable ReportBatchItemFailures) so only they are retried
 * and, after maxReceiveCount, land in the DLQ.
 */
export async function processSqsBatch(
  event: SqsEvent,
  handle: (message: ActionMessage) => Promise<void>,
  source: string,
): Promise<BatchResponse> {
  const batchItemFailures: BatchResponse['batchItemFailures'] = [];
  for (const record of event.Records ?? []) {
    try {
      await handle(decodeActionMessage(record));
    } catch (err) {
      log('error', `${source}: message failed`, { messageId: record.messageId, error: describeError(err) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
