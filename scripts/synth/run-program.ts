/**
 * Runs a Pulumi program offline under Pulumi's own mocks and records every resource
 * it registers with its inputs. Generic over the program: it knows nothing of the
 * resources it will see, only how to answer the provider invokes every AWS program
 * makes (account, region, partition).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import YAML from 'yaml';

export const MOCK_ACCOUNT_ID = '123456789012';

export interface SynthResource {
  type: string;
  name: string;
  /** The URN the engine would give it: the parents' type chain, then the name. */
  urn: string;
  /** URN of the parent; undefined for children of the stack. */
  parent?: string;
  /** Pulumi `protect`, inherited from parents as the engine does. */
  protect: boolean;
  /** Pulumi `retainOnDelete`, inherited from parents as the engine does. */
  retainOnDelete: boolean;
  /** URN of an explicit provider, if the resource or a parent was given one. */
  provider?: string;
  /** Inputs as the engine would see them; a value unknown at preview is the string {@link UNKNOWN}. */
  inputs: Record<string, unknown>;
  custom: boolean;
}

interface ResourceMeta {
  urn: string;
  qualifiedType: string;
  parent?: string;
  protect: boolean;
  retainOnDelete: boolean;
  provider?: string;
}

export interface SynthOptions {
  /** Run as `pulumi preview` (isDryRun). Default: false. */
  preview?: boolean;
  /** Resources report no outputs at all: every output is unknown, as for a first preview. Needs `preview`. */
  unknownOutputs?: boolean;
  /** Config as flat `namespace:key` → string, instead of reading `Pulumi.<stack>.yaml`. */
  config?: Record<string, string>;
  project?: string;
  /** Outputs of the stacks a program reads through StackReferences, by stack name (`org/project/stack`). */
  stackReferences?: Record<string, Record<string, unknown>>;
}

export interface SynthResult<T> {
  stack: string;
  resources: SynthResource[];
  outputs: T;
  /**
   * The program's stack outputs as plain values, as `pulumi stack output` would show them:
   * {@link UNKNOWN} where a value is not known (preview), {@link SECRET} for a secret.
   */
  outputValues: Record<string, unknown>;
  /** Errors raised while resources were registered (for example an invalid definition). */
  errors: Error[];
}

/** Flattens a stack file's `config:` block to the `namespace:key` → string form Pulumi passes to programs. */
export function readStackConfig(rootDir: string, stack: string): Record<string, string> {
  const file = path.join(rootDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
  const parsed = (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.config ?? {})) {
    out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * The ARN a real provider reports for a resource of `type` with this physical name, in the
 * format AWS uses (so IAM tools that check resource types accept it); other types get a
 * generic `arn:aws:<service>:<region>:<account>:<name>`.
 */
export function mockArn(type: string, physical: string, region: string): string {
  const at = `${region}:${MOCK_ACCOUNT_ID}`;
  switch (type) {
    case 'aws:dynamodb/table:Table':
      return `arn:aws:dynamodb:${at}:table/${physical}`;
    case 'aws:s3/bucket:Bucket':
      return `arn:aws:s3:::${physical}`;
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `arn:aws:logs:${at}:log-group:${physical}`;
    case 'aws:kms/key:Key':
      return `arn:aws:kms:${at}:key/${physical}`;
    case 'aws:lambda/function:Function':
      return `arn:aws:lambda:${at}:function:${physical}`;
    case 'aws:iam/role:Role':
      return `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${physical}`;
    case 'aws:sfn/stateMachine:StateMachine':
      return `arn:aws:states:${at}:stateMachine:${physical}`;
    case 'aws:cloudwatch/eventRule:EventRule':
      return `arn:aws:events:${at}:rule/${physical}`;
    case 'aws:cloudwatch/metricAlarm:MetricAlarm':
      return `arn:aws:cloudwatch:${at}:alarm:${physical}`;
    default:
      return `arn:aws:${type.split(':')[1]?.split('/')[0] ?? 'mock'}:${at}:${physical}`;
  }
}

/** The id a real provider reports: the name for most AWS resources, the URL of a queue, the ARN of a topic. */
function mockId(type: string, physical: string | undefined, logical: string, arn: string, region: string): string {
  if (physical === undefined) return `${logical}-id`;
  switch (type) {
    case 'aws:sqs/queue:Queue':
      return `https://sqs.${region}.amazonaws.com/${MOCK_ACCOUNT_ID}/${physical}`;
    case 'aws:sns/topic:Topic':
    case 'aws:sfn/stateMachine:StateMachine':
      return arn;
    default:
      return physical;
  }
}

/** Outputs a real provider would compute, enough for a program's `apply`s to run. */
export function computedState(
  args: pulumi.runtime.MockResourceArgs,
  region: string,
): { id: string; state: Record<string, unknown> } {
  const inputs = args.inputs as Record<string, unknown>;
  const named = inputs.name ?? inputs.bucket;
  const physical = typeof named === 'string' ? named : undefined;
  // A key has no name: its ARN ends in a key id.
  const arn = mockArn(args.type, physical ?? `${args.name}-id`, region);
  const id = mockId(args.type, physical, args.name, arn, region);
  const state: Record<string, unknown> = { ...inputs, arn, id };
  if (args.type === 'aws:dynamodb/table:Table' && inputs.streamEnabled)
    state.streamArn = `${arn}/stream/2026-01-01T00:00:00.000`;
  if (args.type === 'aws:sqs/queue:Queue') state.url = id;
  if (args.type === 'aws:s3/bucket:Bucket') state.bucket = physical;
  if (args.type === 'aws:kms/key:Key') state.keyId = `${args.name}-id`;
  return { id, state };
}

/** Answers the provider invokes every AWS program makes (account, region, partition). */
export function answerInvoke(args: pulumi.runtime.MockCallArgs, region: string): Record<string, unknown> {
  switch (args.token) {
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return {
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/offline`,
        userId: 'OFFLINE',
        id: MOCK_ACCOUNT_ID,
      };
    case 'aws:index/getRegion:getRegion':
      return { region, name: region, id: region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws', id: 'aws' };
    default:
      throw new Error(`offline synth cannot answer invoke ${args.token}`);
  }
}

/** The engine's sentinel for a value unknown during preview, as policies receive it. */
export const UNKNOWN = pulumi.runtime.unknownValue;

/** What a secret stack output shows, as the CLI prints it without --show-secrets. */
export const SECRET = '[secret]';

/**
 * Starts collecting the values of a program's exported outputs. An Output's `apply` never
 * runs while its value is unknown, so whatever has not arrived once the program is done
 * stays UNKNOWN.
 */
function collectOutputValues(outputs: unknown): () => Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  const secrets: Promise<void>[] = [];
  // Stack outputs are the properties of the plain object a program returns (not of a resource it may return).
  const plain = outputs !== null && typeof outputs === 'object' && Object.getPrototypeOf(outputs) === Object.prototype;
  const entries = plain ? Object.entries(outputs as Record<string, unknown>) : [];
  for (const [key, value] of entries) {
    values[key] = UNKNOWN;
    if (!pulumi.Output.isInstance(value)) {
      values[key] = value;
      continue;
    }
    const output = value;
    output.apply((v) => {
      values[key] = normalizeUnknowns(v);
      return v;
    });
    secrets.push(
      pulumi.isSecret(output).then(
        (secret) => {
          if (secret) values[key] = SECRET;
        },
        () => undefined, // a failed output is reported through the program's errors
      ),
    );
  }
  return async () => {
    // Called once the engine is disconnected: every output that can settle has; never wait on one that cannot.
    await Promise.race([Promise.all(secrets), new Promise((r) => setImmediate(r))]);
    return values;
  };
}

/** Writes every unknown (mock `unknown` objects, unresolved outputs) as the engine's sentinel string. */
function normalizeUnknowns(value: unknown): unknown {
  if (value === UNKNOWN || pulumi.isUnknown(value)) return UNKNOWN;
  if (Array.isArray(value)) return value.map(normalizeUnknowns);
  if (value && typeof value === 'object') {
    if (pulumi.Output.isInstance(value)) return UNKNOWN;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, normalizeUnknowns(v)]),
    );
  }
  return value;
}

/**
 * Turns Pulumi's asset objects (whose contents are promises) into plain data:
 * an archive becomes `{ assets: { <file>: { text } } }`, so its bundle can be read.
 */
async function plainAssets(input: unknown): Promise<unknown> {
  const value: unknown = input;
  if (pulumi.asset.AssetArchive.isInstance(value)) {
    const assets = (await (value as unknown as { assets: Promise<Record<string, unknown>> }).assets) ?? {};
    const files: Record<string, unknown> = {};
    for (const [name, asset] of Object.entries(assets)) files[name] = await plainAssets(asset);
    return { assets: files };
  }
  if (pulumi.asset.Asset.isInstance(value)) {
    const text = await (value as unknown as { text?: Promise<string> }).text;
    return text === undefined ? { asset: 'non-text' } : { text };
  }
  if (Array.isArray(input)) return Promise.all(input.map(plainAssets));
  if (value && typeof value === 'object' && !pulumi.Output.isInstance(value)) {
    const entries = await Promise.all(
      Object.entries(value as Record<string, unknown>).map(async ([k, v]) => [k, await plainAssets(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

/**
 * Runs `program` for `stack` under mocks and waits until every registration has
 * been answered. Only one synthesis may run at a time in a process.
 */
export async function synthesize<T>(
  rootDir: string,
  stack: string,
  program: () => T,
  options: SynthOptions = {},
): Promise<SynthResult<T>> {
  const project = options.project ?? 'cqrs-workflows';
  const config = options.config ?? readStackConfig(rootDir, stack);
  const region = config['aws:region'] ?? 'us-east-1';
  const resources: SynthResource[] = [];
  const errors: Error[] = [];
  const unknown = Boolean(options.preview && options.unknownOutputs);
  // What mocks do not see (parents, protect, providers) is read from the resource
  // options by a stack transformation, then paired with the registration.
  const metaByResource = new WeakMap<pulumi.Resource, ResourceMeta>();
  const pending = new Map<string, ResourceMeta[]>();
  const urns = new Set<string>();
  const recordOptions: pulumi.ResourceTransformation = (args) => {
    const parent = args.opts.parent ? metaByResource.get(args.opts.parent) : undefined;
    const qualifiedType = parent ? `${parent.qualifiedType}$${args.type}` : args.type;
    const urn = `urn:pulumi:${stack}::${project}::${qualifiedType}::${args.name}`;
    if (urns.has(urn)) errors.push(new Error(`duplicate URN ${urn}: two resources share a type chain and name`));
    urns.add(urn);
    const opts = args.opts as pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
    const explicit =
      opts.provider ?? (Array.isArray(opts.providers) ? opts.providers[0] : Object.values(opts.providers ?? {})[0]);
    const meta: ResourceMeta = {
      urn,
      qualifiedType,
      parent: parent?.urn,
      protect: opts.protect ?? parent?.protect ?? false,
      retainOnDelete: opts.retainOnDelete ?? parent?.retainOnDelete ?? false,
      provider: (explicit && metaByResource.get(explicit)?.urn) ?? parent?.provider,
    };
    metaByResource.set(args.resource, meta);
    const key = `${args.type}::${args.name}`;
    pending.set(key, [...(pending.get(key) ?? []), meta]);
    return undefined;
  };

  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        if (args.type === 'pulumi:pulumi:Stack') return { id: undefined, state: {} };
        if (args.type === 'pulumi:pulumi:StackReference') {
          // A stack reference reads the other stack's state, during a preview too.
          const requested = (args.inputs as { name?: unknown }).name;
          const name = typeof requested === 'string' ? requested : args.name;
          const outputs = options.stackReferences?.[name];
          if (!outputs) throw new Error(`offline synth has no outputs for the stack reference ${name}`);
          return { id: name, state: { name, outputs, secretOutputNames: [] } };
        }
        const key = `${args.type}::${args.name}`;
        const meta = pending.get(key)?.shift();
        resources.push({
          type: args.type,
          name: args.name,
          urn: meta?.urn ?? `urn:pulumi:${stack}::${project}::${args.type}::${args.name}`,
          parent: meta?.parent,
          protect: meta?.protect ?? false,
          retainOnDelete: meta?.retainOnDelete ?? false,
          provider: meta?.provider,
          inputs: normalizeUnknowns(await plainAssets(args.inputs)) as Record<string, unknown>,
          custom: args.custom ?? true,
        });
        if (unknown) return { id: undefined, state: {} };
        return computedState(args, region);
      },
      call(args) {
        return answerInvoke(args, region);
      },
    },
    project,
    stack,
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig(config, []);

  const onRejection = (reason: unknown) => errors.push(reason instanceof Error ? reason : new Error(String(reason)));
  process.on('unhandledRejection', onRejection);
  try {
    let outputs = undefined as T;
    let outputValues: () => Promise<Record<string, unknown>> = () => Promise.resolve({});
    try {
      await pulumi.runtime.runInPulumiStack(() => {
        pulumi.runtime.registerStackTransformation(recordOptions);
        outputs = program();
        outputValues = collectOutputValues(outputs);
        return Promise.resolve(undefined);
      });
    } catch (e) {
      errors.push(e as Error);
    }
    await pulumi.runtime.disconnect();
    // Rejections surface a tick after the queue drains.
    await new Promise((r) => setImmediate(r));
    const unique = [...new Map(errors.map((e) => [e.message, e])).values()];
    return { stack, resources, outputs, outputValues: await outputValues(), errors: unique };
  } finally {
    process.off('unhandledRejection', onRejection);
  }
}
