import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const doc = /* @__PURE__ */ perContainer(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  }),
);

/** The container's DynamoDB document client. */
export const ddb = doc.get;
export const resetDynamoDbClient = doc.reset;
