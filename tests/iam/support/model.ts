/**
 * The IAM-relevant picture of a synthesized stack: roles with their trust and grants,
 * who uses each role (functions, state machines), every resource policy, and the wiring
 * that makes AWS services act on the stack's behalf (event sources, subscriptions, rule
 * targets, alarm actions, access logging). Read from the resources the program
 * registers under Pulumi mocks, never written by hand.
 */
import { MOCK_ACCOUNT_ID, mockArn, type SynthResource } from '../../../scripts/synth/run-program';

export interface PolicyStatementDoc {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDoc {
  Version?: string;
  Statement: PolicyStatementDoc[];
}

export interface RoleModel {
  name: string;
  arn: string;
  trust: PolicyDoc;
  /** Identity policies, named as the engine reports them (`<RolePolicy resource name>`). */
  policies: { name: string; doc: PolicyDoc }[];
}

export interface FunctionModel {
  name: string;
  roleArn: string;
  environment: Record<string, string>;
  logGroupName: string;
  tracing: boolean;
  /** Set when the function runs in a VPC: Lambda then manages network interfaces with its role. */
  vpc?: { subnetIds: string[]; securityGroupIds: string[] };
}

export interface MachineModel {
  name: string;
  arn: string;
  roleArn: string;
  type: string;
  definition: Record<string, unknown>;
  logging: boolean;
  tracing: boolean;
}

export interface StackModel {
  stack: string;
  region: string;
  account: string;
  partition: string;
  roles: RoleModel[];
  functions: FunctionModel[];
  machines: MachineModel[];
  /** Resource policies by the ARN they protect (bucket ARN, queue ARN, key ARN). */
  resourcePolicies: Map<string, { where: string; doc: PolicyDoc }>;
  tables: { name: string; arn: string }[];
  buckets: { name: string; arn: string }[];
  queues: { name: string; arn: string; url: string }[];
  topics: { name: string; arn: string; kmsKeyId?: string }[];
  keys: { arn: string }[];
  eventSourceMappings: { functionName: string; sourceArn: string; onFailureArn?: string }[];
  subscriptions: { topicArn: string; protocol: string; endpoint: string }[];
  ruleTargets: { ruleArn: string; targetArn: string; deadLetterArn?: string }[];
  rules: { name: string; arn: string; pattern: Record<string, unknown> }[];
  alarms: { name: string; arn: string; actions: string[] }[];
  bucketLogging: { sourceBucket: string; targetBucket: string; targetPrefix: string }[];
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const parse = (v: unknown): PolicyDoc => JSON.parse(str(v)) as PolicyDoc;

/** Builds the model; every reference between resources must resolve, or this throws. */
export function stackModel(stack: string, resources: SynthResource[], region: string): StackModel {
  const of = (type: string) => resources.filter((r) => r.type === type && r.custom);
  const account = MOCK_ACCOUNT_ID;
  const partition = 'aws';
  const arn = (type: string, physical: string) => mockArn(type, physical, region);

  // Grants this model does not read would escape the suite: refuse them rather than ignore them.
  const unread = [
    ...[
      'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
      'aws:iam/policy:Policy',
      'aws:iam/policyAttachment:PolicyAttachment',
    ]
      .flatMap((t) => of(t))
      .map((r) => `${r.type} ${r.name}`),
    ...of('aws:iam/role:Role')
      .filter(
        (r) =>
          (r.inputs.managedPolicyArns as unknown[] | undefined)?.length ||
          (r.inputs.inlinePolicies as unknown[] | undefined)?.length,
      )
      .map((r) => `managed or inline policies of role ${r.name}`),
  ];
  if (unread.length > 0)
    throw new Error(
      `the IAM suite reads role policies (aws:iam/rolePolicy) only; teach tests/iam/support/model.ts: ${unread.join(', ')}`,
    );
  const roles: RoleModel[] = of('aws:iam/role:Role').map((r) => ({
    name: str(r.inputs.name),
    arn: arn('aws:iam/role:Role', str(r.inputs.name)),
    trust: parse(r.inputs.assumeRolePolicy),
    policies: [],
  }));
  for (const p of of('aws:iam/rolePolicy:RolePolicy')) {
    const role = roles.find((r) => r.name === p.inputs.role);
    if (!role) throw new Error(`role policy ${p.name} names unknown role ${str(p.inputs.role)}`);
    role.policies.push({ name: p.name, doc: parse(p.inputs.policy) });
  }

  const functions = of('aws:lambda/function:Function').map((f) => {
    const env = (f.inputs.environment as { variables?: Record<string, string> } | undefined)?.variables ?? {};
    const logging = f.inputs.loggingConfig as { logGroup?: string } | undefined;
    const vpc = f.inputs.vpcConfig as { subnetIds?: string[]; securityGroupIds?: string[] } | undefined;
    return {
      name: str(f.inputs.name),
      roleArn: str(f.inputs.role),
      environment: env,
      logGroupName: logging?.logGroup ?? `/aws/lambda/${str(f.inputs.name)}`,
      tracing: (f.inputs.tracingConfig as { mode?: string } | undefined)?.mode === 'Active',
      vpc: vpc?.subnetIds?.length
        ? { subnetIds: vpc.subnetIds, securityGroupIds: vpc.securityGroupIds ?? [] }
        : undefined,
    };
  });

  const machines = of('aws:sfn/stateMachine:StateMachine').map((m) => {
    const logging = m.inputs.loggingConfiguration as { level?: string } | undefined;
    return {
      name: str(m.inputs.name),
      arn: arn('aws:sfn/stateMachine:StateMachine', str(m.inputs.name)),
      roleArn: str(m.inputs.roleArn),
      type: str(m.inputs.type) || 'STANDARD',
      definition: JSON.parse(str(m.inputs.definition)) as Record<string, unknown>,
      logging: !!logging?.level && logging.level !== 'OFF',
      tracing: (m.inputs.tracingConfiguration as { enabled?: boolean } | undefined)?.enabled === true,
    };
  });

  const queues = of('aws:sqs/queue:Queue').map((q) => ({
    name: str(q.inputs.name),
    arn: arn('aws:sqs/queue:Queue', str(q.inputs.name)),
    url: `https://sqs.${region}.amazonaws.com/${account}/${str(q.inputs.name)}`,
  }));
  const buckets = of('aws:s3/bucket:Bucket').map((b) => ({
    name: str(b.inputs.bucket),
    arn: arn('aws:s3/bucket:Bucket', str(b.inputs.bucket)),
  }));
  // A key has no name: the mock gives it `<logical name>-id`, as it does its id.
  const keys = of('aws:kms/key:Key').map((k) => ({
    arn: arn('aws:kms/key:Key', `${k.name}-id`),
    policy: k.inputs.policy,
  }));

  const resourcePolicies = new Map<string, { where: string; doc: PolicyDoc }>();
  for (const p of of('aws:sqs/queuePolicy:QueuePolicy')) {
    const queue = queues.find((q) => str(p.inputs.queueUrl).endsWith(`/${q.name}`));
    if (!queue) throw new Error(`queue policy ${p.name} names unknown queue ${str(p.inputs.queueUrl)}`);
    resourcePolicies.set(queue.arn, { where: `QueuePolicy ${p.name}`, doc: parse(p.inputs.policy) });
  }
  for (const p of of('aws:s3/bucketPolicy:BucketPolicy')) {
    const bucket = buckets.find((b) => b.name === p.inputs.bucket);
    if (!bucket) throw new Error(`bucket policy ${p.name} names unknown bucket ${str(p.inputs.bucket)}`);
    resourcePolicies.set(bucket.arn, { where: `BucketPolicy ${p.name}`, doc: parse(p.inputs.policy) });
  }
  for (const k of keys) resourcePolicies.set(k.arn, { where: `Key policy ${k.arn}`, doc: parse(k.policy) });
  for (const role of roles) resourcePolicies.set(role.arn, { where: `trust policy of ${role.name}`, doc: role.trust });

  return {
    stack,
    region,
    account,
    partition,
    roles,
    functions,
    machines,
    resourcePolicies,
    tables: of('aws:dynamodb/table:Table').map((t) => ({
      name: str(t.inputs.name),
      arn: arn('aws:dynamodb/table:Table', str(t.inputs.name)),
    })),
    buckets,
    queues,
    topics: of('aws:sns/topic:Topic').map((t) => ({
      name: str(t.inputs.name),
      arn: arn('aws:sns/topic:Topic', str(t.inputs.name)),
      kmsKeyId: str(t.inputs.kmsMasterKeyId) || undefined,
    })),
    keys: keys.map((k) => ({ arn: k.arn })),
    eventSourceMappings: of('aws:lambda/eventSourceMapping:EventSourceMapping').map((m) => ({
      functionName: str(m.inputs.functionName),
      sourceArn: str(m.inputs.eventSourceArn),
      onFailureArn:
        (m.inputs.destinationConfig as { onFailure?: { destinationArn?: string } } | undefined)?.onFailure
          ?.destinationArn ?? undefined,
    })),
    subscriptions: of('aws:sns/topicSubscription:TopicSubscription').map((s) => ({
      topicArn: str(s.inputs.topic),
      protocol: str(s.inputs.protocol),
      endpoint: str(s.inputs.endpoint),
    })),
    rules: of('aws:cloudwatch/eventRule:EventRule').map((r) => ({
      name: str(r.inputs.name),
      arn: arn('aws:cloudwatch/eventRule:EventRule', str(r.inputs.name)),
      pattern: JSON.parse(str(r.inputs.eventPattern)) as Record<string, unknown>,
    })),
    ruleTargets: of('aws:cloudwatch/eventTarget:EventTarget').map((t) => ({
      ruleArn: arn('aws:cloudwatch/eventRule:EventRule', str(t.inputs.rule)),
      targetArn: str(t.inputs.arn),
      deadLetterArn: (t.inputs.deadLetterConfig as { arn?: string } | undefined)?.arn,
    })),
    alarms: of('aws:cloudwatch/metricAlarm:MetricAlarm').map((a) => ({
      name: str(a.inputs.name),
      arn: arn('aws:cloudwatch/metricAlarm:MetricAlarm', str(a.inputs.name)),
      actions: [
        ...((a.inputs.alarmActions as string[] | undefined) ?? []),
        ...((a.inputs.okActions as string[] | undefined) ?? []),
      ],
    })),
    bucketLogging: of('aws:s3/bucketLogging:BucketLogging').map((l) => ({
      sourceBucket: str(l.inputs.bucket),
      targetBucket: str(l.inputs.targetBucket),
      targetPrefix: str(l.inputs.targetPrefix),
    })),
  };
}
