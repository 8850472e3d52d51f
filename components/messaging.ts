import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SqsMetric } from '../core/metrics';
import { Action } from '../core/status';
import { thresholdAlarm } from './alarms';
import { FUNCTION_TIMEOUTS, QUEUE_CONSUMERS, type FunctionKey } from './function-catalog';
import { physicalName } from './naming';

/**
 * Which `action` message attribute values the main topic routes to each queue;
 * the handlers publish with the same constants.
 */
export const QUEUE_ROUTES = {
  'task-action': [Action.TASK_START, Action.TASK_EXECUTE],
  'import-action': [Action.IMPORT_CSV, Action.IMPORT_ZIP],
  notification: [Action.TASK_STATUS, Action.IMPORT_STATUS],
} as const;
export type QueueKey = keyof typeof QUEUE_ROUTES;
export const QUEUE_KEYS = Object.keys(QUEUE_ROUTES) as QueueKey[];

/** DLQs keep messages for the SQS maximum, 14 days, so nothing expires before someone looks. */
export const DLQ_RETENTION_SECONDS = 1_209_600;
/** Work queues keep messages 4 days unless told otherwise (SQS's own default, set explicitly). */
export const DEFAULT_QUEUE_RETENTION_SECONDS = 4 * 86400;
/** A queue's visibility timeout is this many times its consumer's timeout (AWS's advice for Lambda consumers). */
export const VISIBILITY_FACTOR = 6;

/** The queue EventBridge fills with ended executions (not routed through the main topic). */
export const EXECUTION_EVENTS_QUEUE = 'execution-events';
/**
 * The on-failure destination of the `commands` stream: the stream router gave up on a batch,
 * and execution-watch ends the versions nobody will end (not routed through the main topic).
 */
export const COMMAND_STREAM_FAILURES_QUEUE = 'command-stream-failures';
/** The queues execution-watch consumes. */
export type WatchQueueKey = typeof EXECUTION_EVENTS_QUEUE | typeof COMMAND_STREAM_FAILURES_QUEUE;
export const WATCH_QUEUE_KEYS: readonly WatchQueueKey[] = [EXECUTION_EVENTS_QUEUE, COMMAND_STREAM_FAILURES_QUEUE];
/** Every queue a Lambda consumes. */
export type WorkQueueKey = QueueKey | WatchQueueKey;

/** Every work queue and the function consuming it. */
export function queueConsumers(): Record<WorkQueueKey, FunctionKey> {
  return {
    ...QUEUE_CONSUMERS,
    [EXECUTION_EVENTS_QUEUE]: 'execution-watch',
    [COMMAND_STREAM_FAILURES_QUEUE]: 'execution-watch',
  };
}

/** The longest visibility timeout of the work queues: the time one failed delivery can take. */
export function longestQueueVisibility(): { queue: string; seconds: number } {
  let best = { queue: '', seconds: 0 };
  for (const [queue, fn] of Object.entries(queueConsumers())) {
    const seconds = VISIBILITY_FACTOR * FUNCTION_TIMEOUTS[fn];
    if (seconds > best.seconds) best = { queue, seconds };
  }
  return best;
}

/** Why `maxReceiveCount` deliveries do not fit inside a queue's retention, if they do not. */
export function redriveProblem(
  queue: string,
  maxReceiveCount: number,
  visibilitySeconds: number,
  retentionSeconds: number,
): string | undefined {
  if (maxReceiveCount * visibilitySeconds <= retentionSeconds) return undefined;
  return `queue ${queue}: ${maxReceiveCount} deliveries × ${visibilitySeconds} s visibility timeout exceed its ${retentionSeconds} s retention; a failing message would expire before it reaches its dead-letter queue`;
}

export interface MessagingArgs {
  prefix: string;
  /** Timeout of the Lambda consuming each queue; visibility timeout is 6× it. */
  consumerTimeoutSeconds: Record<WorkQueueKey, number>;
  /** Deliveries before a message goes to its DLQ, at least 2; × the visibility timeout must fit inside the retention. Default: 5. */
  maxReceiveCount?: pulumi.Input<number>;
  /** Retention of the work queues, in seconds, below the DLQs' 14 days. Default: 345600 (4 days). */
  queueRetentionSeconds?: pulumi.Input<number>;
  /** E-mail addresses subscribed to the alarm topic. Default: none. */
  alarmEmails?: pulumi.Input<string>[];
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface QueuePair {
  queue: aws.sqs.Queue;
  dlq: aws.sqs.Queue;
}

/**
 * The main topic (routes by `action` to the three queues), the alarm topic, the
 * queues with their DLQs, the stream-failure DLQ and DLQ depth alarms.
 */
export class Messaging extends pulumi.ComponentResource {
  readonly mainTopic: aws.sns.Topic;
  readonly alarmTopic: aws.sns.Topic;
  /** Customer-managed key of the alarm topic: CloudWatch cannot publish to a topic under the AWS-managed SNS key. */
  readonly alarmKey: aws.kms.Key;
  readonly queues: Record<QueueKey, QueuePair>;
  /** Step Functions "execution ended" events (see ExecutionEventRule). */
  readonly executionEvents: QueuePair;
  /** On-failure destination of the `commands` stream mapping (consumed by execution-watch). */
  readonly commandStreamFailures: QueuePair;
  /** On-failure destination of the `tasks` and `import_tmp` stream mappings. */
  readonly streamDlq: aws.sqs.Queue;
  /** Physical names of its alarms (depth of every dead-letter queue). */
  readonly alarmNames: string[];
  readonly names: {
    mainTopic: string;
    alarmTopic: string;
    queues: Record<QueueKey, string>;
    executionEvents: string;
    commandStreamFailures: string;
    streamDlq: string;
    /** Dead-letter queue of each work queue (the routed queues and execution-watch's two). */
    deadLetterQueues: Record<WorkQueueKey, string>;
  };

  constructor(name: string, args: MessagingArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:Messaging', name, {}, opts);
    const child = { parent: this };
    const identity = aws.getCallerIdentityOutput({}, child);
    const partition = aws.getPartitionOutput({}, child);
    const region = aws.getRegionOutput({}, child);

    this.alarmKey = new aws.kms.Key(
      `${name}-alarm-key`,
      {
        description: `${args.prefix} alarm topic encryption`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'AccountAdministersKey',
              Effect: 'Allow',
              Principal: { AWS: pulumi.interpolate`arn:${partition.partition}:iam::${identity.accountId}:root` },
              Action: [
                'kms:DescribeKey',
                'kms:GetKeyPolicy',
                'kms:PutKeyPolicy',
                'kms:GetKeyRotationStatus',
                'kms:EnableKeyRotation',
                'kms:DisableKeyRotation',
                'kms:ListResourceTags',
                'kms:TagResource',
                'kms:UntagResource',
                'kms:ScheduleKeyDeletion',
                'kms:CancelKeyDeletion',
                'kms:EnableKey',
                'kms:DisableKey',
                'kms:UpdateKeyDescription',
                'kms:CreateGrant',
                'kms:ListGrants',
                'kms:RevokeGrant',
                'kms:Encrypt',
                'kms:Decrypt',
                'kms:GenerateDataKey',
                'kms:ReEncryptFrom',
                'kms:ReEncryptTo',
              ],
              Resource: '*',
            },
            {
              Sid: 'CloudWatchPublishesAlarms',
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
              Resource: '*',
              // This stack's alarms only (their names carry the prefix), not every alarm of the account.
              Condition: {
                StringEquals: { 'aws:SourceAccount': identity.accountId },
                ArnLike: {
                  'aws:SourceArn': pulumi.interpolate`arn:${partition.partition}:cloudwatch:${region.region}:${identity.accountId}:alarm:${args.prefix}-*`,
                },
              },
            },
          ],
        }),
        tags: args.tags,
      },
      child,
    );

    const topicName = (n: string) => physicalName(args.prefix, n, 'snsTopic');
    const queueName = (n: string) => physicalName(args.prefix, n, 'sqsQueue');
    this.names = {
      mainTopic: topicName('main'),
      alarmTopic: topicName('alarm'),
      queues: Object.fromEntries(QUEUE_KEYS.map((k) => [k, queueName(k)])) as Record<QueueKey, string>,
      executionEvents: queueName(EXECUTION_EVENTS_QUEUE),
      commandStreamFailures: queueName(COMMAND_STREAM_FAILURES_QUEUE),
      streamDlq: queueName('stream-dlq'),
      deadLetterQueues: Object.fromEntries(
        [...QUEUE_KEYS, ...WATCH_QUEUE_KEYS].map((k) => [k, queueName(`${k}-dlq`)]),
      ) as Record<WorkQueueKey, string>,
    };

    this.mainTopic = new aws.sns.Topic(
      `${name}-main`,
      { name: this.names.mainTopic, kmsMasterKeyId: 'alias/aws/sns', tags: args.tags },
      child,
    );
    this.alarmTopic = new aws.sns.Topic(
      `${name}-alarm`,
      { name: this.names.alarmTopic, kmsMasterKeyId: this.alarmKey.arn, tags: args.tags },
      child,
    );
    (args.alarmEmails ?? []).forEach((email, i) => {
      new aws.sns.TopicSubscription(
        `${name}-alarm-email-${i}`,
        { topic: this.alarmTopic.arn, protocol: 'email', endpoint: email },
        child,
      );
    });

    const maxReceiveCount = pulumi.output(args.maxReceiveCount ?? 5);
    const retention = pulumi.output(args.queueRetentionSeconds ?? DEFAULT_QUEUE_RETENTION_SECONDS);
    const workQueue = (key: WorkQueueKey): QueuePair => {
      const dlq = this.deadLetterQueue(`${name}-${key}-dlq`, this.names.deadLetterQueues[key], args);
      const visibility = VISIBILITY_FACTOR * args.consumerTimeoutSeconds[key];
      // A message that fails every delivery must reach its DLQ before it expires, and the DLQ
      // must keep it longer than the queue did (a moved message keeps its enqueue time).
      const checked = pulumi.all([maxReceiveCount, retention]).apply(([receives, seconds]) => {
        const problem =
          (receives < 2
            ? `queue ${queueName(key)}: maxReceiveCount ${receives} must be at least 2 (the last delivery of a DIRECT import ends its job)`
            : undefined) ??
          redriveProblem(queueName(key), receives, visibility, seconds) ??
          (seconds >= DLQ_RETENTION_SECONDS
            ? `queue ${queueName(key)}: retention ${seconds} s must be below its dead-letter queue's ${DLQ_RETENTION_SECONDS} s`
            : undefined);
        if (problem) throw new Error(`Messaging ${name}: ${problem}`);
        return { receives, seconds };
      });
      const queue = new aws.sqs.Queue(
        `${name}-${key}`,
        {
          name: queueName(key),
          sqsManagedSseEnabled: true,
          visibilityTimeoutSeconds: visibility,
          messageRetentionSeconds: checked.seconds,
          redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: checked.receives }),
          tags: args.tags,
        },
        child,
      );
      return { queue, dlq };
    };
    const queues = {} as Record<QueueKey, QueuePair>;
    for (const key of QUEUE_KEYS) {
      const { queue, dlq } = workQueue(key);
      new aws.sqs.QueuePolicy(
        `${name}-${key}-policy`,
        {
          queueUrl: queue.url,
          policy: pulumi.jsonStringify({
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'MainTopicOnly',
                Effect: 'Allow',
                Principal: { Service: 'sns.amazonaws.com' },
                Action: ['sqs:SendMessage'],
                Resource: queue.arn,
                Condition: { ArnEquals: { 'aws:SourceArn': this.mainTopic.arn } },
              },
            ],
          }),
        },
        child,
      );
      new aws.sns.TopicSubscription(
        `${name}-${key}-subscription`,
        {
          topic: this.mainTopic.arn,
          protocol: 'sqs',
          endpoint: queue.arn,
          rawMessageDelivery: true,
          filterPolicyScope: 'MessageAttributes',
          filterPolicy: JSON.stringify({ action: [...QUEUE_ROUTES[key]] }),
        },
        child,
      );
      queues[key] = { queue, dlq };
    }
    this.queues = queues;
    this.executionEvents = workQueue(EXECUTION_EVENTS_QUEUE);
    this.commandStreamFailures = workQueue(COMMAND_STREAM_FAILURES_QUEUE);
    this.streamDlq = this.deadLetterQueue(`${name}-stream-dlq`, this.names.streamDlq, args);

    const dlqs = [
      ...QUEUE_KEYS.map((k) => [`${k}-dlq`, queues[k].dlq] as const),
      [`${EXECUTION_EVENTS_QUEUE}-dlq`, this.executionEvents.dlq] as const,
      [`${COMMAND_STREAM_FAILURES_QUEUE}-dlq`, this.commandStreamFailures.dlq] as const,
      ['stream-dlq', this.streamDlq] as const,
    ];
    this.alarmNames = dlqs.map(([key]) => physicalName(args.prefix, `${key}-depth`));
    for (const [key, dlq] of dlqs) {
      thresholdAlarm(
        `${name}-${key}-depth`,
        {
          alarmName: physicalName(args.prefix, `${key}-depth`),
          description: `Messages are waiting in ${key}: they failed every delivery and need attention.`,
          namespace: SqsMetric.NAMESPACE,
          metricName: SqsMetric.VISIBLE,
          dimensions: { [SqsMetric.DIMENSION]: dlq.name },
          alarmTopicArn: this.alarmTopic.arn,
          statistic: 'Maximum',
          period: 300,
        },
        child,
      );
    }

    this.registerOutputs({
      mainTopicArn: this.mainTopic.arn,
      alarmTopicArn: this.alarmTopic.arn,
      queueUrls: Object.fromEntries(QUEUE_KEYS.map((k) => [k, queues[k].queue.url])),
      queueArns: Object.fromEntries(QUEUE_KEYS.map((k) => [k, queues[k].queue.arn])),
      executionEventsQueueArn: this.executionEvents.queue.arn,
      commandStreamFailuresQueueArn: this.commandStreamFailures.queue.arn,
      streamDlqArn: this.streamDlq.arn,
    });
  }

  private deadLetterQueue(logical: string, queueName: string, args: MessagingArgs): aws.sqs.Queue {
    return new aws.sqs.Queue(
      logical,
      {
        name: queueName,
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: DLQ_RETENTION_SECONDS,
        tags: pulumi.output(args.tags ?? {}).apply((t) => ({ ...t, role: 'dlq' })),
      },
      { parent: this },
    );
  }
}
