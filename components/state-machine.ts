import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { StatesMetric } from '../core/metrics';
import { thresholdAlarm } from './alarms';
import { serializeDefinition } from './asl/serialize';
import type { StateMachineDefinition } from './asl/types';
import { validateDefinition } from './asl/validate';
import { IMPORT_PREFIXES as BUCKET_PREFIXES } from './import-bucket';
import { assertExplicitActions, assumeRolePolicy, boundedRoleName, policyDocument } from './iam';
import { callerArnContext } from './arn-context';
import { arns, type ArnContext } from './naming';
import { permissionsFor } from './state-machine-permissions';

/** Step Functions logging level of a state machine (logging itself stays on). */
export const LogLevel = {
  /** Every execution event, with input and output unless execution data is turned off. */
  All: 'ALL',
  /** Only failures. */
  Error: 'ERROR',
  /** Only executions that end in failure. */
  Fatal: 'FATAL',
} as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Step Functions workflow type. */
export const StateMachineType = {
  /** Exactly-once, up to a year, task tokens and execution history. */
  Standard: 'STANDARD',
  /** At-least-once, up to five minutes, priced per execution and duration. */
  Express: 'EXPRESS',
} as const;
export type StateMachineType = (typeof StateMachineType)[keyof typeof StateMachineType];

export interface WorkflowStateMachineArgs {
  /** Explicit physical name; the ARN is built from it so the definition is known at preview. */
  stateMachineName: string;
  /** STANDARD or EXPRESS. */
  type: StateMachineType;
  /**
   * The definition. Every value in it must come from names, config and invokes,
   * never from resource outputs, or CrossGuard cannot judge it during preview.
   */
  definition: pulumi.Input<StateMachineDefinition>;
  /** Partition, region and account the machine's own ARN is built in. Default: the caller's, from provider invokes. */
  arnContext?: pulumi.Input<ArnContext>;
  /** The only bucket a Distributed Map may read items from or write results to. Default: none (a machine that reads or writes S3 then fails to build). */
  bucketName?: pulumi.Input<string>;
  /**
   * Key prefixes (in `bucketName`) a Distributed Map's ItemReader may read when its key
   * is chosen at run time (`Key.$`). Default: `staged/`, where csv_loader stages the rows.
   */
  itemReaderKeyPrefixes?: string[];
  /** SNS topic notified by the machine's alarms (the CqrsWorkflows `alarmTopicArn`, or your own). */
  alarmTopicArn: pulumi.Input<string>;
  /** Retention of the machine's log group, in days (integer). Default: 14. */
  logRetentionDays?: pulumi.Input<number>;
  /** Logging level. Default: ERROR. */
  logLevel?: pulumi.Input<LogLevel>;
  /** Execution input and output in the logs (they may carry imported rows and keys). Default: false. */
  includeExecutionData?: pulumi.Input<boolean>;
  /** Tags of every resource. Default: none. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A state machine with its validated definition, its own log group, X-Ray, a role
 * derived from the definition, and alarms on failed, timed-out and throttled executions.
 */
export class WorkflowStateMachine extends pulumi.ComponentResource {
  readonly stateMachine: aws.sfn.StateMachine;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** Known during preview (built from the name). */
  readonly arn: pulumi.Output<string>;
  readonly name: string;
  /** The serialized definition, exactly as deployed. */
  readonly definition: pulumi.Output<string>;
  /** Physical names of its alarms (failed, timed out, throttled executions). */
  readonly alarmNames: string[];

  constructor(name: string, args: WorkflowStateMachineArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:WorkflowStateMachine', name, {}, opts);
    const child = { parent: this };
    const machineName = args.stateMachineName;
    this.name = machineName;
    const arnContext = args.arnContext ?? callerArnContext(child);
    this.arn = pulumi.output(arnContext).apply((c) => arns.stateMachine(c, machineName));

    const checked = pulumi.output(args.definition).apply((def) => {
      validateDefinition(machineName, def);
      return def;
    });
    this.definition = checked.apply(serializeDefinition);

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/vendedlogs/states/${machineName}`,
        retentionInDays: args.logRetentionDays ?? 14,
        tags: args.tags,
      },
      child,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: boundedRoleName(machineName, 'sfn'),
        assumeRolePolicy: pulumi
          .output(arnContext)
          // Only this machine's executions may assume the role, not any state machine of the
          // account someone could create with iam:PassRole (the confused-deputy conditions AWS documents).
          .apply((c) =>
            assumeRolePolicy('states.amazonaws.com', {
              StringEquals: { 'aws:SourceAccount': c.accountId },
              ArnLike: { 'aws:SourceArn': arns.stateMachine(c, machineName) },
            }),
          ),
        tags: args.tags,
      },
      child,
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.id,
        policy: pulumi.all([checked, arnContext, args.bucketName]).apply(([def, c, bucketName]) => {
          const statements = permissionsFor(machineName, def, {
            ...c,
            arn: arns.stateMachine(c, machineName),
            name: machineName,
            bucketName,
            itemReaderKeyPrefixes: args.itemReaderKeyPrefixes ?? [BUCKET_PREFIXES.staged],
          });
          assertExplicitActions(`state machine ${machineName}`, statements);
          return policyDocument(statements);
        }),
      },
      child,
    );
    this.stateMachine = new aws.sfn.StateMachine(
      `${name}-state-machine`,
      {
        name: machineName,
        type: args.type,
        roleArn: this.role.arn,
        definition: this.definition,
        loggingConfiguration: {
          level: args.logLevel ?? 'ERROR',
          includeExecutionData: args.includeExecutionData ?? false,
          logDestination: pulumi.interpolate`${this.logGroup.arn}:*`,
        },
        tracingConfiguration: { enabled: true },
        tags: args.tags,
      },
      // The role must hold its grants before Step Functions validates the definition against it.
      { parent: this, dependsOn: [policy] },
    );

    const metrics = [
      [StatesMetric.FAILED, 'failed'],
      [StatesMetric.TIMED_OUT, 'timed-out'],
      [StatesMetric.THROTTLED, 'throttled'],
    ] as const;
    this.alarmNames = metrics.map(([, suffix]) => `${machineName}-${suffix}`);
    for (const [metricName, suffix] of metrics) {
      thresholdAlarm(
        `${name}-${suffix}`,
        {
          alarmName: `${machineName}-${suffix}`,
          description: `State machine ${machineName}: ${metricName}.`,
          namespace: StatesMetric.NAMESPACE,
          metricName,
          dimensions: { [StatesMetric.DIMENSION]: this.arn },
          alarmTopicArn: args.alarmTopicArn,
        },
        child,
      );
    }
    this.registerOutputs({
      arn: this.arn,
      name: machineName,
      roleArn: this.role.arn,
      logGroupName: this.logGroup.name,
    });
  }
}
