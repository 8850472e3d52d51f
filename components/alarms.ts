import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface ThresholdAlarmArgs {
  /** Physical alarm name. */
  alarmName: pulumi.Input<string>;
  description: pulumi.Input<string>;
  namespace: string;
  metricName: string;
  dimensions: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Topic notified on ALARM and back to OK. */
  alarmTopicArn: pulumi.Input<string>;
  /** Alarm when the statistic is above this. Default: 0 (any occurrence). */
  threshold?: number;
  /** Default: Sum. Queue depth uses Maximum. */
  statistic?: 'Sum' | 'Maximum';
  /** Seconds. Default: 60. */
  period?: number;
}

/**
 * One "greater than threshold" alarm. Missing data is not breaching: a metric that
 * is never emitted (no errors, empty queue) must not page anyone.
 */
export function thresholdAlarm(
  logicalName: string,
  args: ThresholdAlarmArgs,
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(
    logicalName,
    {
      name: args.alarmName,
      alarmDescription: args.description,
      namespace: args.namespace,
      metricName: args.metricName,
      dimensions: args.dimensions,
      statistic: args.statistic ?? 'Sum',
      period: args.period ?? 60,
      evaluationPeriods: 1,
      threshold: args.threshold ?? 0,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
      alarmActions: [args.alarmTopicArn],
      okActions: [args.alarmTopicArn],
    },
    opts,
  );
}
