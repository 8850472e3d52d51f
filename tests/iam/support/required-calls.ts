/**
 * Every call the stack's principals make, on the exact resource, derived from:
 * - the handlers' code (code-calls.ts: reached SDK calls, resources from the function's
 *   environment in the synthesized stack);
 * - the state machine definitions (Task resources, ItemReader, ResultWriter, Distributed
 *   Map children, logging and tracing);
 * - the wiring of the synthesized stack (event source mappings, subscriptions, rule
 *   targets, alarm actions, access logging, KMS-encrypted topics, role trust).
 * What AWS does on a principal's behalf (Lambda polling a queue, Step Functions delivering
 * logs) comes from AWS's documentation of each integration: those few tables are below,
 * each with the page that states it.
 */
import { BUCKET_PREFIXES, CSV_SOURCE_PREFIXES } from '../../../core/bucket-layout';
import { describeSym, type SdkCall, type Sym } from './code-calls';
import type { FunctionModel, MachineModel, StackModel } from './model';

export type Principal = { role: string } | { service: string };

export interface Call {
  principal: Principal;
  action: string;
  /** The exact resource ARN, or "*" for actions the reference lists without a resource type. */
  resource: string;
  context?: Record<string, string | string[]>;
  /** Where the call comes from (code site, definition state, stack wiring). */
  source: string;
}

/** A call whose resource the code does not determine and no explicit entry explains. */
export interface Unresolved {
  function: string;
  site: string;
  command: string;
  what: string;
}

/** Stands for the part of a resource a call leaves open (a key under a prefix, an execution id). */
export const SAMPLE = 'sample';

// ------------------------------------------------------------------ SDK command → IAM action

/** The service prefix of each SDK package the handlers use. */
const SERVICE_OF_MODULE: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-dynamodb-streams': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-sns': 'sns',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-sqs': 'sqs',
};

/**
 * Where the IAM action is not the command's name: the DynamoDB document client's short
 * names, and S3/Lambda operations authorised by another action (Service Authorization
 * Reference, "API operations" tables). Everything else is `<service>:<Name>` of `<Name>Command`.
 */
const ACTION_OF_COMMAND: Record<string, string> = {
  GetCommand: 'GetItem',
  PutCommand: 'PutItem',
  UpdateCommand: 'UpdateItem',
  DeleteCommand: 'DeleteItem',
  BatchGetCommand: 'BatchGetItem',
  BatchWriteCommand: 'BatchWriteItem',
  QueryCommand: 'Query',
  ScanCommand: 'Scan',
  HeadObjectCommand: 'GetObject',
  ListObjectsV2Command: 'ListBucket',
  CreateMultipartUploadCommand: 'PutObject',
  UploadPartCommand: 'PutObject',
  CompleteMultipartUploadCommand: 'PutObject',
  InvokeCommand: 'InvokeFunction',
};

/** TransactWriteItems / TransactGetItems are authorised per item, by the item's own action. */
const TRANSACT_ITEM_ACTION: Record<string, string> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
  Get: 'GetItem',
};

/** Commands the SDK's own clients carry for features the handlers leave off (not sent). */
export const SDK_INTERNAL_COMMANDS = new Set(['DescribeEndpointsCommand', 'CreateSessionCommand']);

function prop(values: Sym[], name: string): Sym[] {
  return values.flatMap((v): Sym[] => {
    if (v.k === 'obj') return v.props[name] ?? (v.open ? [{ k: 'unknown', why: `.${name}` }] : [{ k: 'undef' }]);
    if (v.k === 'undef') return [v];
    return [{ k: 'unknown', why: `.${name} of ${describeSym(v)}` }];
  });
}

/** Every string a value can be in a function's environment; `undefined` for a part the code does not determine. */
function strings(values: Sym[], env: Record<string, string>, fn: string): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  const one = (v: Sym): (string | undefined)[] => {
    switch (v.k) {
      case 'lit':
        return [String(v.v)];
      case 'undef':
        return [];
      case 'env': {
        if (!(v.name in env)) throw new Error(`${fn} reads ${v.name}, which the stack does not set on it`);
        return [env[v.name]];
      }
      case 'envItem': {
        if (!(v.name in env)) throw new Error(`${fn} reads ${v.name}, which the stack does not set on it`);
        const parsed = JSON.parse(env[v.name]) as unknown;
        return (Array.isArray(parsed) ? parsed : Object.values(parsed as Record<string, unknown>)).map(String);
      }
      case 'cat': {
        let acc: (string | undefined)[] = [''];
        for (const part of v.parts) {
          const options = part.k === 'unknown' ? [SAMPLE] : one(part);
          acc = acc.flatMap((a) => options.map((o) => (a === undefined || o === undefined ? undefined : a + o)));
        }
        // A value with a known start and an unknown rest (a key under a prefix) is
        // represented by a sample; one that starts unknown is not determined at all.
        return v.parts[0]?.k === 'unknown' ? acc.map(() => undefined) : acc;
      }
      default:
        return [undefined];
    }
  };
  for (const v of values) out.push(...one(v));
  return [...new Set(out)];
}

interface Target {
  action: string;
  /** Resource kind and the value(s) naming it. */
  kind:
    'table' | 'stream' | 'object' | 'bucket' | 'topic' | 'stateMachine' | 'execution' | 'function' | 'queue' | 'any';
  name: Sym[];
  key?: Sym[];
  index?: Sym[];
}

function targetsOf(call: SdkCall): Target[] {
  const service = SERVICE_OF_MODULE[call.module];
  if (!service) throw new Error(`${call.site}: ${call.command} from ${call.module}: no service mapping`);
  const name = ACTION_OF_COMMAND[call.command] ?? call.command.replace(/Command$/, '');
  const action = `${service}:${name}`;
  const input = call.input;
  switch (service) {
    case 'dynamodb': {
      // DynamoDB Streams: the stream ARN (GetRecords names only an iterator of it)
      if (call.module === '@aws-sdk/client-dynamodb-streams')
        return [
          {
            action,
            kind: 'stream',
            name:
              call.command === 'GetRecordsCommand'
                ? [{ k: 'unknown', why: 'ShardIterator' }]
                : prop(input, 'StreamArn'),
          },
        ];
      if (call.command === 'TransactWriteCommand' || call.command === 'TransactGetCommand') {
        const items = prop(input, 'TransactItems').flatMap((v) =>
          v.k === 'arr' ? v.items.flat() : [{ k: 'unknown', why: 'TransactItems' } as Sym],
        );
        return items.flatMap((item): Target[] =>
          Object.entries(TRANSACT_ITEM_ACTION).flatMap(([key, itemAction]) => {
            const part = prop([item], key).filter((p) => p.k !== 'undef');
            return part.length === 0
              ? []
              : [{ action: `dynamodb:${itemAction}`, kind: 'table', name: prop(part, 'TableName') }];
          }),
        );
      }
      if (call.command.startsWith('Batch')) {
        const tables = prop(input, 'RequestItems').flatMap((v): Sym[] =>
          v.k === 'obj'
            ? [...Object.keys(v.props).map((k): Sym => ({ k: 'lit', v: k })), ...v.computed.map((c) => c.key)]
            : [{ k: 'unknown', why: 'RequestItems' }],
        );
        return [{ action, kind: 'table', name: tables }];
      }
      const index = prop(input, 'IndexName').filter((v) => v.k !== 'undef');
      return [{ action, kind: 'table', name: prop(input, 'TableName'), index: index.length ? index : undefined }];
    }
    case 's3':
      if (name === 'ListBucket') return [{ action, kind: 'bucket', name: prop(input, 'Bucket') }];
      return [{ action, kind: 'object', name: prop(input, 'Bucket'), key: prop(input, 'Key') }];
    case 'sns':
      return [{ action, kind: 'topic', name: prop(input, 'TopicArn') }];
    case 'states':
      if (/^SendTask/.test(name)) return [{ action, kind: 'any', name: [] }];
      if (/Execution$/.test(name) && name.startsWith('Start'))
        return [{ action, kind: 'stateMachine', name: prop(input, 'stateMachineArn') }];
      return [{ action, kind: 'execution', name: prop(input, 'executionArn') }];
    case 'lambda':
      return [{ action, kind: 'function', name: prop(input, 'FunctionName') }];
    case 'sqs':
      return [{ action, kind: 'queue', name: prop(input, 'QueueUrl') }];
    default:
      throw new Error(`${call.site}: no resource mapping for ${action}`);
  }
}

// ------------------------------------------------------------------ explicit sources

/**
 * Resources the code takes from data (a row, an event) rather than from its environment,
 * so no reading of the code can name them. Each entry says where the value comes from;
 * the resources are still computed from the stack, not written out.
 */
interface ExplicitSource {
  site: RegExp;
  command: RegExp;
  why: string;
  resources: (m: StackModel, fn: FunctionModel) => string[];
}

/**
 * The import bucket, which job rows name: the function's own IMPORT_BUCKET, or (for a
 * function that only follows job rows, like execution-watch) the one the stack's functions share.
 */
const importBucket = (fn: FunctionModel, m: StackModel): string => {
  const names = new Set(
    fn.environment.IMPORT_BUCKET
      ? [fn.environment.IMPORT_BUCKET]
      : m.functions.map((f) => f.environment.IMPORT_BUCKET).filter((b): b is string => !!b),
  );
  if (names.size !== 1)
    throw new Error(`${fn.name} reads import files, and the stack has ${names.size} import buckets`);
  return `arn:${m.partition}:s3:::${[...names][0]}`;
};

export const EXPLICIT_SOURCES: ExplicitSource[] = [
  {
    site: /^handlers\/import\/objects\.ts:/,
    command: /^(Get|Head)ObjectCommand$/,
    why: 'An import job names its CSV in the job row: written by the client (which accepts only imports/) or by the ZIP step (unzipped/).',
    resources: (m, fn) => CSV_SOURCE_PREFIXES.map((p) => `${importBucket(fn, m)}/${p}${SAMPLE}.csv`),
  },
  {
    site: /^handlers\/import\/zip\.ts:/,
    command: /^(Get|Head)ObjectCommand$/,
    why: 'The ZIP archive is the file an application uploaded, named in the ZIP job (imports/ only).',
    resources: (m, fn) => [`${importBucket(fn, m)}/imports/${SAMPLE}.zip`],
  },
  {
    site: /^handlers\/import\/zip\.ts:/,
    command: /^PutObjectCommand$/,
    why: "A ZIP's CSV entries are written under the job's unzipped/ prefix (planEntries puts it in front of every entry's key).",
    resources: (m, fn) => [`${importBucket(fn, m)}/${BUCKET_PREFIXES.unzipped}${SAMPLE}.csv`],
  },
  {
    site: /^handlers\/import\/staging\.ts:/,
    command: /^GetObjectCommand$/,
    why: "A job's staged rows file, named in the job row as csv_loader wrote it (stagedRowsKey: under staged/).",
    resources: (m, fn) => [`${importBucket(fn, m)}/${BUCKET_PREFIXES.staged}${SAMPLE}/rows.jsonl`],
  },
  {
    site: /^handlers\/import\/csv-steps\.ts:/,
    command: /^GetObjectCommand$/,
    why: "The Distributed Map's result manifest and files, at the location its ResultWriterDetails report: the ResultWriter Prefix of the import-csv definition.",
    resources: (m) =>
      m.machines.flatMap((machine) =>
        resultWriters(machine).map((w) => `arn:${m.partition}:s3:::${w.bucket}/${w.prefix}${SAMPLE}.json`),
      ),
  },
  {
    site: /^handlers\/triggers\/stream-failures\.ts:/,
    command: /^(GetShardIterator|GetRecords)Command$/,
    why: "The stream named in an on-failure record of a stream whose failures reach this function's queue (Lambda's on-failure destination of that event source mapping).",
    resources: (m, fn) => {
      const queues = m.eventSourceMappings
        .filter((e) => e.functionName === fn.name && e.sourceArn.includes(':sqs:'))
        .map((e) => e.sourceArn);
      return m.eventSourceMappings
        .filter((e) => e.sourceArn.includes(':dynamodb:') && e.onFailureArn && queues.includes(e.onFailureArn))
        .map((e) => e.sourceArn.replace(/\/stream\/[^/]+$/, `/stream/${SAMPLE}`));
    },
  },
  {
    site: /^handlers\/triggers\/stream-failures\.ts:/,
    command: /^DescribeExecutionCommand$/,
    why: "The execution named after a command version (executionName('commands', pk, sk)) on the machine that takes a version on after the router: command-wait on the EXPRESS path, command on the STANDARD path.",
    resources: (_m, fn) => {
      const e = fn.environment;
      const machine = e.COMMAND_PATH === 'EXPRESS' ? e.COMMAND_WAIT_STATE_MACHINE_ARN : e.COMMAND_STATE_MACHINE_ARN;
      if (!machine) throw new Error(`${fn.name} describes command executions but has no command machine ARN`);
      return [`${machine.replace(':stateMachine:', ':execution:')}:${SAMPLE}`];
    },
  },
  {
    site: /^handlers\/triggers\/execution-watch\.ts:/,
    command: /^DescribeExecutionCommand$/,
    why: "Execution ARNs arrive in the events of the stack's execution-ended rule: executions of the machines it matches.",
    resources: (m) =>
      m.rules.flatMap((r) => {
        const detail = r.pattern.detail as { stateMachineArn?: string[] } | undefined;
        return (detail?.stateMachineArn ?? []).map(
          (arn) => `${arn.replace(':stateMachine:', ':execution:')}:${SAMPLE}`,
        );
      }),
  },
];

// ------------------------------------------------------------------ handlers

function resourceArns(t: Target, fn: FunctionModel, m: StackModel): { arns: string[]; unresolved?: string } {
  const env = fn.environment;
  const names = strings(t.name, env, fn.name);
  if (t.kind === 'any') return { arns: ['*'] };
  if (names.includes(undefined)) return { arns: [], unresolved: `${t.kind} ${t.name.map(describeSym).join(' | ')}` };
  const defined = names as string[];
  switch (t.kind) {
    case 'table': {
      const index = t.index ? strings(t.index, env, fn.name) : [undefined];
      return {
        arns: defined.flatMap((n) => {
          const table = m.tables.find((x) => x.name === n);
          if (!table) throw new Error(`${fn.name}: table ${n} is not in the stack`);
          return index.map((i) => (i === undefined ? table.arn : `${table.arn}/index/${i}`));
        }),
      };
    }
    case 'object': {
      const keys = strings(t.key ?? [], env, fn.name);
      if (keys.includes(undefined))
        return { arns: [], unresolved: `object key ${(t.key ?? []).map(describeSym).join(' | ')}` };
      return { arns: defined.flatMap((b) => (keys as string[]).map((k) => `arn:${m.partition}:s3:::${b}/${k}`)) };
    }
    case 'bucket':
      return { arns: defined.map((b) => `arn:${m.partition}:s3:::${b}`) };
    case 'function':
      return {
        arns: defined.map((f) =>
          f.startsWith('arn:') ? f : `arn:${m.partition}:lambda:${m.region}:${m.account}:function:${f}`,
        ),
      };
    case 'queue':
      return { arns: defined.map((url) => m.queues.find((q) => q.url === url || q.arn === url)?.arn ?? url) };
    default:
      return { arns: defined };
  }
}

/**
 * Functions a handler reaches only on one command path (the function's COMMAND_PATH): the
 * router starts a version one way or the other, and only the EXPRESS path's command-wait
 * machine invokes run_command. A call made through one of them is required only on its path.
 */
const COMMAND_PATH_ONLY: Record<string, 'EXPRESS' | 'STANDARD'> = {
  startStandardCommand: 'STANDARD',
  startExpressCommand: 'EXPRESS',
  runCommandStep: 'EXPRESS',
};

function onOtherCommandPath(sdk: SdkCall, fn: FunctionModel): boolean {
  const path = fn.environment.COMMAND_PATH ?? 'STANDARD';
  return sdk.via.some((f) => COMMAND_PATH_ONLY[f] !== undefined && COMMAND_PATH_ONLY[f] !== path);
}

/** The calls a function's code makes, with the sites that make them. */
export function codeCalls(
  m: StackModel,
  fn: FunctionModel,
  sdkCalls: SdkCall[],
): { calls: Call[]; unresolved: Unresolved[] } {
  const calls: Call[] = [];
  const unresolved: Unresolved[] = [];
  const principal = { role: fn.roleArn };
  for (const sdk of sdkCalls) {
    if (SDK_INTERNAL_COMMANDS.has(sdk.command) || onOtherCommandPath(sdk, fn)) continue;
    for (const t of targetsOf(sdk)) {
      const { arns, unresolved: what } = resourceArns(t, fn, m);
      let resources = arns;
      let source = `${sdk.site} ${sdk.command}`;
      if (what) {
        const explicit = EXPLICIT_SOURCES.find((e) => e.site.test(sdk.site) && e.command.test(sdk.command));
        if (!explicit) {
          unresolved.push({ function: fn.name, site: sdk.site, command: sdk.command, what });
          continue;
        }
        resources = explicit.resources(m, fn);
        source += ` (explicit: ${explicit.why})`;
      }
      for (const resource of resources) {
        calls.push({ principal, action: t.action, resource, source });
        // SNS encrypts with the topic's key on the publisher's behalf (SNS developer guide,
        // "Enabling compatibility between an encrypted topic and event sources").
        if (t.action === 'sns:Publish') {
          const topic = m.topics.find((x) => x.arn === resource);
          if (topic?.kmsKeyId?.startsWith('arn:')) {
            for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
              calls.push({
                principal,
                action,
                resource: topic.kmsKeyId,
                context: { 'kms:ViaService': `sns.${m.region}.amazonaws.com`, 'kms:CallerAccount': m.account },
                source: `${source} → SNS encrypts with ${topic.name}'s key`,
              });
          }
        }
      }
    }
  }
  return { calls, unresolved };
}

/**
 * What Lambda does with the function's role (Lambda developer guide: "Lambda execution
 * role", "Sending Lambda function logs to CloudWatch Logs", "Using Lambda with X-Ray",
 * "Using Lambda with Amazon DynamoDB" and "… with Amazon SQS" execution role permissions,
 * "On-failure destinations" for event source mappings).
 */
export function platformCalls(m: StackModel, fn: FunctionModel): Call[] {
  const principal = { role: fn.roleArn };
  const calls: Call[] = [];
  const stream = `arn:${m.partition}:logs:${m.region}:${m.account}:log-group:${fn.logGroupName}:log-stream:${SAMPLE}`;
  for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents'])
    calls.push({ principal, action, resource: stream, source: `Lambda logs of ${fn.name}` });
  if (fn.tracing)
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'])
      calls.push({ principal, action, resource: '*', source: `active tracing of ${fn.name}` });
  if (fn.vpc) {
    // "Giving Lambda functions access to resources in an Amazon VPC": the execution role
    // creates, describes and deletes the function's network interfaces.
    const ec2 = `arn:${m.partition}:ec2:${m.region}:${m.account}`;
    const eni = `${ec2}:network-interface/${SAMPLE}`;
    const source = `VPC networking of ${fn.name}`;
    for (const resource of [
      eni,
      ...fn.vpc.subnetIds.map((id) => `${ec2}:subnet/${id}`),
      ...fn.vpc.securityGroupIds.map((id) => `${ec2}:security-group/${id}`),
    ])
      calls.push({ principal, action: 'ec2:CreateNetworkInterface', resource, source });
    for (const action of [
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ])
      calls.push({ principal, action, resource: eni, source });
    for (const action of ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'])
      calls.push({ principal, action, resource: '*', source });
  }
  for (const esm of m.eventSourceMappings.filter((e) => e.functionName === fn.name)) {
    const source = `event source mapping ${esm.sourceArn} → ${fn.name}`;
    if (esm.sourceArn.includes(':dynamodb:')) {
      // The stream label changes whenever a table's stream is turned off and on again.
      const stream = esm.sourceArn.replace(/\/stream\/[^/]+$/, `/stream/${SAMPLE}`);
      for (const action of ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'])
        calls.push({ principal, action, resource: stream, source });
      calls.push({ principal, action: 'dynamodb:ListStreams', resource: '*', source });
    } else if (esm.sourceArn.includes(':sqs:')) {
      for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
        calls.push({ principal, action, resource: esm.sourceArn, source });
    } else throw new Error(`${source}: no mapping for this event source`);
    if (esm.onFailureArn)
      calls.push({ principal, action: 'sqs:SendMessage', resource: esm.onFailureArn, source: `${source} on-failure` });
  }
  return calls;
}

// ------------------------------------------------------------------ state machines

interface StateVisit {
  name: string;
  state: Record<string, unknown>;
}

function statesOf(machine: Record<string, unknown>, out: StateVisit[] = []): StateVisit[] {
  const states = (machine.States ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, state] of Object.entries(states)) {
    out.push({ name, state });
    for (const nested of [state.ItemProcessor, state.Iterator])
      if (nested) statesOf(nested as Record<string, unknown>, out);
    for (const branch of (state.Branches as Record<string, unknown>[] | undefined) ?? []) statesOf(branch, out);
  }
  return out;
}

function resultWriters(machine: MachineModel): { bucket: string; prefix: string }[] {
  return statesOf(machine.definition).flatMap(({ state }) => {
    const w = state.ResultWriter as { Parameters?: { Bucket?: string; Prefix?: string } } | undefined;
    return w?.Parameters?.Bucket ? [{ bucket: w.Parameters.Bucket, prefix: w.Parameters.Prefix ?? '' }] : [];
  });
}

/** IMPORT_BUCKET of the stack's functions a machine invokes. */
function importBucketsOf(m: StackModel, machine: MachineModel): string[] {
  const invoked = new Set(
    statesOf(machine.definition).map(
      ({ state }) => (state.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName,
    ),
  );
  const names = m.functions
    .filter((f) => invoked.has(`arn:${m.partition}:lambda:${m.region}:${m.account}:function:${f.name}`))
    .map((f) => f.environment.IMPORT_BUCKET)
    .filter((b): b is string => !!b);
  return [...new Set(names)];
}

const LAMBDA_INVOKE = /^arn:[a-z-]+:states:::lambda:invoke(\.waitForTaskToken)?$/;

/**
 * What a state machine's role is used for: the integrations its definition names and,
 * from the Step Functions developer guide, what Step Functions needs for them ("IAM
 * policies for using Distributed Map states", "ResultWriter", "Logging using CloudWatch
 * Logs", "AWS X-Ray and Step Functions").
 */
export function machineCalls(m: StackModel, machine: MachineModel): { calls: Call[]; unresolved: Unresolved[] } {
  const principal = { role: machine.roleArn };
  const calls: Call[] = [];
  const unresolved: Unresolved[] = [];
  const problem = (state: string, what: string) =>
    unresolved.push({ function: machine.name, site: `definition state ${state}`, command: 'definition', what });
  let distributed = false;
  let standardChildren = false;
  for (const { name, state } of statesOf(machine.definition)) {
    const source = `${machine.name} state ${name}`;
    if (state.Type === 'Task') {
      const resource = String(state.Resource);
      const fnName = (state.Parameters as { FunctionName?: unknown } | undefined)?.FunctionName;
      if (!LAMBDA_INVOKE.test(resource)) problem(name, `no IAM mapping for ${resource}`);
      else if (typeof fnName !== 'string') problem(name, 'a Lambda named at run time');
      else calls.push({ principal, action: 'lambda:InvokeFunction', resource: fnName, source });
    }
    if (state.Type !== 'Map') continue;
    const processor = (
      state.ItemProcessor as { ProcessorConfig?: { Mode?: string; ExecutionType?: string } } | undefined
    )?.ProcessorConfig;
    if (processor?.Mode === 'DISTRIBUTED') {
      distributed = true;
      if (processor.ExecutionType !== 'EXPRESS') standardChildren = true;
    }
    const reader = state.ItemReader as { Resource?: string; Parameters?: Record<string, unknown> } | undefined;
    if (reader) {
      const bucket = reader.Parameters?.Bucket;
      const key = reader.Parameters?.Key;
      // A `Bucket.$` / `Key.$` is the job's staged rows file csv_loader wrote (see
      // EXPLICIT_SOURCES): in the bucket the functions this machine runs are configured with,
      // under staged/.
      const buckets = typeof bucket === 'string' ? [bucket] : importBucketsOf(m, machine);
      const keys = typeof key === 'string' ? [key] : [`${BUCKET_PREFIXES.staged}${SAMPLE}/rows.jsonl`];
      if (!/:s3:getObject$/.test(String(reader.Resource)))
        problem(name, `no IAM mapping for ItemReader ${reader.Resource}`);
      else if (buckets.length === 0) problem(name, 'an ItemReader bucket chosen at run time, and no IMPORT_BUCKET');
      for (const b of buckets)
        for (const k of keys)
          calls.push({
            principal,
            action: 's3:GetObject',
            resource: `arn:${m.partition}:s3:::${b}/${k}`,
            source: `${source} ItemReader`,
          });
    }
    for (const w of resultWriters({ ...machine, definition: { States: { [name]: state } } })) {
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'])
        calls.push({
          principal,
          action,
          resource: `arn:${m.partition}:s3:::${w.bucket}/${w.prefix}${SAMPLE}.json`,
          source: `${source} ResultWriter`,
        });
    }
  }
  if (distributed)
    calls.push({
      principal,
      action: 'states:StartExecution',
      resource: machine.arn,
      source: `${machine.name} Distributed Map children`,
    });
  if (standardChildren) {
    const child = `${machine.arn.replace(':stateMachine:', ':execution:')}/${SAMPLE}:${SAMPLE}`;
    for (const action of ['states:DescribeExecution', 'states:StopExecution'])
      calls.push({ principal, action, resource: child, source: `${machine.name} STANDARD Distributed Map children` });
  }
  // Written out from AWS's documentation on purpose, not imported from the component's grant:
  // a grant that lost an action must not take the requirement with it.
  if (machine.logging)
    for (const action of [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ])
      calls.push({ principal, action, resource: '*', source: `${machine.name} execution logging` });
  if (machine.tracing)
    for (const action of [
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
    ])
      calls.push({ principal, action, resource: '*', source: `${machine.name} tracing` });
  return { calls, unresolved };
}

// ------------------------------------------------------------------ services acting on the stack

/** Services that write into the stack's resources, as their wiring says. */
export function serviceCalls(m: StackModel): Call[] {
  const calls: Call[] = [];
  const sourced = (sourceArn: string) => ({ 'aws:SourceArn': sourceArn, 'aws:SourceAccount': m.account });
  for (const s of m.subscriptions.filter((x) => x.protocol === 'sqs'))
    calls.push({
      principal: { service: 'sns.amazonaws.com' },
      action: 'sqs:SendMessage',
      resource: s.endpoint,
      context: sourced(s.topicArn),
      source: `subscription ${s.topicArn} → ${s.endpoint}`,
    });
  for (const t of m.ruleTargets) {
    for (const arn of [t.targetArn, t.deadLetterArn].filter((a): a is string => !!a && a.includes(':sqs:')))
      calls.push({
        principal: { service: 'events.amazonaws.com' },
        action: 'sqs:SendMessage',
        resource: arn,
        context: sourced(t.ruleArn),
        source: `rule target ${t.ruleArn} → ${arn}`,
      });
  }
  for (const a of m.alarms) {
    for (const topicArn of new Set(a.actions)) {
      const topic = m.topics.find((x) => x.arn === topicArn);
      if (!topic?.kmsKeyId?.startsWith('arn:')) continue;
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
        calls.push({
          principal: { service: 'cloudwatch.amazonaws.com' },
          action,
          resource: topic.kmsKeyId,
          context: sourced(a.arn),
          source: `alarm ${a.name} → encrypted topic ${topic.name}`,
        });
    }
  }
  for (const l of m.bucketLogging) {
    const target = m.buckets.find((b) => b.name === l.targetBucket);
    const source = m.buckets.find((b) => b.name === l.sourceBucket);
    if (!target || !source)
      throw new Error(`access logging ${l.sourceBucket} → ${l.targetBucket}: bucket not in the stack`);
    calls.push({
      principal: { service: 'logging.s3.amazonaws.com' },
      action: 's3:PutObject',
      resource: `${target.arn}/${l.targetPrefix}${SAMPLE}`,
      context: sourced(source.arn),
      source: `server access logging ${l.sourceBucket} → ${l.targetBucket}`,
    });
  }
  return calls;
}

/** Who assumes each role: the service that runs what uses it. */
export function trustCalls(m: StackModel): Call[] {
  const calls: Call[] = [];
  for (const fn of m.functions)
    calls.push({
      principal: { service: 'lambda.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: fn.roleArn,
      source: `Lambda runs ${fn.name}`,
    });
  for (const machine of m.machines)
    calls.push({
      principal: { service: 'states.amazonaws.com' },
      action: 'sts:AssumeRole',
      resource: machine.roleArn,
      context: { 'aws:SourceAccount': m.account, 'aws:SourceArn': machine.arn },
      source: `Step Functions runs ${machine.name}`,
    });
  return calls;
}
