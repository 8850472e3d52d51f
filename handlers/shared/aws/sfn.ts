import { SFNClient } from '@aws-sdk/client-sfn';

let client: SFNClient | undefined;

/** One Step Functions client per container (endpoint overridable by AWS_ENDPOINT_URL_SFN). */
export function sfn(): SFNClient {
  if (!client) client = new SFNClient({});
  return client;
}

export function resetSfnClient(): void {
  client?.destroy();
  client = undefined;
}
