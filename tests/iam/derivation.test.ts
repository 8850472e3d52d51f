/**
 * The table of calls is derived from the code, not kept by hand: these tests pin down what
 * the derivation follows (and does not), and that a call added to a handler becomes a
 * required grant without anyone touching the suite.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FUNCTION_KEYS } from '../../components/function-catalog';
import { physicalName } from '../../components/naming';
import { synthStack } from '../support/synth';
import { bundledCommands, commandFamily } from './support/checks';
import { CodeCallExtractor, describeSym, type SdkCall } from './support/code-calls';
import { IamEngine } from './support/engine';
import { stackModel } from './support/model';
import { codeCalls, SDK_INTERNAL_COMMANDS } from './support/required-calls';
import { ROOT, sdkCallsOf, sdkHelpersOf } from './support/suite';
import { EXECUTOR_ARN, JUDGED_STACKS, SYNC_TARGET_ARN } from './stacks';
import { analyseStack } from './support/suite';

function fields(call: SdkCall, name: string): string[] {
  return call.input.flatMap((v) => (v.k === 'obj' ? (v.props[name] ?? []).map(describeSym) : []));
}
const sites = (calls: SdkCall[], command: string) => calls.filter((c) => c.command === command);

describe('deriving the calls a handler makes from its reachable code', function () {
  this.timeout(120_000);

  it('counts only functions the handler reaches, not every helper of a bundled module', () => {
    // core/dynamo.ts (queryAll → QueryCommand) is in command-step's bundle, because the
    // module is; no function command-step runs calls queryAll. The old bundle-level test
    // granted command-step a Query on the commands table for this reason.
    const bundled = bundledCommands('command-step').map((c) => c.command);
    assert.ok(bundled.includes('QueryCommand'), 'QueryCommand is no longer in the bundle: pick another example');
    assert.deepEqual(sites(sdkCallsOf('command-step'), 'QueryCommand'), []);
    // The router does query the commands table (next version number).
    const routerQueries = sites(sdkCallsOf('stream-router'), 'QueryCommand');
    assert.deepEqual([...new Set(routerQueries.flatMap((c) => fields(c, 'TableName')))], ['env(COMMANDS_TABLE)']);
  });

  it('follows arguments through helpers (batchGetAll(ddb(), tables.commands(), …) reads COMMANDS_TABLE)', () => {
    const batchGets = sites(sdkCallsOf('command-step'), 'BatchGetCommand');
    assert.ok(batchGets.length > 0);
    for (const c of batchGets) {
      const tables = c.input.flatMap((v) =>
        v.k === 'obj'
          ? (v.props.RequestItems ?? []).flatMap((r) =>
              r.k === 'obj' ? r.computed.map((k) => describeSym(k.key)) : [],
            )
          : [],
      );
      assert.deepEqual(tables, ['env(COMMANDS_TABLE)']);
    }
  });

  it('does not follow a branch its caller rules out (execution-watch never reads result files)', () => {
    // reconcileAndComplete reads the result manifest only `if (options.manifest)`:
    // finalize_parent_job passes one, execution-watch and DIRECT imports do not.
    const reads = (key: (typeof FUNCTION_KEYS)[number]) =>
      sdkCallsOf(key).filter(
        (c) => c.command === 'GetObjectCommand' && c.site.startsWith('handlers/import/csv-steps.ts'),
      );
    assert.ok(reads('import-csv-step').length > 0);
    assert.deepEqual(reads('execution-watch'), []);
    assert.deepEqual(reads('import-action-consumer'), []);
  });

  it('follows a dispatcher only into the case its caller selects (execution-watch runs mark_failed, not history_copy)', () => {
    const puts = sites(sdkCallsOf('execution-watch'), 'PutCommand').flatMap((c) => fields(c, 'TableName'));
    assert.ok(!puts.includes('env(HISTORY_TABLE)'), 'execution-watch reached history_copy');
    assert.ok(
      sites(sdkCallsOf('command-step'), 'PutCommand').some((c) =>
        fields(c, 'TableName').includes('env(HISTORY_TABLE)'),
      ),
    );
  });

  it('knows a key checked with startsWith(PREFIX) lies under that prefix (loadPayload reads payloads/ only)', () => {
    const loads = sdkCallsOf('stream-router').filter(
      (c) => c.site.startsWith('core/offload.ts') && c.command === 'GetObjectCommand',
    );
    assert.ok(loads.length > 0);
    for (const c of loads) assert.match(fields(c, 'Key').join(), /^payloads\//);
  });

  it('uses no SDK helper that sends requests itself (paginators, lib-storage, waiters): their calls would be invisible', () => {
    for (const key of FUNCTION_KEYS) assert.deepEqual(sdkHelpersOf(key), [], key);
  });

  it('notices an SDK helper that sends requests itself', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-fixture-'));
    try {
      fs.mkdirSync(path.join(dir, 'handlers'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 'handlers', 'x.ts'),
        [
          "import { Upload } from '@aws-sdk/lib-storage';",
          'declare const client: unknown;',
          'export const handler = async (body: string) => new Upload({ client, params: { Bucket: "b", Key: "k", Body: body } }).done();',
        ].join('\n'),
      );
      assert.deepEqual(new CodeCallExtractor(dir, ['handlers/x.ts']).sdkHelpersFrom('handlers/x.ts'), [
        { name: '@aws-sdk/lib-storage Upload', site: 'handlers/x.ts:3' },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accounts for every SDK command each deployed bundle carries', () => {
    // A bundled command is reached by the handler, or constructed only in code of ours the
    // handler does not reach, or carried by an SDK package (its aggregated client and
    // paginators keep ScanCommand, say) with no sender: the test above rules senders out.
    const problems: string[] = [];
    for (const key of FUNCTION_KEYS) {
      const reached = new Set(sdkCallsOf(key).map((c) => commandFamily(c.module, c.command)));
      const carried: string[] = [];
      for (const b of bundledCommands(key)) {
        const family = commandFamily(b.module, b.command);
        if (SDK_INTERNAL_COMMANDS.has(b.command) || reached.has(family)) continue;
        if (ourConstructions().some((c) => commandFamily(c.module, c.command) === family)) continue;
        carried.push(`${b.module} ${b.command}`);
      }
      // Everything the SDK carries on its own is a DynamoDB Scan, which no handler does.
      problems.push(...carried.filter((c) => !/ScanCommand$/.test(c)).map((c) => `${key}: ${c}`));
    }
    assert.deepEqual(problems, []);
  });

  it("derives registered Lambdas' invocations from the stack (sync targets by the command machine, executors by the task functions)", async () => {
    const consumer = JUDGED_STACKS.find((s) => s.prefix === 'acme-orders');
    assert.ok(consumer);
    const { resources } = await consumer.synth();
    const iam = await analyseStack(consumer.stack, resources, consumer.region, consumer.prefix);
    const invokers = (arn: string) =>
      iam.calls
        .filter((c) => c.action === 'lambda:InvokeFunction' && c.resource === arn && 'role' in c.principal)
        .map((c) => (c.principal as { role: string }).role.replace(/^.*:role\//, ''))
        .sort();
    assert.deepEqual(invokers(SYNC_TARGET_ARN), ['acme-orders-command-express-sfn']);
    assert.deepEqual(
      [...new Set(invokers(EXECUTOR_ARN))],
      ['acme-orders-task-action-consumer-role', 'acme-orders-task-step-role'],
    );
    for (const c of iam.calls.filter((x) => [SYNC_TARGET_ARN, EXECUTOR_ARN].includes(x.resource)))
      assert.equal(iam.verdicts.get(c)?.outcome, 'Allowed');
  });

  it('derives the network-interface calls of every function in a VPC, on exactly its subnets and security groups', async () => {
    const consumer = JUDGED_STACKS.find((s) => s.prefix === 'acme-orders');
    assert.ok(consumer);
    const { resources } = await consumer.synth();
    const iam = await analyseStack(consumer.stack, resources, consumer.region, consumer.prefix);
    const ec2 = `arn:aws:ec2:${consumer.region}:123456789012`;
    for (const key of FUNCTION_KEYS) {
      const role = `arn:aws:iam::123456789012:role/acme-orders-${key}-role`;
      const creates = iam.calls
        .filter((c) => 'role' in c.principal && c.principal.role === role && c.action === 'ec2:CreateNetworkInterface')
        .map((c) => c.resource)
        .sort();
      assert.deepEqual(
        creates,
        [
          `${ec2}:network-interface/sample`,
          `${ec2}:security-group/sg-0c1d2e3f`,
          `${ec2}:subnet/subnet-0a1b2c3d`,
          `${ec2}:subnet/subnet-0e5f6a7b`,
        ],
        key,
      );
      // Another subnet of the account is not the function's to attach to.
      const other = await iam.engine.check(
        {
          principal: { role },
          action: 'ec2:CreateNetworkInterface',
          resource: `${ec2}:subnet/subnet-0other`,
          source: 'probe',
        },
        {},
        false,
      );
      assert.notEqual(other.outcome, 'Allowed', key);
    }
  });

  it('turns a call added to a handler into a required grant, and the engine reports it missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iam-fixture-'));
    try {
      fs.mkdirSync(path.join(dir, 'handlers', 'shared'), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'handlers', 'shared', 'env.ts'), path.join(dir, 'handlers', 'shared', 'env.ts'));
      fs.writeFileSync(
        path.join(dir, 'handlers', 'command-step.ts'),
        [
          "import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';",
          "import { tables } from './shared/env';",
          'declare const client: { send(c: unknown): Promise<unknown> };',
          '// Bundled with the handler, never called by it.',
          'export function sweep() { return client.send(new ScanCommand({ TableName: tables.data() })); }',
          'export const handler = async (event: { pk: string; sk: string }) =>',
          '  client.send(new DeleteCommand({ TableName: tables.commands(), Key: { pk: event.pk, sk: event.sk } }));',
        ].join('\n'),
      );
      const extractor = new CodeCallExtractor(dir, ['handlers/command-step.ts']);
      const calls = extractor.callsFrom('handlers/command-step.ts');
      assert.deepEqual(
        calls.map((c) => c.command),
        ['DeleteCommand'],
      );
      assert.deepEqual(extractor.sdkHelpersFrom('handlers/command-step.ts'), []);
      const { resources } = await synthStack('dev');
      const model = stackModel('dev', resources, 'eu-west-1');
      const fn = model.functions.find((f) => f.name === physicalName('cqrs-dev', 'command-step', 'lambdaFunction'));
      assert.ok(fn);
      const derived = codeCalls(model, fn, calls);
      assert.deepEqual(
        derived.calls.map((c) => `${c.action} ${c.resource}`),
        ['dynamodb:DeleteItem arn:aws:dynamodb:eu-west-1:123456789012:table/cqrs-dev-commands'],
      );
      const verdict = await new IamEngine(model).check(derived.calls[0]);
      assert.equal(verdict.outcome, 'ImplicitlyDenied', 'command-step is not granted DeleteItem: the suite must fail');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

let constructions: { module: string; command: string }[] | undefined;
/**
 * Every `new XCommand(` of an @aws-sdk command anywhere in handlers/ and core/: imported
 * where it is constructed, or imported into the lazily loaded S3 SDK object
 * (core/s3-sdk.ts) and constructed where that object is destructured.
 */
function ourConstructions(): { module: string; command: string }[] {
  if (constructions) return constructions;
  const texts: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith('.ts')) texts.push(fs.readFileSync(file, 'utf8'));
    }
  };
  walk(path.join(ROOT, 'handlers'));
  walk(path.join(ROOT, 'core'));
  const out: { module: string; command: string }[] = [];
  for (const text of texts) {
    for (const imp of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(@aws-sdk\/[a-z0-9-]+)'/g)) {
      for (const name of imp[1].split(',').map((n) => n.trim().replace(/^type\s+/, '')))
        if (name.endsWith('Command') && texts.some((t) => t.includes(`new ${name}(`)))
          out.push({ module: imp[2], command: name });
    }
  }
  return (constructions = out);
}
