import { strict as assert } from 'node:assert';
import * as pulumi from '@pulumi/pulumi';
import { CqrsWorkflows, type CqrsWorkflowsArgs } from '../../components';
import { parseClientConfig } from '../../core/client-config';
import { CommandPath } from '../../core/status';
import { UNKNOWN, type SynthResource } from '../../scripts/synth/run-program';
import { byName, ofType, synthProgram, T } from '../support/synth';

const REGION = { 'aws:region': 'eu-central-1' };
const ACCOUNT = '123456789012';
const lambdaArn = (name: string) => `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:${name}`;

async function synth(program: () => unknown, options: { preview?: boolean; unknownOutputs?: boolean } = {}) {
  return synthProgram('staging', program, { config: REGION, ...options });
}

/** Every physical name a resource asks AWS for, with the resource that asks. */
function physicalNames(resources: SynthResource[]): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const r of resources.filter((x) => x.custom)) {
    for (const prop of ['name', 'bucket', 'alarmName']) {
      const value = r.inputs[prop];
      if (typeof value !== 'string' || value === UNKNOWN) continue;
      // The same name in two namespaces (a queue and a log group) does not collide.
      const key = `${r.type} ${value}`;
      names.set(key, [...(names.get(key) ?? []), r.urn]);
    }
  }
  return names;
}

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

describe('CqrsWorkflows resource options, as Pulumi users expect them', () => {
  const dataResources = (resources: SynthResource[]) => [...ofType(resources, T.table), ...ofType(resources, T.bucket)];

  it('{ protect: true } on the component protects the tables and the buckets, and the buckets lose forceDestroy', async () => {
    const { resources, errors } = await synth(
      () => new CqrsWorkflows('orders', { import: { accessLogging: true } }, { protect: true }),
    );
    assert.deepEqual(errors, []);
    const data = dataResources(resources);
    assert.equal(data.length, 7, 'five tables, the import bucket and its access log bucket');
    for (const r of data) assert.equal(r.protect, true, `${r.name} is not protected`);
    for (const b of ofType(resources, T.bucket)) assert.equal(b.inputs.forceDestroy, false, b.name);
    // Like any Pulumi component, the rest is protected too.
    for (const r of ofType(resources, T.lambda)) assert.equal(r.protect, true, r.name);
  });

  it('protectData: false overrides an inherited protect for the data, and the bucket may be force-destroyed again', async () => {
    const { resources } = await synth(() => new CqrsWorkflows('orders', { protectData: false }, { protect: true }));
    for (const r of dataResources(resources)) assert.equal(r.protect, false, r.name);
    assert.equal(ofType(resources, T.bucket)[0].inputs.forceDestroy, true);
    for (const r of ofType(resources, T.lambda)) assert.equal(r.protect, true, r.name);
  });

  it('protectData: true protects only the data; without either, nothing is protected and the bucket is disposable', async () => {
    const own = await synth(() => new CqrsWorkflows('orders', { protectData: true }));
    for (const r of dataResources(own.resources)) assert.equal(r.protect, true, r.name);
    assert.equal(ofType(own.resources, T.bucket)[0].inputs.forceDestroy, false);
    for (const r of ofType(own.resources, T.lambda)) assert.equal(r.protect, false, r.name);

    const none = await synth(() => new CqrsWorkflows('orders'));
    for (const r of none.resources.filter((x) => x.custom)) assert.equal(r.protect, false, r.name);
    assert.equal(ofType(none.resources, T.bucket)[0].inputs.forceDestroy, true);
  });

  it('{ retainOnDelete: true } reaches every child and keeps forceDestroy off the bucket', async () => {
    const { resources } = await synth(() => new CqrsWorkflows('orders', {}, { retainOnDelete: true }));
    for (const r of resources.filter((x) => x.custom && x.type.startsWith('aws:')))
      assert.equal(r.retainOnDelete, true, r.name);
    assert.equal(ofType(resources, T.bucket)[0].inputs.forceDestroy, false);
  });
});

describe('two CqrsWorkflows in one stack', () => {
  it('work without a prefix: the default prefix carries the component name, so no physical name repeats', async () => {
    const { resources, errors } = await synth(() => [new CqrsWorkflows('orders'), new CqrsWorkflows('billing')]);
    assert.deepEqual(errors, []);
    const clashes = [...physicalNames(resources)].filter(([, owners]) => owners.length > 1);
    assert.deepEqual(clashes, []);
    const tables = ofType(resources, T.table).map((t) => String(t.inputs.name));
    assert.ok(tables.includes('orders-staging-commands') && tables.includes('billing-staging-commands'), tables.join());
  });

  it('fail before anything is registered when two would share a prefix, naming both', async () => {
    const { resources, errors } = await synth(() => [
      new CqrsWorkflows('orders', { prefix: 'acme' }),
      new CqrsWorkflows('billing', { prefix: 'acme' }),
    ]);
    assert.match(
      errors[0]?.message ?? '',
      /CqrsWorkflows "billing": physical-name prefix "acme" is already used by CqrsWorkflows "orders" in this stack/,
    );
    assert.ok(resources.some((r) => r.name.startsWith('orders-')));
    assert.deepEqual(
      resources.filter((r) => r.name.startsWith('billing-')).map((r) => r.name),
      [],
    );
  });

  it('catch names that normalise to the same default prefix', async () => {
    const { errors } = await synth(() => [new CqrsWorkflows('Orders'), new CqrsWorkflows('orders')]);
    assert.match(errors[0]?.message ?? '', /prefix "orders-staging" is already used by CqrsWorkflows "Orders"/);
  });
});

describe('sync targets and executors by function name', () => {
  const args: CqrsWorkflowsArgs = {
    prefix: 'acme',
    command: {
      syncTargets: [
        { name: 'search', functionName: 'acme-search-indexer', timeoutSeconds: 30 },
        { name: 'audit', functionArn: 'arn:aws:lambda:eu-west-1:210987654321:function:audit-sink', timeoutSeconds: 60 },
      ],
    },
    task: { executors: { invoice: 'acme-invoice-executor', legacy: lambdaArn('legacy-executor') } },
  };

  it('keep the command definition known in a first preview and grant exactly those functions', async () => {
    const { resources, errors } = await synth(() => new CqrsWorkflows('orders', args), {
      preview: true,
      unknownOutputs: true,
    });
    assert.deepEqual(errors, []);
    const machine = ofType(resources, T.stateMachine).find((m) => m.inputs.name === 'acme-command-express');
    assert.ok(machine);
    assert.equal(typeof machine.inputs.definition, 'string', 'the command definition is unknown at preview');
    const def = String(machine.inputs.definition);
    assert.ok(def.includes(lambdaArn('acme-search-indexer')), 'sync_search invokes the named function');
    assert.ok(def.includes('arn:aws:lambda:eu-west-1:210987654321:function:audit-sink'));
    const policy = JSON.parse(String(byName(resources, T.rolePolicy, 'orders-machines-command-policy').inputs.policy));
    const invoke = policy.Statement.find((s: { Sid: string }) => s.Sid === 'InvokeFunctions');
    assert.ok(invoke.Resource.includes(lambdaArn('acme-search-indexer')));
  });

  it('hand the task step the executors as ARNs', async () => {
    const { resources } = await synth(() => new CqrsWorkflows('orders', args));
    const env = (
      byName(resources, T.lambda, 'orders-task-step-function').inputs.environment as {
        variables: Record<string, string>;
      }
    ).variables;
    assert.deepEqual(JSON.parse(env.TASK_EXECUTORS), {
      invoice: lambdaArn('acme-invoice-executor'),
      legacy: lambdaArn('legacy-executor'),
    });
  });

  it('reject a target with both or neither, and a value that is neither a name nor an ARN', async () => {
    const both = await synth(
      () =>
        new CqrsWorkflows('orders', {
          command: { syncTargets: [{ name: 'x', functionName: 'a', functionArn: lambdaArn('a') }] },
        }),
    );
    assert.match(both.errors[0]?.message ?? '', /command.syncTargets\[0\] \("x"\): give exactly one of functionName/);
    const bad = await synth(() => new CqrsWorkflows('orders', { task: { executors: { t: 'not a name!' } } }));
    assert.match(
      bad.errors[0]?.message ?? '',
      /task.executors\["t"\]: "not a name!" is neither a Lambda function name/,
    );
  });
});

describe('handlers in a VPC', () => {
  const vpc = { subnetIds: ['subnet-0a', 'subnet-0b'], securityGroupIds: ['sg-0c'] };

  it('place every Lambda in the given subnets and security groups, with scoped network-interface grants', async () => {
    const { resources, errors } = await synth(() => new CqrsWorkflows('orders', { vpc }));
    assert.deepEqual(errors, []);
    const lambdas = ofType(resources, T.lambda);
    assert.equal(lambdas.length, 9);
    for (const l of lambdas) assert.deepEqual(l.inputs.vpcConfig, vpc, l.name);
    for (const p of ofType(resources, T.rolePolicy).filter((r) => !r.name.includes('machines'))) {
      const statements = JSON.parse(String(p.inputs.policy)).Statement as {
        Sid: string;
        Action: string[];
        Resource: string[];
      }[];
      const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
      const eni = `arn:aws:ec2:eu-central-1:${ACCOUNT}:network-interface/*`;
      assert.deepEqual(bySid.VpcCreateNetworkInterface?.Resource, [
        eni,
        `arn:aws:ec2:eu-central-1:${ACCOUNT}:subnet/subnet-0a`,
        `arn:aws:ec2:eu-central-1:${ACCOUNT}:subnet/subnet-0b`,
        `arn:aws:ec2:eu-central-1:${ACCOUNT}:security-group/sg-0c`,
      ]);
      assert.deepEqual(bySid.VpcManageNetworkInterfaces?.Resource, [eni]);
      assert.deepEqual(bySid.VpcDescribe?.Action, ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets']);
    }
  });

  it('leave functions outside any VPC, without EC2 grants, by default', async () => {
    const { resources } = await synth(() => new CqrsWorkflows('orders'));
    for (const l of ofType(resources, T.lambda)) assert.equal(l.inputs.vpcConfig, undefined);
    for (const p of ofType(resources, T.rolePolicy)) assert.ok(!String(p.inputs.policy).includes('ec2:'), p.name);
  });
});

describe('the clientConfig output', () => {
  it('holds everything createCqrsClient needs, and survives a JSON round trip', async () => {
    let workflows: CqrsWorkflows | undefined;
    await synth(() => (workflows = new CqrsWorkflows('orders', { prefix: 'acme', import: { directMaxBytes: 1000 } })));
    assert.ok(workflows);
    const config = await outputValue(workflows.clientConfig);
    assert.deepEqual(config, {
      region: 'eu-central-1',
      tables: {
        commands: 'acme-commands',
        data: 'acme-data',
        tasks: 'acme-tasks',
        importTmp: 'acme-import_tmp',
      },
      importBucket: `acme-import-${ACCOUNT}`,
      mainTopicArn: `arn:aws:sns:eu-central-1:${ACCOUNT}:acme-main`,
      directImportMaxBytes: 1000,
    });
    assert.deepEqual(parseClientConfig(JSON.stringify(config)), config);
  });

  it('parseClientConfig names every missing or malformed field at once', () => {
    assert.throws(
      () => parseClientConfig({ region: 'eu-west-1', tables: { commands: 'c' }, directImportMaxBytes: 1.5 }),
      (e: Error) =>
        /tables\.data must be a non-empty string/.test(e.message) &&
        /tables\.importTmp/.test(e.message) &&
        /importBucket/.test(e.message) &&
        /mainTopicArn/.test(e.message) &&
        /directImportMaxBytes must be an integer/.test(e.message),
    );
    assert.throws(() => parseClientConfig('{'), /clientConfig is not valid JSON/);
    assert.throws(() => parseClientConfig(null), /clientConfig must be an object/);
  });
});

describe('the command path (command.path)', () => {
  const target = { name: 'search', functionName: 'acme-search-indexer' };

  it('EXPRESS (the default) refuses a sync target whose timeout does not fit one run, saying what to change', async () => {
    for (const timeoutSeconds of [undefined, 241, 900]) {
      const { errors } = await synth(
        () =>
          new CqrsWorkflows('orders', { prefix: 'acme', command: { syncTargets: [{ ...target, timeoutSeconds }] } }),
        { preview: true },
      );
      const message = errors.map((e) => e.message).join('\n');
      assert.match(message, /syncTargets\[0\]\.timeoutSeconds" of target "search" must be an integer from 1 to 240/);
      assert.match(message, /run commands on the STANDARD path/);
    }
  });

  it('STANDARD takes any target timeout (default 900) and builds the seed-shaped machine, no command-wait', async () => {
    const { resources, errors } = await synth(
      () =>
        new CqrsWorkflows('orders', {
          prefix: 'acme',
          command: { path: CommandPath.STANDARD, syncTargets: [target] },
        }),
      { preview: true, unknownOutputs: true },
    );
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
    const machines = ofType(resources, T.stateMachine);
    assert.deepEqual(machines.map((m) => m.inputs.name).sort(), [
      'acme-command',
      'acme-import-csv',
      'acme-import-zip',
      'acme-task',
    ]);
    const command = machines.find((m) => m.inputs.name === 'acme-command')!;
    assert.equal(command.inputs.type, 'STANDARD');
    assert.ok(JSON.parse(String(command.inputs.definition)).States.wait_prev_command);
  });
});
