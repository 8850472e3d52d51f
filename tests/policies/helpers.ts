import { ResourceValidationPolicy } from '@pulumi/policy';
import { evaluatePolicies, OfflinePolicyConfig, OfflineResource, RunResult } from '../../policies/run-offline';

export const SM_TYPE = 'aws:sfn/stateMachine:StateMachine';
export const LAMBDA = 'arn:aws:lambda:eu-west-1:123456789012:function:cqrs-dev-command-step';

let counter = 0;

export function resource(type: string, props: Record<string, unknown>, name?: string): OfflineResource {
  const n = name ?? `r${++counter}`;
  return { type, name: n, urn: `urn:pulumi:dev::cqrs-workflows::${type}::${n}`, props };
}

/** A state machine resource with a well-formed (logging, tracing) shell around `definition`. */
export function stateMachine(definition: unknown, extra: Record<string, unknown> = {}): OfflineResource {
  return resource(
    SM_TYPE,
    {
      name: 'cqrs-dev-command',
      roleArn: 'arn:aws:iam::123456789012:role/cqrs-dev-command-sfn',
      definition: typeof definition === 'string' || definition === undefined ? definition : JSON.stringify(definition),
      loggingConfiguration: {
        level: 'ALL',
        includeExecutionData: true,
        logDestination: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/states/x:*',
      },
      tracingConfiguration: { enabled: true },
      ...extra,
    },
    'command-machine',
  );
}

export function machine(
  states: Record<string, unknown>,
  startAt?: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { StartAt: startAt ?? Object.keys(states)[0], States: states, ...extra };
}

/** A Parallel state whose branches are the given state maps. */
export function parallel(
  branches: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { Type: 'Parallel', End: true, Branches: branches.map((b) => machine(b)), ...extra };
}

export function lambdaTask(next?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: LAMBDA, Payload: { 'input.$': '$' } },
    ...(next ? { Next: next } : { End: true }),
    ...extra,
  };
}

export function inlineMap(
  processorStates: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    Type: 'Map',
    ItemsPath: '$.items',
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, ...machine(processorStates) },
    End: true,
    ...extra,
  };
}

export function distributedMap(
  processorStates: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  executionType = 'EXPRESS',
): Record<string, unknown> {
  return {
    Type: 'Map',
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' },
    },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: executionType },
      ...machine(processorStates),
    },
    End: true,
    ...extra,
  };
}

export async function run(
  policy: ResourceValidationPolicy,
  res: OfflineResource | OfflineResource[],
  config?: OfflinePolicyConfig,
): Promise<RunResult> {
  return evaluatePolicies(Array.isArray(res) ? res : [res], { policies: [policy], config });
}

/** The reported messages (without the description prefix). */
export function messages(r: RunResult): string[] {
  return r.violations.map((v) => v.message.split('\n').slice(1).join('\n'));
}
