/** Minimal types for DynamoDB Streams and SQS Lambda events, and an AttributeValue decoder. */

export interface StreamAttributeValue {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  M?: Record<string, StreamAttributeValue>;
  L?: StreamAttributeValue[];
  SS?: string[];
  NS?: string[];
  BS?: string[];
}

export interface DynamoStreamRecord {
  eventID?: string;
  /** INSERT, MODIFY or REMOVE. */
  eventName?: string;
  eventSourceARN?: string;
  dynamodb?: {
    Keys?: Record<string, StreamAttributeValue>;
    NewImage?: Record<string, StreamAttributeValue>;
    SequenceNumber?: string;
    ApproximateCreationDateTime?: number;
  };
}

export interface DynamoStreamEvent {
  Records: DynamoStreamRecord[];
}

export interface SqsRecord {
  messageId: string;
  body: string;
  messageAttributes?: Record<string, { stringValue?: string; dataType?: string }>;
  attributes?: Record<string, string>;
  eventSourceARN?: string;
}

export interface SqsEvent {
  Records: SqsRecord[];
}

/** Partial batch response (ReportBatchItemFailures) for both SQS and DynamoDB Streams. */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

function decodeNumber(n: string): number | string {
  const v = Number(n);
  return Number.isSafeInteger(v) || (Number.isFinite(v) && !/^-?\d{16,}$/.test(n)) ? v : n;
}

export function decodeAttribute(av: StreamAttributeValue): unknown {
  if (av.S !== undefined) return av.S;
  if (av.N !== undefined) return decodeNumber(av.N);
  if (av.BOOL !== undefined) return av.BOOL;
  if (av.NULL !== undefined) return null;
  if (av.B !== undefined) return Buffer.from(av.B, 'base64');
  if (av.M !== undefined) return decodeImage(av.M);
  if (av.L !== undefined) return av.L.map(decodeAttribute);
  if (av.SS !== undefined) return new Set(av.SS);
  if (av.NS !== undefined) return new Set(av.NS.map(decodeNumber));
  if (av.BS !== undefined) return new Set(av.BS.map((b) => Buffer.from(b, 'base64')));
  return undefined;
}

export function decodeImage(image: Record<string, StreamAttributeValue> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(image ?? {})) out[k] = decodeAttribute(v);
  return out;
}

/** Table name from a stream ARN `arn:aws:dynamodb:<region>:<acct>:table/<name>/stream/<ts>`. */
export function tableFromStreamArn(arn: string | undefined): string | undefined {
  const m = /:table\/([^/]+)/.exec(arn ?? '');
  return m?.[1];
}
