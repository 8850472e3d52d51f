import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DefinitionValidationError, validateDefinition } from '../../components/asl';
import { WorkflowStateMachine } from '../../components/state-machine';
import { parseClientConfig } from '../../core/client-config';
import { evaluatePolicies, type OfflineResource } from '../../policies/run-offline';
import { exampleFilesInReadme, renderReadmeExamples } from '../../scripts/readme-examples';
import { UNKNOWN, type SynthOptions, type SynthResource } from '../../scripts/synth/run-program';
import { byName, ofType, ROOT, synthProgram, T } from '../support/synth';

const EXAMPLES = path.join(ROOT, 'examples');
const REGION = { 'aws:region': 'eu-central-1' };
const ACCOUNT = '123456789012';

/** Runs an example program (its index.ts) as `pulumi up` or `pulumi preview` would. */
function runExample(name: string, stack: string, options: Omit<SynthOptions, 'config'> = {}) {
  const entry = require.resolve(path.join(EXAMPLES, name));
  return synthProgram(
    stack,
    () => {
      // A program runs once per deployment: load it afresh every time.
      delete require.cache[entry];
      return require(entry) as Record<string, unknown>;
    },
    { config: REGION, ...options },
  );
}

function prodPack() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'policies', 'config.prod.json'), 'utf8'));
}

function asPolicyInput(resources: SynthResource[]): OfflineResource[] {
  return resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
}

/** The pack over a first preview: nothing mandatory, and every state machine judged. */
async function judgeFirstPreview(resources: SynthResource[]) {
  const input = asPolicyInput(resources);
  const { violations, notApplicable } = await evaluatePolicies(input, { config: prodPack() });
  const machines = new Set(input.filter((r) => r.type === T.stateMachine).map((r) => r.urn));
  const unjudged = notApplicable.filter((o) => machines.has(o.resource.urn) && o.policy.startsWith('sfn-'));
  return { violations, unjudged, machines };
}

describe('README example: CqrsWorkflows in another project (examples/typescript)', () => {
  it("passes the project's own pack (prod settings) in a first preview, every definition judged", async () => {
    const { resources, errors } = await runExample('typescript', 'prod', { preview: true, unknownOutputs: true });
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
    const { violations, unjudged, machines } = await judgeFirstPreview(resources);
    assert.equal(machines.size, 5, 'command (EXPRESS), command-wait, task, import-csv, import-zip');
    assert.deepEqual(unjudged, [], 'a state machine rule could not judge a definition during the preview');
    assert.deepEqual(
      violations.filter((v) => v.enforcementLevel === 'mandatory'),
      [],
    );
    const command = ofType(resources, T.stateMachine).find((m) => m.inputs.name === 'orders-prod-command-express');
    assert.ok(command);
    assert.ok(
      String(command.inputs.definition).includes(
        `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:orders-prod-search-indexer`,
      ),
      'sync_search invokes the search indexer by the ARN built from its name',
    );
  });

  it('passes with no finding at all once deployed, and defines every function it names', async () => {
    const { resources, errors } = await runExample('typescript', 'prod');
    assert.deepEqual(errors, []);
    const { violations } = await evaluatePolicies(asPolicyInput(resources), { config: prodPack() });
    assert.deepEqual(violations, []);
    const functions = new Set(ofType(resources, T.lambda).map((l) => String(l.inputs.name)));
    for (const name of ['orders-prod-search-indexer', 'orders-prod-invoice-executor', 'orders-prod-command-step'])
      assert.ok(functions.has(name), name);
    const taskStep = byName(resources, T.lambda, 'orders-task-step-function');
    const env = (taskStep.inputs.environment as { variables: Record<string, string> }).variables;
    assert.deepEqual(JSON.parse(env.TASK_EXECUTORS), {
      invoice: `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:orders-prod-invoice-executor`,
    });
    for (const t of ofType(resources, T.table)) assert.equal(t.protect, true, t.name);
  });
});

describe('custom workflow example (examples/custom-workflow)', () => {
  const machineName = 'orders-prod-approval';
  const stepArn = `arn:aws:lambda:eu-central-1:${ACCOUNT}:function:orders-prod-approval-step`;

  it('is known, valid and judged by the pack in a first preview, like the built-in four', async () => {
    const { resources, errors } = await runExample('custom-workflow', 'prod', { preview: true, unknownOutputs: true });
    assert.deepEqual(errors, []);
    const machine = ofType(resources, T.stateMachine).find((m) => m.inputs.name === machineName);
    assert.ok(machine, 'the custom machine is registered');
    assert.equal(typeof machine.inputs.definition, 'string', 'its definition is unknown during the preview');
    assert.ok(!String(machine.inputs.definition).includes(UNKNOWN));
    validateDefinition(machineName, JSON.parse(String(machine.inputs.definition)));
    const { violations, unjudged, machines } = await judgeFirstPreview(resources);
    assert.equal(machines.size, 6, 'the five built-in machines and the custom one');
    assert.deepEqual(unjudged, []);
    assert.deepEqual(
      violations.filter((v) => v.enforcementLevel === 'mandatory'),
      [],
    );
  });

  it('gets a role derived from its definition, its own logs, tracing and alarms', async () => {
    const { resources, errors } = await runExample('custom-workflow', 'prod');
    assert.deepEqual(errors, []);
    const machine = ofType(resources, T.stateMachine).find((m) => m.inputs.name === machineName);
    assert.ok(machine);
    assert.deepEqual(machine.inputs.tracingConfiguration, { enabled: true });
    assert.equal((machine.inputs.loggingConfiguration as { level: string }).level, 'ERROR');
    const logs = byName(resources, T.logGroup, 'approval-logs');
    assert.equal(logs.inputs.name, `/aws/vendedlogs/states/${machineName}`);
    assert.equal(logs.inputs.retentionInDays, 90);
    const policy = JSON.parse(String(byName(resources, T.rolePolicy, 'approval-policy').inputs.policy)) as {
      Statement: { Sid: string; Resource: string[] }[];
    };
    assert.deepEqual(policy.Statement.find((s) => s.Sid === 'InvokeFunctions')?.Resource, [stepArn]);
    assert.deepEqual(
      ofType(resources, T.alarm)
        .map((a) => String(a.inputs.name))
        .filter(
          (n) => /^orders-prod-approval-(failed|timed-out|throttled)$/.test(n) || n === `${machineName}-step-errors`,
        )
        .sort(),
      // The machine's three alarms, and the step function's error alarm.
      [`${machineName}-failed`, `${machineName}-step-errors`, `${machineName}-throttled`, `${machineName}-timed-out`],
    );
    const { violations } = await evaluatePolicies(asPolicyInput(resources), { config: prodPack() });
    assert.deepEqual(violations, []);
  });

  it('a broken custom definition fails the program, naming the machine and the state, before the machine exists', async () => {
    const { resources, errors } = await synthProgram(
      'prod',
      () =>
        new WorkflowStateMachine('broken', {
          stateMachineName: 'orders-prod-broken',
          type: 'STANDARD',
          definition: { StartAt: 'a', States: { a: { Type: 'Pass', Next: 'nowhere' } } },
          alarmTopicArn: `arn:aws:sns:eu-central-1:${ACCOUNT}:alarms`,
        }),
      { config: REGION },
    );
    assert.ok(errors.some((e) => e instanceof DefinitionValidationError || /orders-prod-broken/.test(e.message)));
    assert.match(
      errors.map((e) => e.message).join('\n'),
      /State machine "orders-prod-broken" definition is invalid[\s\S]*"a"/,
    );
    assert.equal(ofType(resources, T.stateMachine).length, 0);
  });
});

describe('StackReference example (examples/stack-reference)', () => {
  it("hands another project's function the workflows' clientConfig and exactly the grants publishCommand needs", async () => {
    const clientConfig = {
      region: 'eu-central-1',
      tables: {
        commands: 'orders-prod-commands',
        data: 'orders-prod-data',
        tasks: 'orders-prod-tasks',
        importTmp: 'orders-prod-import_tmp',
      },
      importBucket: `orders-prod-import-${ACCOUNT}`,
      mainTopicArn: `arn:aws:sns:eu-central-1:${ACCOUNT}:orders-prod-main`,
      directImportMaxBytes: 262144,
    };
    const tableArn = (t: string) => `arn:aws:dynamodb:eu-central-1:${ACCOUNT}:table/orders-prod-${t}`;
    const { resources, errors } = await runExample('stack-reference', 'prod', {
      stackReferences: {
        'acme/orders-workflows/prod': {
          clientConfig,
          tableArns: { commands: tableArn('commands'), data: tableArn('data') },
          bucketArn: `arn:aws:s3:::orders-prod-import-${ACCOUNT}`,
        },
      },
    });
    assert.deepEqual(errors, []);
    const api = byName(resources, T.lambda, 'orders-api-function');
    const env = (api.inputs.environment as { variables: Record<string, string> }).variables;
    assert.deepEqual(parseClientConfig(env.CQRS_CLIENT_CONFIG), clientConfig);
    const policy = JSON.parse(String(byName(resources, T.rolePolicy, 'orders-api-policy').inputs.policy)) as {
      Statement: { Sid: string; Action: string[]; Resource: string[] }[];
    };
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    assert.deepEqual(bySid.Commands.Resource, [tableArn('commands')]);
    assert.deepEqual(bySid.Payloads.Resource, [`arn:aws:s3:::orders-prod-import-${ACCOUNT}/payloads/*`]);
  });
});

describe('README code', () => {
  it('shows every example exactly as the tests run it', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const shown = exampleFilesInReadme(readme);
    for (const file of [
      'examples/typescript/index.ts',
      'examples/stack-reference/index.ts',
      'examples/custom-workflow/index.ts',
      'examples/vpc/index.ts',
    ])
      assert.ok(shown.includes(file), `README does not show ${file}`);
    assert.ok(
      renderReadmeExamples(readme) === readme,
      'README.md shows examples that differ from examples/: run `npx tsx scripts/readme-examples.ts --write`',
    );
  });

  it('every Markdown file the sources and documents name exists in the repository (no DESIGN.md)', () => {
    const dangling: string[] = [];
    const visit = (file: string) => {
      if (fs.statSync(file).isDirectory()) {
        for (const entry of fs.readdirSync(file)) visit(path.join(file, entry));
        return;
      }
      if (!/\.(ts|md)$/.test(file)) return;
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)?[\w./-]+\.md)\b/g)) {
        const ref = m[1];
        const from = ref.startsWith('.') ? path.dirname(file) : ROOT;
        if (!fs.existsSync(path.resolve(from, ref))) dangling.push(`${path.relative(ROOT, file)}: ${ref}`);
      }
    };
    for (const entry of ['core', 'handlers', 'components', 'client', 'scripts', 'examples', 'docs'])
      visit(path.join(ROOT, entry));
    for (const file of ['README.md', 'CHANGELOG.md', 'index.ts', 'program.ts']) visit(path.join(ROOT, file));
    assert.deepEqual(dangling, []);
  });
});
