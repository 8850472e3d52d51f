/**
 * Physical names. Every resource name is `<prefix>-<name>`; the prefix comes from
 * the stack (default `cqrs-<stack>`), so two stacks in one account never collide.
 */

const PREFIX_PATTERN = /^[a-z][a-z0-9-]*[a-z0-9]$/;

/** AWS name limits that the generated names must respect. */
export const NAME_LIMITS = {
  lambdaFunction: 64,
  stateMachine: 80,
  sqsQueue: 80,
  snsTopic: 256,
  dynamodbTable: 255,
  iamRole: 64,
  s3Bucket: 63,
} as const;

export type NamedKind = keyof typeof NAME_LIMITS;

/** Reasons a prefix is rejected, or undefined when it is fine. */
export function prefixProblem(prefix: string): string | undefined {
  if (!PREFIX_PATTERN.test(prefix)) {
    return "must start with a lowercase letter, end with a letter or digit, and contain only lowercase letters, digits and '-'";
  }
  if (prefix.includes('--')) return "must not contain '--'";
  if (prefix.length > 32) return 'must be at most 32 characters';
  return undefined;
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The default prefix: `<component name>-<stack>`, normalised to a valid prefix
 * (`cqrs-<stack>` for the program's component, named `cqrs`). Two components in one
 * stack get different prefixes unless their names normalise alike or are cut at the
 * same place; `claimPrefix` turns that into an error before anything is registered.
 */
export function defaultPrefix(stack: string, componentName = 'cqrs'): string {
  let name = slug(componentName) || 'cqrs';
  if (!/^[a-z]/.test(name)) name = `cqrs-${name}`;
  return `${name}-${slug(stack) || 'stack'}`.slice(0, 32).replace(/-+$/, '');
}

/**
 * Joins a prefix and a name with one separator. Throws when the result would break
 * an AWS limit, because a truncated name could collide with another one.
 */
export function physicalName(prefix: string, name: string, kind?: NamedKind): string {
  const problem = prefixProblem(prefix);
  if (problem) throw new Error(`name prefix "${prefix}" ${problem}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name) || name.includes('--')) {
    throw new Error(`resource name "${name}" must be letters, digits, '_' or single '-'`);
  }
  const full = `${prefix}-${name}`;
  if (kind && full.length > NAME_LIMITS[kind]) {
    throw new Error(`name "${full}" is ${full.length} characters; ${kind} names allow at most ${NAME_LIMITS[kind]}`);
  }
  return full;
}

/** ARN builders from explicit names: known during `pulumi preview`, unlike resource outputs. */
export interface ArnContext {
  partition: string;
  region: string;
  accountId: string;
}

export const arns = {
  lambda: (c: ArnContext, functionName: string) =>
    `arn:${c.partition}:lambda:${c.region}:${c.accountId}:function:${functionName}`,
  stateMachine: (c: ArnContext, name: string) =>
    `arn:${c.partition}:states:${c.region}:${c.accountId}:stateMachine:${name}`,
  /** Executions of a state machine (Distributed Map children, DescribeExecution). */
  execution: (c: ArnContext, name: string) =>
    `arn:${c.partition}:states:${c.region}:${c.accountId}:execution:${name}:*`,
  expressExecution: (c: ArnContext, name: string) =>
    `arn:${c.partition}:states:${c.region}:${c.accountId}:express:${name}:*`,
  table: (c: ArnContext, tableName: string) =>
    `arn:${c.partition}:dynamodb:${c.region}:${c.accountId}:table/${tableName}`,
  bucket: (c: ArnContext, bucket: string) => `arn:${c.partition}:s3:::${bucket}`,
  topic: (c: ArnContext, name: string) => `arn:${c.partition}:sns:${c.region}:${c.accountId}:${name}`,
  queue: (c: ArnContext, name: string) => `arn:${c.partition}:sqs:${c.region}:${c.accountId}:${name}`,
  logGroup: (c: ArnContext, name: string) => `arn:${c.partition}:logs:${c.region}:${c.accountId}:log-group:${name}`,
  alarm: (c: ArnContext, name: string) => `arn:${c.partition}:cloudwatch:${c.region}:${c.accountId}:alarm:${name}`,
};
