import { SNSClient } from '@aws-sdk/client-sns';

let client: SNSClient | undefined;

/** One SNS client per container (endpoint overridable by AWS_ENDPOINT_URL_SNS). */
export function sns(): SNSClient {
  if (!client) client = new SNSClient({});
  return client;
}

export function resetSnsClient(): void {
  client?.destroy();
  client = undefined;
}
