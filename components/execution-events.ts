import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { physicalName } from './naming';

/** The execution statuses whose business rows may have been left in progress. */
export const ENDED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface ExecutionEventRuleArgs {
  prefix: string;
  /** The state machines to watch (ARNs built from names). */
  stateMachineArns: pulumi.Input<pulumi.Input<string>[]>;
  /** Where the events go; its consumer closes what the execution left open. */
  queue: aws.sqs.Queue;
  /** Where EventBridge puts events it could not deliver. */
  dlq: aws.sqs.Queue;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Sends "execution ended badly" events of the workflow machines to a queue. A
 * machine-level timeout, a StopExecution or a States.Runtime error ends an
 * execution without running its own failure path; this is how the rows it was
 * working on still end FAILED, with an alarm, instead of staying in progress.
 */
export class ExecutionEventRule extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;

  constructor(name: string, args: ExecutionEventRuleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:ExecutionEventRule', name, {}, opts);
    const child = { parent: this };
    this.rule = new aws.cloudwatch.EventRule(
      `${name}-rule`,
      {
        name: physicalName(args.prefix, 'execution-ended'),
        description: 'Workflow executions that failed, timed out or were aborted',
        eventPattern: pulumi.jsonStringify({
          source: ['aws.states'],
          'detail-type': ['Step Functions Execution Status Change'],
          detail: { status: [...ENDED_STATUSES], stateMachineArn: args.stateMachineArns },
        }),
        tags: args.tags,
      },
      child,
    );
    for (const [suffix, queue] of [
      ['queue', args.queue],
      ['dlq', args.dlq],
    ] as const) {
      new aws.sqs.QueuePolicy(
        `${name}-${suffix}-policy`,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'ExecutionEventRuleOnly',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: ['sqs:SendMessage'],
                Resource: queue.arn,
                Condition: { ArnEquals: { 'aws:SourceArn': this.rule.arn } },
              },
            ],
          }),
        },
        child,
      );
    }
    new aws.cloudwatch.EventTarget(
      `${name}-target`,
      {
        rule: this.rule.name,
        arn: args.queue.arn,
        retryPolicy: { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 },
        deadLetterConfig: { arn: args.dlq.arn },
      },
      child,
    );
    this.registerOutputs({ ruleArn: this.rule.arn });
  }
}
