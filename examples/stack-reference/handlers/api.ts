// The application side: the config arrives as JSON in an environment variable.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { createCqrsClient, parseClientConfig } from 'cqrs-workflows/client';

// Checked once per container: a missing or malformed field fails the cold start, naming it.
const config = parseClientConfig(process.env.CQRS_CLIENT_CONFIG);
const cqrs = createCqrsClient({
  ...config,
  clients: { dynamodb: new DynamoDBClient({ region: config.region }), s3: new S3Client({ region: config.region }) },
});

export async function handler(event: { orderId: string; status: string }): Promise<{ version: number }> {
  const published = await cqrs.publishCommand({
    pk: 'TENANT#acme',
    code: `ORDER#${event.orderId}`,
    attributes: { status: event.status },
  });
  return { version: published.version };
}
