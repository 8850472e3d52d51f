import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { buildDashboardBody } from './dashboard-body';
import { arns, type ArnContext } from './naming';

/** A work queue and its dead-letter queue, by physical name. */
export interface DashboardQueueArgs {
  /** Physical name of the queue. */
  queueName: string;
  /** Physical name of its dead-letter queue. */
  deadLetterQueueName: string;
}

export interface OperationsDashboardArgs {
  /** Physical name of the CloudWatch dashboard (letters, digits, `-` and `_`). */
  dashboardName: string;
  /**
   * Heading of the dashboard.
   * Default: the dashboard name.
   */
  title?: string;
  /** Value of the `Stack` dimension the handlers publish their business metrics with (the name prefix). */
  stack: string;
  /** Account, region and partition of the stack (from invokes, so the body is known during preview). */
  arnContext: pulumi.Input<ArnContext>;
  /** State machines to chart: key → physical name. */
  stateMachineNames: Record<string, string>;
  /** Lambda functions to chart: key → physical name. */
  functionNames: Record<string, string>;
  /** Work queues to chart: key → the queue and its dead-letter queue. */
  queues: Record<string, DashboardQueueArgs>;
  /**
   * Dead-letter queues without a work queue of their own: key → physical name.
   * Default: none.
   */
  deadLetterQueueNames?: Record<string, string>;
  /**
   * Alarms shown in the alarm status widget, by physical name.
   * Default: none (no alarm widget).
   */
  alarmNames?: string[];
}

/**
 * The CloudWatch dashboard on-call starts from: alarm states, the business figures the
 * handlers publish, executions and duration per state machine, depth and age per queue with
 * its DLQ, and errors, throttles, duration and concurrency per function. Its body is built
 * from names and invokes only, so it is known (and checked by the policy pack) during preview.
 */
export class OperationsDashboard extends pulumi.ComponentResource {
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardName: string;
  /** The dashboard body as deployed (JSON). */
  readonly body: pulumi.Output<string>;

  constructor(name: string, args: OperationsDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:OperationsDashboard', name, {}, opts);
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(args.dashboardName)) {
      throw new Error(
        `OperationsDashboard ${name}: dashboard name "${args.dashboardName}" must be 1–255 letters, digits, '-' or '_'`,
      );
    }
    this.dashboardName = args.dashboardName;
    this.body = pulumi.output(args.arnContext).apply((c) =>
      JSON.stringify(
        buildDashboardBody({
          title: args.title ?? args.dashboardName,
          region: c.region,
          stack: args.stack,
          stateMachineArns: Object.fromEntries(
            Object.entries(args.stateMachineNames).map(([k, n]) => [k, arns.stateMachine(c, n)]),
          ),
          functionNames: args.functionNames,
          queues: args.queues,
          deadLetterQueueNames: args.deadLetterQueueNames ?? {},
          alarmArns: (args.alarmNames ?? []).map((n) => arns.alarm(c, n)),
        }),
      ),
    );
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      { dashboardName: args.dashboardName, dashboardBody: this.body },
      { parent: this },
    );
    this.registerOutputs({ dashboardName: this.dashboardName, dashboardArn: this.dashboard.dashboardArn });
  }
}
