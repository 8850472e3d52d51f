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
   * Extra conditions on the new image (`{ type: ["TASK"] }`), so rows no workflow
   * starts from never invoke the function. Default: every INSERT.
   */
  newImageFilter?: Record<string, string[]>;
}

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
      maximumRecordAgeInSeconds: 86400,
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
