import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { HandlerFunction } from './handler-function';
import type { PolicyStatement } from './iam';

export interface StreamSourceArgs {
  streamArn: pulumi.Input<string>;
  /** Where records that exhaust their retries go (an SQS queue ARN). */
  onFailureDestinationArn: pulumi.Input<string>;
  /** Default: 3. */
  maximumRetryAttempts?: pulumi.Input<number>;
  /** Default: 10. */
  batchSize?: number;
  /**
   * Records older than this are not retried but sent to the on-failure destination. Default:
   * 86400 (the stream's 24 h retention).
   */
  maximumRecordAgeInSeconds?: number;
  /**
   * Extra conditions on the new image (`{ type: ["TASK"] }`), so rows no workflow
   * starts from never invoke the function. Default: every INSERT.
   */
  newImageFilter?: Record<string, string[]>;
}

/** How long a DynamoDB stream keeps a record (after that it may be trimmed at any moment). */
export const STREAM_RETENTION_SECONDS = 86_400;

/**
 * The commands stream's on-failure records name the batch (shard and sequence numbers), not its
 * records: execution-watch reads them back from the stream to end their versions FAILED. A
 * record dropped at the stream's full retention would already be trimmed by then, its version
 * never ended; dropped at 12 h, it leaves execution-watch (and its queue's redeliveries) the
 * other 12 h. A command stuck for 12 h behind a failing shard ends FAILED with the reason.
 */
export const COMMANDS_STREAM_MAX_RECORD_AGE_SECONDS = 43_200;

/** An event filter pattern: INSERT only, optionally narrowed by string attributes of the new image. */
export function insertFilterPattern(newImage?: Record<string, string[]>): string {
  const pattern: Record<string, unknown> = { eventName: ['INSERT'] };
  if (newImage && Object.keys(newImage).length > 0) {
    pattern.dynamodb = { NewImage: Object.fromEntries(Object.entries(newImage).map(([k, v]) => [k, { S: v }])) };
  }
  return JSON.stringify(pattern);
}

/**
 * A DynamoDB stream → Lambda mapping that only delivers INSERTs, retries a bounded
 * number of times, splits failing batches to isolate the poison record and sends
 * what still fails to a DLQ instead of blocking the shard.
 */
export function streamSource(
  name: string,
  fn: HandlerFunction,
  args: StreamSourceArgs,
  parent: pulumi.Resource,
): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      functionName: fn.function.name,
      eventSourceArn: args.streamArn,
      startingPosition: 'TRIM_HORIZON',
      batchSize: args.batchSize ?? 10,
      maximumRetryAttempts: args.maximumRetryAttempts ?? 3,
      bisectBatchOnFunctionError: true,
      maximumRecordAgeInSeconds: args.maximumRecordAgeInSeconds ?? STREAM_RETENTION_SECONDS,
      functionResponseTypes: ['ReportBatchItemFailures'],
      filterCriteria: { filters: [{ pattern: insertFilterPattern(args.newImageFilter) }] },
      destinationConfig: { onFailure: { destinationArn: args.onFailureDestinationArn } },
    },
    { parent, dependsOn: [fn.rolePolicy] },
  );
}

/** An SQS → Lambda mapping whose consumer reports partial batch failures. */
export function queueSource(
  name: string,
  fn: HandlerFunction,
  queueArn: pulumi.Input<string>,
  parent: pulumi.Resource,
  batchSize = 10,
): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      functionName: fn.function.name,
      eventSourceArn: queueArn,
      batchSize,
      functionResponseTypes: ['ReportBatchItemFailures'],
    },
    { parent, dependsOn: [fn.rolePolicy] },
  );
}

/**
 * What Lambda needs, with the function's role, to poll a table's stream and hand failed
 * batches to the DLQ. ListStreams has no resource type in the Service Authorization
 * Reference, so "*" is the only resource IAM evaluates it against; the other stream
 * actions are scoped to the streams of the given tables.
 */
export function streamReadStatements(
  tableArns: pulumi.Input<string>[],
  ...dlqArns: pulumi.Input<string>[]
): PolicyStatement[] {
  return [
    {
      Sid: 'ReadStreams',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      Resource: tableArns.map((arn) => pulumi.interpolate`${arn}/stream/*`),
    },
    { Sid: 'ListStreams', Action: ['dynamodb:ListStreams'], Resource: ['*'] },
    { Sid: 'StreamFailuresToDlq', Action: ['sqs:SendMessage'], Resource: dlqArns },
  ];
}

/** What Lambda needs, with the function's role, to poll a queue and delete what it handled. */
export function queueConsumeStatements(...queueArns: pulumi.Input<string>[]): PolicyStatement[] {
  return [
    {
      Sid: 'ConsumeQueue',
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      Resource: queueArns,
    },
  ];
}
