import { LambdaClient } from '@aws-sdk/client-lambda';

let client: LambdaClient | undefined;

/** One Lambda client per container (endpoint overridable by AWS_ENDPOINT_URL_LAMBDA). */
export function lambda(): LambdaClient {
  if (!client) client = new LambdaClient({});
  return client;
}

export function resetLambdaClient(): void {
  client?.destroy();
  client = undefined;
}
