import { strict as assert } from 'node:assert';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CqrsWorkflows } from '../../components';
import { boundedRoleName } from '../../components/iam';
import { defaultPrefix } from '../../components/naming';
import type { SynthResource } from '../../scripts/synth/run-program';
import { byName, ofType, synthProgram, T } from '../support/synth';

const TARGET_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:search-indexer';
const EXECUTOR_ARN = 'arn:aws:lambda:eu-central-1:123456789012:function:invoice-executor';

/** How another Pulumi project uses the package: its own stack, its own provider, its own settings. */
function consumerProgram() {
  const provider = new aws.Provider('eu-central', { region: 'eu-central-1' });
  const workflows = new CqrsWorkflows(
    'orders',
    {
      prefix: 'acme-orders',
      deletionProtection: true,
      logRetentionDays: 30,
      lambdaMemoryMb: 1024,
      command: {
        syncTargets: [{ name: 'search', functionArn: TARGET_ARN, timeoutSeconds: 30 }],
        syncMaxConcurrency: 4,
      },
      task: { maxConcurrency: 3, executors: { invoice: EXECUTOR_ARN } },
      import: { maxConcurrency: 20, bucketName: 'acme-orders-imports' },
      tags: { team: 'orders' },
    },
    { providers: { aws: provider } },
  );
  return { provider, workflows, arns: workflows.stateMachineArns, names: workflows.functionNames };
}

describe('consuming CqrsWorkflows from another Pulumi project', () => {
  let resources: SynthResource[];
  let outputs: ReturnType<typeof consumerProgram>;

  before(async () => {
    const result = await synthProgram('staging', consumerProgram, { config: { 'aws:region': 'eu-central-1' } });
    assert.deepEqual(
      result.errors.map((e) => e.message),
      [],
    );
    resources = result.resources;
    outputs = result.outputs;
  });

  it('names everything from the given prefix', () => {
    assert.deepEqual(
      ofType(resources, T.table)
        .map((t) => t.inputs.name)
        .sort(),
      [
        'acme-orders-commands',
        'acme-orders-data',
        'acme-orders-history',
        'acme-orders-import_tmp',
        'acme-orders-tasks',
      ],
    );
    assert.equal(ofType(resources, T.bucket)[0].inputs.bucket, 'acme-orders-imports');
    for (const l of ofType(resources, T.lambda)) assert.match(String(l.inputs.name), /^acme-orders-/);
  });

  it('passes the explicit provider to every AWS resource', () => {
    const providerUrn = resources.find((r) => r.type === 'pulumi:providers:aws')?.urn;
    assert.ok(providerUrn);
    const aws = resources.filter((r) => r.custom && r.type.startsWith('aws:'));
    assert.ok(aws.length > 50);
    for (const r of aws) assert.equal(r.provider, providerUrn, `${r.urn} does not use the explicit provider`);
  });

  it('applies the non-default settings', () => {
    for (const t of ofType(resources, T.table)) assert.equal(t.inputs.deletionProtectionEnabled, true);
    for (const l of ofType(resources, T.lambda)) {
      assert.equal(l.inputs.memorySize, 1024);
      assert.deepEqual(l.inputs.tags, { team: 'orders' });
    }
    for (const g of ofType(resources, T.logGroup)) assert.equal(g.inputs.retentionInDays, 30);
  });

  it('issue 9 item 17: state machines log at ERROR without execution data unless asked to', () => {
    const machines = ofType(resources, T.stateMachine);
    assert.equal(machines.length, 5, 'command (EXPRESS), command-wait, task, import-csv, import-zip');
    for (const m of machines) {
      const logging = m.inputs.loggingConfiguration as { level: string; includeExecutionData: boolean };
      assert.equal(logging.level, 'ERROR', String(m.inputs.name));
      assert.equal(logging.includeExecutionData, false, String(m.inputs.name));
    }
  });

  it('lets the command machine invoke the registered sync target and the task step invoke the executor, nothing more', () => {
    const machineRole = byName(resources, T.rolePolicy, 'orders-machines-command-policy');
    const doc = JSON.parse(String(machineRole.inputs.policy)) as { Statement: { Sid: string; Resource: string[] }[] };
    const invoke = doc.Statement.find((s) => s.Sid === 'InvokeFunctions');
    assert.deepEqual(
      [...new Set(invoke?.Resource.map((r) => r.replace(/:\*$/, '')))].sort(),
      [TARGET_ARN, 'arn:aws:lambda:eu-central-1:123456789012:function:acme-orders-command-step'].sort(),
    );
    const taskStep = byName(resources, T.rolePolicy, 'orders-task-step-policy');
    const taskDoc = JSON.parse(String(taskStep.inputs.policy)) as {
      Statement: { Sid: string; Action: string[]; Resource: string[] }[];
    };
    assert.deepEqual(taskDoc.Statement.find((s) => s.Sid === 'Executors')?.Resource, [EXECUTOR_ARN]);
    const env = (
      byName(resources, T.lambda, 'orders-task-step-function').inputs.environment as {
        variables: Record<string, string>;
      }
    ).variables;
    assert.deepEqual(JSON.parse(env.TASK_EXECUTORS), { invoice: EXECUTOR_ARN });
  });

  it('exposes the outputs a consumer needs', async () => {
    const arns = await new Promise<Record<string, string>>((resolve) => outputs.arns.apply(resolve));
    assert.equal(arns.command, 'arn:aws:states:eu-central-1:123456789012:stateMachine:acme-orders-command-express');
    const names = await new Promise<Record<string, string>>((resolve) => outputs.names.apply(resolve));
    assert.equal(names['stream-router'], 'acme-orders-stream-router');
    assert.ok(pulumi.Output.isInstance(outputs.workflows.queueUrls));
    assert.ok(pulumi.Output.isInstance(outputs.workflows.tableStreamArns));
  });

  it('rejects a bad prefix before creating anything', async () => {
    const result = await synthProgram('staging', () => new CqrsWorkflows('x', { prefix: 'Bad Prefix' }), {
      config: { 'aws:region': 'eu-central-1' },
    });
    assert.match(result.errors[0]?.message ?? '', /prefix "Bad Prefix" must start with a lowercase letter/);
    assert.equal(result.resources.filter((r) => r.custom).length, 0);
  });
});

describe('physical names', () => {
  it('keep IAM role names within 64 characters without letting two long names collide', () => {
    const a = boundedRoleName(`${'x'.repeat(60)}-one`, 'role');
    const b = boundedRoleName(`${'x'.repeat(60)}-two`, 'role');
    assert.ok(a.length <= 64 && b.length <= 64, `${a.length}, ${b.length}`);
    assert.notEqual(a, b);
    assert.equal(boundedRoleName('cqrs-dev-command', 'sfn'), 'cqrs-dev-command-sfn');
  });

  it('derive a valid default prefix from any component and stack name', async () => {
    const result = await synthProgram('Feature_42', () => new CqrsWorkflows('Orders.API'), {
      config: { 'aws:region': 'eu-central-1' },
    });
    assert.deepEqual(
      result.errors.map((e) => e.message),
      [],
    );
    assert.ok(
      ofType(result.resources, T.table).every((t) => String(t.inputs.name).startsWith('orders-api-feature-42-')),
    );
  });

  it("keep the program's default `cqrs-<stack>` for a component named cqrs", () => {
    assert.equal(defaultPrefix('prod', 'cqrs'), 'cqrs-prod');
    assert.equal(defaultPrefix('prod'), 'cqrs-prod');
    assert.equal(defaultPrefix('-', '42'), 'cqrs-42-stack');
    assert.ok(defaultPrefix('s'.repeat(40), 'n'.repeat(40)).length <= 32);
  });
});
