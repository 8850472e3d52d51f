import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * One DynamoDB document client per container, created on first use (so the endpoint,
 * e.g. AWS_ENDPOINT_URL_DYNAMODB which the SDK honours natively, is read after the
 * environment is final).
 */
let doc: DynamoDBDocumentClient | undefined;

export function ddb(): DynamoDBDocumentClient {
  if (!doc) {
    doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      unmarshallOptions: { wrapNumbers: false },
    });
  }
  return doc;
}

/** Drop the cached client (tests, or after changing the endpoint). */
export function resetDynamoDbClient(): void {
  doc?.destroy();
  doc = undefined;
}
