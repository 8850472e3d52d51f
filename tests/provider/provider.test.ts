import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { CqrsWorkflows } from '../../components/cqrs-workflows';
import {
  CqrsWorkflowsProvider,
  formatSchema,
  inferSchema,
  readCommittedSchema,
  schemaPath,
  type PackageSchema,
  type SchemaProperty,
} from '../../components/provider';
import type { SynthResource } from '../../scripts/synth/run-program';
import { startPlugin, type PluginSession } from '../support/engine-double';
import { packedTarball } from '../support/package-build';
import { ROOT, synthProgram } from '../support/synth';

const TOKEN = 'cqrs-workflows:index:CqrsWorkflows';
const REGION = 'eu-central-1';

/** Plain JSON, as the engine hands a Python or Go program's arguments to Construct. */
const ARGS = {
  prefix: 'acme-orders',
  deletionProtection: true,
  logRetentionDays: 30,
  stateMachineLogLevel: 'ERROR',
  alarmEmails: ['oncall@example.com'],
  lambdaMemoryMb: 512,
  command: {
    ttlDays: 30,
    syncMaxConcurrency: 4,
    syncTargets: [{ name: 'search', functionName: 'acme-search-indexer', timeoutSeconds: 60 }],
  },
  task: { maxConcurrency: 3, executors: { invoice: 'acme-invoice-executor' } },
  import: { maxConcurrency: 20, resultRetentionDays: 60 },
  vpc: { subnetIds: ['subnet-0a', 'subnet-0b'], securityGroupIds: ['sg-0c'] },
  tags: { team: 'orders' },
};

/**
 * The README's Python and Go examples (section "From Python, Go, .NET, Java and YAML") as the
 * engine hands their arguments to Construct, for a program in project `orders`, stack `prod`.
 */
const README_GO_ARGS = {
  deletionProtection: true,
  protectData: true,
  logRetentionDays: 90,
  stateMachineLogLevel: 'ERROR',
  command: {
    syncMaxConcurrency: 5,
    syncTargets: [{ name: 'search', functionName: 'orders-prod-search-indexer', timeoutSeconds: 30 }],
  },
};
const README_LANGUAGE_ARGS: Record<string, Record<string, unknown>> = {
  // The Python example also registers a task executor and tags.
  python: {
    ...README_GO_ARGS,
    task: { maxConcurrency: 4, executors: { invoice: 'orders-prod-invoice-executor' } },
    tags: { team: 'orders' },
  },
  go: README_GO_ARGS,
};
/** Maps keyed by the user (executors, tags) hold no argument names. */
const USER_KEYED = new Set(['executors', 'tags']);

function argumentNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(argumentNames);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...(USER_KEYED.has(k) ? [] : argumentNames(v))]);
}
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The README's code block in `language` (the one example of each). */
function readmeBlock(language: string): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
  assert.equal(blocks.length, 1, `README has ${blocks.length} ${language} blocks`);
  return blocks[0];
}

const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** What identifies a registration and everything it asks for. */
function fingerprint(resources: SynthResource[]): string[] {
  return resources
    .filter((r) => r.type !== 'pulumi:pulumi:Stack')
    .map((r) => `${r.urn} ${r.protect} ${JSON.stringify(r.inputs)}`)
    .sort();
}

function everyProperty(schema: PackageSchema): [string, SchemaProperty][] {
  const out: [string, SchemaProperty][] = [];
  for (const [token, r] of Object.entries(schema.resources)) {
    for (const [name, p] of Object.entries(r.inputProperties)) out.push([`${token} input ${name}`, p]);
    for (const [name, p] of Object.entries(r.properties)) out.push([`${token} output ${name}`, p]);
  }
  for (const [token, t] of Object.entries(schema.types)) {
    for (const [name, p] of Object.entries(t.properties ?? {})) out.push([`${token}.${name}`, p]);
  }
  return out;
}

describe('multi-language schema (Pulumi analyzer)', () => {
  let inferred: PackageSchema;
  before(function () {
    this.timeout(300_000);
    inferred = inferSchema();
  });

  it('the committed schema.json is exactly what the analyzer infers from the sources', () => {
    const committed = fs.existsSync(schemaPath()) ? fs.readFileSync(schemaPath(), 'utf8') : '(missing)';
    assert.ok(
      committed === formatSchema(inferred),
      'schema.json is out of date with the component sources. Regenerate it with `npm run schema` and commit it.',
    );
  });

  it('describes CqrsWorkflows with named types, a string enum and integers where integers are meant', () => {
    const r = inferred.resources[TOKEN];
    assert.ok(r, 'CqrsWorkflows is in the schema');
    assert.deepEqual(Object.keys(inferred.resources), [TOKEN], 'only CqrsWorkflows is offered to other languages');
    const inputs = r.inputProperties;
    assert.equal(inputs.stateMachineLogLevel.$ref, '#/types/cqrs-workflows:index:LogLevel');
    assert.deepEqual(
      (inferred.types['cqrs-workflows:index:LogLevel'] as { enum: { value: string }[] }).enum.map((e) => e.value),
      ['ALL', 'ERROR', 'FATAL'],
    );
    const command = inferred.types['cqrs-workflows:index:CommandSettings'].properties ?? {};
    assert.equal(command.path.$ref, '#/types/cqrs-workflows:index:CommandPath');
    assert.deepEqual(
      (inferred.types['cqrs-workflows:index:CommandPath'] as { enum: { value: string }[] }).enum.map((e) => e.value),
      ['EXPRESS', 'STANDARD'],
    );
    assert.match(command.path.description ?? '', /Default: EXPRESS\./);
    for (const [name, type] of [
      ['command', 'CommandSettings'],
      ['task', 'TaskSettings'],
      ['import', 'ImportSettings'],
      ['vpc', 'VpcSettings'],
    ])
      assert.equal(inputs[name].$ref, `#/types/cqrs-workflows:index:${type}`, name);
    for (const name of ['logRetentionDays', 'maxReceiveCount', 'lambdaMemoryMb', 'streamMaxRetryAttempts'])
      assert.equal(inputs[name].type, 'integer', name);
    for (const name of [
      'waitTimeoutSeconds',
      'waitHeartbeatSeconds',
      'maxWaitSeconds',
      'ttlDays',
      'syncMaxConcurrency',
    ])
      assert.equal(command[name].type, 'integer', `CommandSettings.${name}`);
    assert.equal(r.properties.tableNames.$ref, '#/types/cqrs-workflows:index:PerTable');
    assert.equal(r.properties.queueUrls.type, 'object');
    assert.deepEqual(r.properties.queueUrls.additionalProperties, { type: 'string' });
    assert.equal(r.properties.clientConfig.$ref, '#/types/cqrs-workflows:index:ClientConfig');
    // Internals are not outputs.
    for (const hidden of ['tables', 'bucket', 'messaging', 'functions', 'machines'])
      assert.ok(!(hidden in r.properties), hidden);
  });

  it('describes every value of every enum (SDKs show it on the generated constants)', () => {
    const undocumented = Object.entries(inferred.types).flatMap(([token, t]) =>
      ((t as { enum?: { value: string; description?: string }[] }).enum ?? [])
        .filter((e) => !e.description?.trim())
        .map((e) => `${token} ${e.value}`),
    );
    assert.deepEqual(undocumented, []);
  });

  it('carries a description with its default into every input, and no number that is not documented as such', () => {
    for (const [where, p] of everyProperty(inferred)) {
      assert.ok(p.description && p.description.trim() !== '', `${where} has no description`);
      assert.ok(!p.description.includes('[object Object]'), `${where}: a {@link} broke its description`);
    }
    const inputs = Object.entries(inferred.resources[TOKEN].inputProperties);
    const settings = ['CommandSettings', 'TaskSettings', 'ImportSettings'].flatMap((t) =>
      Object.entries(inferred.types[`cqrs-workflows:index:${t}`].properties ?? {}),
    );
    for (const [name, p] of [...inputs, ...settings].filter(([, p]) => p.optional === true))
      assert.match(p.description ?? '', /Default: /, `${name} does not say its default`);
    const numbers = everyProperty(inferred).filter(([, p]) => p.type === 'number');
    assert.deepEqual(
      numbers.map(([where]) => where),
      [],
      'a count or duration came out as a float: say "integer" in its doc',
    );
  });
});

describe('CqrsWorkflows constructed through the provider (as another language would)', () => {
  it('registers exactly the resources the TypeScript path registers, and returns every schema output', async () => {
    const viaTypeScript = await synthProgram(
      'prod',
      () => new CqrsWorkflows('orders', ARGS as unknown as ConstructorParameters<typeof CqrsWorkflows>[1]),
      { config: { 'aws:region': REGION } },
    );
    assert.deepEqual(viaTypeScript.errors, []);

    let constructed: Promise<pulumi.provider.ConstructResult> | undefined;
    const viaProvider = await synthProgram(
      'prod',
      () => {
        constructed = new CqrsWorkflowsProvider().construct('orders', TOKEN, ARGS, {});
      },
      { config: { 'aws:region': REGION } },
    );
    assert.deepEqual(viaProvider.errors, []);
    assert.ok(constructed);
    const result = await constructed;

    assert.ok(viaTypeScript.resources.length > 100, `${viaTypeScript.resources.length} resources`);
    assert.deepEqual(fingerprint(viaProvider.resources), fingerprint(viaTypeScript.resources));

    const outputs = Object.keys(readCommittedSchema().resources[TOKEN].properties).sort();
    assert.deepEqual(Object.keys(result.state).sort(), outputs);
    const state = await new Promise<Record<string, unknown>>((resolve) =>
      pulumi.output(result.state).apply((s) => resolve(s as Record<string, unknown>)),
    );
    assert.equal(state.prefix, 'acme-orders');
    assert.deepEqual((state.clientConfig as { tables: unknown }).tables, {
      commands: 'acme-orders-commands',
      data: 'acme-orders-data',
      tasks: 'acme-orders-tasks',
      importTmp: 'acme-orders-import_tmp',
    });
  });

  it('takes command.path as the plain string another language sends (STANDARD: no command-wait machine)', async () => {
    const args = { ...ARGS, command: { ...ARGS.command, path: 'STANDARD' } };
    const viaProvider = await synthProgram(
      'prod',
      () => void new CqrsWorkflowsProvider().construct('orders', TOKEN, args, {}),
      { config: { 'aws:region': REGION } },
    );
    assert.deepEqual(viaProvider.errors, []);
    const machines = viaProvider.resources
      .filter((r) => r.type === 'aws:sfn/stateMachine:StateMachine')
      .map((r) => `${String(r.inputs.name)} ${String(r.inputs.type)}`)
      .sort();
    assert.deepEqual(machines, [
      'acme-orders-command STANDARD',
      'acme-orders-import-csv STANDARD',
      'acme-orders-import-zip STANDARD',
      'acme-orders-task STANDARD',
    ]);
  });

  // No Pulumi CLI here to generate the Python and Go SDKs: the README's examples are
  // transcribed to the plain inputs the engine hands Construct, and every argument of the
  // transcription must be spelled in the README block (snake_case / PascalCase) and back.
  for (const [language, args] of Object.entries(README_LANGUAGE_ARGS)) {
    it(`constructs the README's ${language} example (default command path) and the README shows exactly its arguments`, async () => {
      const block = readmeBlock(language);
      const spelled = (name: string) =>
        language === 'python' ? snakeCase(name) : name[0].toUpperCase() + name.slice(1);
      const written = new Set(
        [...block.matchAll(language === 'python' ? /\b([a-z_]+)=(?!=)/g : /\b([A-Z]\w*):\s/g)].map((m) => m[1]),
      );
      const transcribed = new Set(argumentNames(args).map(spelled));
      assert.deepEqual(
        [...written].sort(),
        [...transcribed].sort(),
        `the ${language} block and its transcription differ`,
      );
      const construct = await synthProgram(
        'prod',
        () => void new CqrsWorkflowsProvider().construct('orders', TOKEN, args, {}),
        { config: { 'aws:region': REGION } },
      );
      assert.deepEqual(
        construct.errors.map((e) => e.message),
        [],
      );
      const command = construct.resources.find(
        (r) => r.type === 'aws:sfn/stateMachine:StateMachine' && r.inputs.name === 'orders-prod-command-express',
      );
      assert.equal(command?.inputs.type, 'EXPRESS');
      assert.match(String(command?.inputs.definition), /"sync_search"/);
    });
  }

  it('refuses a type it does not provide', async () => {
    const provider = new CqrsWorkflowsProvider();
    await assert.rejects(
      provider.construct('x', 'cqrs-workflows:index:CqrsTables', {}, {}),
      /has no component CqrsTables; it provides CqrsWorkflows/,
    );
    await assert.rejects(provider.construct('x', 'other:index:CqrsWorkflows', {}, {}), /expected cqrs-workflows:index/);
  });
});

describe('the plugin, started and called over gRPC as the Pulumi engine does', function () {
  // Packing runs the prepare build; the plugin runs from the built entry point.
  this.timeout(600_000);
  let session: PluginSession;

  before(async () => {
    await packedTarball();
    session = await startPlugin(ROOT, { project: 'orders', stack: 'prod', region: REGION });
  });
  after(async () => session?.close());

  it('reports the package version and answers GetSchema with the committed schema.json', async () => {
    assert.equal((await session.pluginInfo()).version, pkg.version);
    assert.equal(await session.getSchema(), fs.readFileSync(schemaPath(), 'utf8'));
  });

  it('constructs CqrsWorkflows from plain inputs and registers the same resources as the TypeScript path', async () => {
    const outcome = await session.construct(TOKEN, 'orders', ARGS);
    assert.equal(outcome.urn, `urn:pulumi:prod::orders::${TOKEN}::orders`);
    assert.equal(outcome.state.prefix, 'acme-orders');
    assert.equal(
      (outcome.state.stateMachineArns as Record<string, string>).command,
      `arn:aws:states:${REGION}:123456789012:stateMachine:acme-orders-command-express`,
    );
    const viaTypeScript = await synthProgram(
      'prod',
      () => new CqrsWorkflows('orders', ARGS as unknown as ConstructorParameters<typeof CqrsWorkflows>[1]),
      { config: { 'aws:region': REGION } },
    );
    const names = (list: { type: string; name: string }[]) => list.map((r) => `${r.type}::${r.name}`).sort();
    assert.deepEqual(
      names(session.registrations),
      names(viaTypeScript.resources.filter((r) => r.type !== 'pulumi:pulumi:Stack')),
    );
    const lambdas = session.registrations.filter((r) => r.type === 'aws:lambda/function:Function');
    assert.equal(lambdas.length, 9);
    for (const l of lambdas) assert.deepEqual(l.inputs.vpcConfig, ARGS.vpc, l.name);
  });
});
