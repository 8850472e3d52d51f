import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { HandlerFunction } from "./handler-function";
import type { PolicyStatement } from "./iam";

export interface StreamSourceArgs {
  streamArn: pulumi.Input<string>;
  /** Where records that exhaust their retries go (an SQS queue ARN). */
  onFailureDestinationArn: pulumi.Input<string>;
  /** Default: 3. */
  maximumRetryAttempts?: pulumi.Input<number>;
  /** Default: 10. */
  batchSize?: number;
}

/**
 * A DynamoDB stream → Lambda mapping that only delivers INSERTs, retries a bounded
 * number of times, splits failing batches to isolate the poison record and sends
 * what still fails to a DLQ instead of blocking the shard.
 */
export function streamSource(name: string, fn: HandlerFunction, args: StreamSourceArgs, parent: pulumi.Resource): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      functionName: fn.function.name,
      eventSourceArn: args.streamArn,
      startingPosition: "TRIM_HORIZON",
      batchSize: args.batchSize ?? 10,
      maximumRetryAttempts: args.maximumRetryAttempts ?? 3,
      bisectBatchOnFunctionError: true,
      maximumRecordAgeInSeconds: 86400,
      functionResponseTypes: ["ReportBatchItemFailures"],
      filterCriteria: { filters: [{ pattern: JSON.stringify({ eventName: ["INSERT"] }) }] },
      destinationConfig: { onFailure: { destinationArn: args.onFailureDestinationArn } },
    },
    { parent, dependsOn: [fn.rolePolicy] },
  );
}

/** An SQS → Lambda mapping whose consumer reports partial batch failures. */
export function queueSource(name: string, fn: HandlerFunction, queueArn: pulumi.Input<string>, parent: pulumi.Resource, batchSize = 10): aws.lambda.EventSourceMapping {
  return new aws.lambda.EventSourceMapping(
    name,
    {
      functionName: fn.function.name,
      eventSourceArn: queueArn,
      batchSize,
      functionResponseTypes: ["ReportBatchItemFailures"],
    },
    { parent, dependsOn: [fn.rolePolicy] },
  );
}

/** What a function needs to read a table's stream and hand failures to the DLQ. */
export function streamReadStatements(tableArns: pulumi.Input<string>[], dlqArn: pulumi.Input<string>): PolicyStatement[] {
  return [
    {
      Sid: "ReadStreams",
      Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
      Resource: tableArns.map((arn) => pulumi.interpolate`${arn}/stream/*`),
    },
    { Sid: "StreamFailuresToDlq", Action: ["sqs:SendMessage"], Resource: [dlqArn] },
  ];
}

/** What a function needs to consume a queue. */
export function queueConsumeStatements(queueArn: pulumi.Input<string>): PolicyStatement[] {
  return [
    {
      Sid: "ConsumeQueue",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
      Resource: [queueArn],
    },
  ];
}
