import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Explicit configuration of the client API: no environment variables, no hidden globals. */
export interface CqrsClientConfig {
  /**
   * Region of the deployment, as in the stack's `clientConfig` output. The client does not
   * use it (each SDK client calls the region it was built for); it is here so a
   * `clientConfig` can be spread in unchanged.
   */
  region?: string;
  /** Physical table names (`<prefix>-commands`, ...). Only the ones an operation uses are required. */
  tables: {
    commands?: string;
    data?: string;
    tasks?: string;
    importTmp?: string;
  };
  /** The import bucket: default bucket of imports, and where large values are offloaded (`payloads/`). */
  importBucket?: string;
  /** Main SNS topic: imports are started by publishing `import-csv` / `import-zip` to it. */
  mainTopicArn?: string;
  clients: {
    /** A DynamoDBClient (wrapped) or a DynamoDBDocumentClient (used as is). */
    dynamodb?: DynamoDBClient | DynamoDBDocumentClient;
    sfn?: SFNClient;
    sns?: SNSClient;
    s3?: S3Client;
  };
  /** CSV files up to this size are imported DIRECT (one Lambda), larger ones by the state machine. Default 256 KiB, as the stack's `directImportMaxBytes`. */
  directImportMaxBytes?: number;
  /** Attribute/input JSON larger than this is offloaded to S3. Default 200 KiB (DynamoDB items max 400 KB). */
  maxInlineBytes?: number;
}

export class ConfigError extends Error {
  constructor(what: string) {
    super(`cqrs-workflows client: ${what} is required for this operation but missing from the config`);
    this.name = 'ConfigError';
  }
}

const wrapped = new WeakMap<DynamoDBClient, DynamoDBDocumentClient>();

export function documentClient(config: CqrsClientConfig): DynamoDBDocumentClient {
  const c = config.clients.dynamodb;
  if (!c) throw new ConfigError('clients.dynamodb');
  if (c instanceof DynamoDBDocumentClient) return c;
  let doc = wrapped.get(c);
  if (!doc) {
    doc = DynamoDBDocumentClient.from(c, { marshallOptions: { removeUndefinedValues: true } });
    wrapped.set(c, doc);
  }
  return doc;
}

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null || value === '') throw new ConfigError(what);
  return value;
}
