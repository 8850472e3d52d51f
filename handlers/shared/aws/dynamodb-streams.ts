import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { perContainer } from './per-container';

// Pure: a bundle that never asks for this client leaves the SDK client out.
const client = /* @__PURE__ */ perContainer(() => new DynamoDBStreamsClient({}));

/** The container's DynamoDB Streams client (reads the records a failed stream batch left behind). */
export const dynamodbStreams = client.get;
export const resetDynamoDbStreamsClient = client.reset;
