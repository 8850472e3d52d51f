import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { truncate } from './errors';

/** SNS messages are limited to 256 KiB; keep ours well below. */
const MAX_MESSAGE_BYTES = 200 * 1024;

export interface EventBody {
  [key: string]: unknown;
}

/** Publish `{ action, ...body }` with an `action` message attribute (the topic's filter policies route on it). */
export async function publishAction(
  client: SNSClient,
  topicArn: string,
  action: string,
  body: EventBody,
): Promise<void> {
  let message = JSON.stringify({ ...body, action });
  if (Buffer.byteLength(message, 'utf8') > MAX_MESSAGE_BYTES) {
    message = JSON.stringify({ action, truncated: true, preview: truncate(message, MAX_MESSAGE_BYTES / 2) });
  }
  await client.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: message,
      MessageAttributes: { action: { DataType: 'String', StringValue: action } },
    }),
  );
}
