import * as path from 'node:path';
import {
  readStackConfig,
  synthesize,
  type SynthOptions,
  type SynthResource,
  type SynthResult,
} from '../../scripts/synth/run-program';
import { runProgram } from '../../program';

export const ROOT = path.join(__dirname, '..', '..');

type ProgramOutputs = ReturnType<typeof runProgram>;
const cache = new Map<string, Promise<SynthResult<ProgramOutputs>>>();
let queue: Promise<unknown> = Promise.resolve();

/** Mocks are process-global: synthesize one stack at a time, each (stack, mode) once. */
export function synthStack(stack: string, options: SynthOptions = {}): Promise<SynthResult<ProgramOutputs>> {
  const key = `${stack}:${JSON.stringify(options)}`;
  let result = cache.get(key);
  if (!result) {
    result = queue.then(() => synthesize(ROOT, stack, runProgram, options));
    queue = result.catch(() => undefined);
    cache.set(key, result);
  }
  return result;
}

/** The dev stack's settings with the seed-shaped STANDARD command path instead of the default EXPRESS one. */
export const STANDARD_PATH_CONFIG: Record<string, string> = {
  ...readStackConfig(ROOT, 'dev'),
  'cqrs-workflows:commandPath': 'STANDARD',
};

/** A stack the suites judge: the two stack files, and dev on the STANDARD command path. */
export interface StackVariant {
  label: string;
  stack: string;
  prefix: string;
  /** Config instead of `Pulumi.<stack>.yaml`. Default: the stack file. */
  config?: Record<string, string>;
  /** Its machines' names after the prefix (the EXPRESS command machine is `command-express`). */
  machines: string[];
}

export const STACK_VARIANTS: StackVariant[] = [
  {
    label: 'dev',
    stack: 'dev',
    prefix: 'cqrs-dev',
    machines: ['command-express', 'command-wait', 'task', 'import-csv', 'import-zip'],
  },
  {
    label: 'prod',
    stack: 'prod',
    prefix: 'cqrs-prod',
    machines: ['command-express', 'command-wait', 'task', 'import-csv', 'import-zip'],
  },
  {
    label: 'dev on the STANDARD command path',
    stack: 'dev',
    prefix: 'cqrs-dev',
    config: STANDARD_PATH_CONFIG,
    machines: ['command', 'task', 'import-csv', 'import-zip'],
  },
];

/** synthStack of a variant. */
export function synthVariant(variant: StackVariant, options: SynthOptions = {}): Promise<SynthResult<ProgramOutputs>> {
  return synthStack(variant.stack, { ...options, ...(variant.config ? { config: variant.config } : {}) });
}

/** Runs any program under mocks, after whatever synthesis is in flight. */
export function synthProgram<T>(stack: string, program: () => T, options: SynthOptions): Promise<SynthResult<T>> {
  const result = queue.then(() => synthesize(ROOT, stack, program, options));
  queue = result.catch(() => undefined);
  return result;
}

export function ofType(resources: SynthResource[], type: string): SynthResource[] {
  return resources.filter((r) => r.type === type);
}

export function byName(resources: SynthResource[], type: string, name: string): SynthResource {
  const found = resources.find((r) => r.type === type && r.name === name);
  if (!found)
    throw new Error(
      `no ${type} named ${name}; have ${ofType(resources, type)
        .map((r) => r.name)
        .join(', ')}`,
    );
  return found;
}

export const T = {
  table: 'aws:dynamodb/table:Table',
  queue: 'aws:sqs/queue:Queue',
  queuePolicy: 'aws:sqs/queuePolicy:QueuePolicy',
  topic: 'aws:sns/topic:Topic',
  subscription: 'aws:sns/topicSubscription:TopicSubscription',
  lambda: 'aws:lambda/function:Function',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  esm: 'aws:lambda/eventSourceMapping:EventSourceMapping',
  alarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  stateMachine: 'aws:sfn/stateMachine:StateMachine',
  bucket: 'aws:s3/bucket:Bucket',
} as const;

/** Every IAM-style policy document among the resources, parsed, with where it came from. */
export function policyDocuments(
  resources: SynthResource[],
): { where: string; doc: { Statement: { Action?: string | string[]; Resource?: unknown; Effect?: string }[] } }[] {
  const docs: { where: string; doc: { Statement: { Action?: string | string[] }[] } }[] = [];
  for (const r of resources) {
    for (const prop of ['policy', 'assumeRolePolicy']) {
      const value = r.inputs[prop];
      if (typeof value === 'string' && value.trim().startsWith('{')) {
        docs.push({ where: `${r.type} ${r.name}.${prop}`, doc: JSON.parse(value) });
      }
    }
  }
  return docs;
}
