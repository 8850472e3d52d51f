// The approval machine's Task states, one Lambda dispatched on the state name. Each step
// returns the next state's input (keys, not records) and is safe to run twice.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Key, StepEvent } from 'cqrs-workflows/client';

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const table = () => {
  const name = process.env.DATA_TABLE;
  if (!name) throw new Error('DATA_TABLE is not set');
  return name;
};

async function setApproval(key: Key, values: Record<string, unknown>): Promise<void> {
  const names = Object.keys(values);
  await db.send(
    new UpdateCommand({
      TableName: table(),
      Key: key,
      UpdateExpression: `SET ${names.map((_, i) => `#n${i} = :v${i}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#n${i}`, n])),
      ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:v${i}`, values[n]])),
      ConditionExpression: 'attribute_exists(pk)',
    }),
  );
}

export async function handler(event: StepEvent<Key & { error?: unknown }>): Promise<Key> {
  const key = { pk: event.input.pk, sk: event.input.sk };
  switch (event.context?.State?.Name) {
    case 'check_order':
      await setApproval(key, { approval: 'CHECKED' });
      return key;
    case 'wait_for_decision':
      // Stored with the order; the approver's application resumes the execution with it.
      await setApproval(key, { approval: 'WAITING', approvalToken: event.taskToken });
      return key;
    case 'apply_decision':
      await setApproval(key, { approval: 'APPLIED', approvalToken: null });
      return key;
    case 'record_failure':
      await setApproval(key, { approval: 'FAILED', approvalError: JSON.stringify(event.input.error ?? null) });
      return key;
    default:
      throw new Error(`approval-step does not handle state ${String(event.context?.State?.Name)}`);
  }
}
