import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { LambdaMetric } from '../core/metrics';
import { thresholdAlarm } from './alarms';
import { bundleHandler, type HandlerBundle } from './bundle';
import { callerArnContext } from './arn-context';
import { assertExplicitActions, assumeRolePolicy, boundedRoleName, policyDocument, type PolicyStatement } from './iam';
import type { ArnContext } from './naming';

/** Private subnets and security groups for Lambda functions that must run inside a VPC. */
export interface VpcSettings {
  /**
   * Subnets the functions attach to (one network interface per subnet and security group).
   * Use private subnets in at least two Availability Zones.
   */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Security groups of the functions. They need outbound HTTPS (443) to the VPC endpoints
   * of DynamoDB, S3, Step Functions, SNS, SQS, Lambda and CloudWatch Logs, or to a NAT gateway.
   */
  securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * What Lambda needs to attach a function to a VPC, with the execution role: create its
 * network interfaces in exactly these subnets and security groups, and manage (only)
 * network interfaces afterwards. EC2's Describe calls have no resource-level
 * permissions, so those two keep `*` (the actions stay explicit).
 */
export function vpcNetworkStatements(context: pulumi.Input<ArnContext>, vpc: VpcSettings): PolicyStatement[] {
  const ec2 = (c: ArnContext, resource: string) => `arn:${c.partition}:ec2:${c.region}:${c.accountId}:${resource}`;
  const interfaces = pulumi.output(context).apply((c) => ec2(c, 'network-interface/*'));
  return [
    {
      Sid: 'VpcDescribe',
      Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      Resource: ['*'],
    },
    {
      Sid: 'VpcCreateNetworkInterface',
      Action: ['ec2:CreateNetworkInterface'],
      Resource: pulumi
        .all([context, pulumi.output(vpc.subnetIds), pulumi.output(vpc.securityGroupIds)])
        .apply(([c, subnets, groups]) => [
          ec2(c, 'network-interface/*'),
          ...subnets.map((id) => ec2(c, `subnet/${id}`)),
          ...groups.map((id) => ec2(c, `security-group/${id}`)),
        ]),
    },
    {
      Sid: 'VpcManageNetworkInterfaces',
      Action: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      Resource: [interfaces],
    },
  ];
}

export interface HandlerFunctionArgs {
  /** Handler entry: a name under `handlers/` (`command-step`) or a path relative to the package root. */
  entry: string;
  /** Explicit physical function name (ARNs are built from it before deployment). */
  functionName: string;
  /** The only permissions the function gets, besides writing its own logs and X-Ray traces. */
  statements: PolicyStatement[];
  environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Seconds. Default: 30. */
  timeoutSeconds?: number;
  /** MB. Default: 256. */
  memorySize?: pulumi.Input<number>;
  /** Days. Default: 14. */
  logRetentionDays?: pulumi.Input<number>;
  /** When set, an alarm on the function's Errors metric notifies this topic. */
  alarmTopicArn?: pulumi.Input<string>;
  /** Reserved concurrency. Default: unreserved. */
  reservedConcurrency?: pulumi.Input<number>;
  /** Runs the function in these subnets and security groups, with the network-interface grants that needs. Default: outside any VPC. */
  vpc?: VpcSettings;
  /** Partition, region and account for the VPC grants. Default: the caller's, from provider invokes. */
  arnContext?: pulumi.Input<ArnContext>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * One Lambda bundled by esbuild from `handlers/`: Node.js 22 on arm64, JSON logs
 * into its own log group, X-Ray active, and a role with exactly the given grants.
 */
export class HandlerFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly role: aws.iam.Role;
  /** The role's grants; event source mappings wait for it (Lambda checks permissions when they are created). */
  readonly rolePolicy: aws.iam.RolePolicy;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly bundle: HandlerBundle;
  readonly functionName: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  /** Physical names of its alarms (errors, when an alarm topic is given). */
  readonly alarmNames: string[];

  constructor(name: string, args: HandlerFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:HandlerFunction', name, {}, opts);
    const child = { parent: this };
    assertExplicitActions(`HandlerFunction ${name}`, args.statements);
    this.bundle = bundleHandler(args.entry);

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.logRetentionDays ?? 14, tags: args.tags },
      child,
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: boundedRoleName(args.functionName, 'role'),
        assumeRolePolicy: assumeRolePolicy('lambda.amazonaws.com'),
        tags: args.tags,
      },
      child,
    );
    const own: PolicyStatement[] = [
      {
        Sid: 'OwnLogs',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [pulumi.interpolate`${this.logGroup.arn}:*`],
      },
      // X-Ray has no resource-level permissions; the actions stay explicit.
      { Sid: 'Tracing', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: ['*'] },
    ];
    if (args.vpc) own.push(...vpcNetworkStatements(args.arnContext ?? callerArnContext(child), args.vpc));
    this.rolePolicy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: policyDocument([...own, ...args.statements]) },
      child,
    );
    this.function = new aws.lambda.Function(
      `${name}-function`,
      {
        name: args.functionName,
        role: this.role.arn,
        runtime: 'nodejs22.x',
        architectures: ['arm64'],
        handler: 'index.handler',
        code: new pulumi.asset.AssetArchive(
          Object.fromEntries(
            Object.entries(this.bundle.files).map(([file, text]) => [file, new pulumi.asset.StringAsset(text)]),
          ),
        ),
        timeout: args.timeoutSeconds ?? 30,
        memorySize: args.memorySize ?? 256,
        reservedConcurrentExecutions: args.reservedConcurrency,
        environment: {
          variables: pulumi
            .output(args.environment ?? {})
            .apply((vars) => ({ ...vars, NODE_OPTIONS: '--enable-source-maps' })),
        },
        loggingConfig: {
          logFormat: 'JSON',
          logGroup: this.logGroup.name,
          applicationLogLevel: 'INFO',
          systemLogLevel: 'WARN',
        },
        tracingConfig: { mode: 'Active' },
        vpcConfig: args.vpc
          ? { subnetIds: args.vpc.subnetIds, securityGroupIds: args.vpc.securityGroupIds }
          : undefined,
        tags: args.tags,
      },
      // Lambda checks the network-interface grants when it creates a VPC function.
      { parent: this, dependsOn: [this.rolePolicy, this.logGroup] },
    );
    this.alarmNames = args.alarmTopicArn ? [`${args.functionName}-errors`] : [];
    if (args.alarmTopicArn) {
      thresholdAlarm(
        `${name}-errors`,
        {
          alarmName: `${args.functionName}-errors`,
          description: `Lambda ${args.functionName} reported errors.`,
          namespace: LambdaMetric.NAMESPACE,
          metricName: LambdaMetric.ERRORS,
          dimensions: { [LambdaMetric.DIMENSION]: this.function.name },
          alarmTopicArn: args.alarmTopicArn,
        },
        child,
      );
    }
    this.functionName = this.function.name;
    this.arn = this.function.arn;
    this.registerOutputs({
      functionName: this.functionName,
      arn: this.arn,
      roleArn: this.role.arn,
      logGroupName: this.logGroup.name,
      bundleSha256: this.bundle.sha256,
      bundleSizeBytes: this.bundle.sizeBytes,
    });
  }
}
