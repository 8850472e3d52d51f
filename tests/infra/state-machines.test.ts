import { strict as assert } from 'node:assert';
import * as aws from '@pulumi/aws';
import { MACHINE_KEYS } from '../../components/function-catalog';
import { WorkflowStateMachine } from '../../components/state-machine';
import type { SynthResource } from '../../scripts/synth/run-program';
import { byName, ofType, STACK_VARIANTS, synthProgram, synthStack, synthVariant, T } from '../support/synth';

const EXPECTED = {
  dev: { level: 'ALL', includeExecutionData: true, retention: 14 },
  prod: { level: 'ERROR', includeExecutionData: false, retention: 365 },
} as const;

interface Statement {
  Sid: string;
  Action: string[];
  Resource: string[];
}

for (const [stack, expected] of Object.entries(EXPECTED)) {
  describe(`state machines of stack ${stack}`, () => {
    let resources: SynthResource[];
    const prefix = `cqrs-${stack}`;
    // the EXPRESS command machine's name differs from the STANDARD path's (`<prefix>-command`)
    const nameOf = (m: string) => `${prefix}-${m === 'command' ? 'command-express' : m}`;
    const arn = (m: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${nameOf(m)}`;
    const fn = (f: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${prefix}-${f}`;
    const statements = (machine: string): Statement[] =>
      (
        JSON.parse(String(byName(resources, T.rolePolicy, `cqrs-machines-${machine}-policy`).inputs.policy)) as {
          Statement: Statement[];
        }
      ).Statement;

    before(async () => {
      const result = await synthStack(stack);
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [],
      );
      resources = result.resources;
    });

    it("are explicitly named, traced, and log to their own log group with the stack's level; only the command machine is EXPRESS", () => {
      for (const m of MACHINE_KEYS) {
        const sm = byName(resources, T.stateMachine, `cqrs-machines-${m}-state-machine`);
        assert.equal(sm.inputs.name, nameOf(m));
        assert.equal(sm.inputs.type, m === 'command' ? 'EXPRESS' : 'STANDARD', m);
        assert.deepEqual(sm.inputs.tracingConfiguration, { enabled: true });
        const logging = sm.inputs.loggingConfiguration as {
          level: string;
          includeExecutionData: boolean;
          logDestination: string;
        };
        assert.equal(logging.level, expected.level);
        assert.equal(logging.includeExecutionData, expected.includeExecutionData);
        const logs = byName(resources, T.logGroup, `cqrs-machines-${m}-logs`);
        assert.equal(logs.inputs.name, `/aws/vendedlogs/states/${nameOf(m)}`);
        assert.equal(logs.inputs.retentionInDays, expected.retention);
        assert.match(
          logging.logDestination,
          new RegExp(`log-group:/aws/vendedlogs/states/${nameOf(m)}:\\*$|/aws/vendedlogs/states/${nameOf(m)}:\\*$`),
        );
      }
    });

    it('alarm on failed, timed-out and throttled executions', () => {
      for (const m of MACHINE_KEYS) {
        const alarms = ofType(resources, T.alarm).filter(
          (a) => (a.inputs.dimensions as { StateMachineArn?: string }).StateMachineArn === arn(m),
        );
        assert.deepEqual(alarms.map((a) => a.inputs.metricName).sort(), [
          'ExecutionThrottled',
          'ExecutionsFailed',
          'ExecutionsTimedOut',
        ]);
        for (const a of alarms) assert.equal(a.inputs.namespace, 'AWS/States');
      }
    });

    it('get roles derived from their definitions: exactly the functions they name, their own executions, their S3 locations', () => {
      // The simulated proof that nothing more is granted than the definitions use is in tests/iam.
      const invoked = (m: string) => statements(m).find((s) => s.Sid === 'InvokeFunctions')?.Resource;
      assert.deepEqual(invoked('command'), [fn('command-step')]);
      // waits, then runs the version on the EXPRESS machine through the router's function (run_command)
      assert.deepEqual(invoked('command-wait'), [fn('command-step'), fn('stream-router')]);
      assert.deepEqual(invoked('task'), [fn('task-step')]);
      assert.deepEqual(invoked('import-csv'), [fn('import-csv-step')]);
      assert.deepEqual(invoked('import-zip'), [fn('import-zip-step')]);
      const csv = statements('import-csv');
      const bucket = `${prefix}-import-123456789012`;
      // The Map reads the JSON Lines csv_loader staged, nothing else of the bucket.
      assert.deepEqual(csv.find((s) => s.Sid === 'ReadItems')?.Resource, [`arn:aws:s3:::${bucket}/staged/*`]);
      assert.deepEqual(csv.find((s) => s.Sid === 'WriteResults')?.Resource, [
        `arn:aws:s3:::${bucket}/import-results/*`,
      ]);
      assert.deepEqual(csv.find((s) => s.Sid === 'StartChildExecutions')?.Resource, [arn('import-csv')]);
      // EXPRESS children are not `execution:` resources; nothing describes or stops them by ARN.
      assert.equal(
        csv.find((s) => s.Sid === 'WatchChildExecutions'),
        undefined,
      );
      for (const m of ['command', 'command-wait', 'task', 'import-zip']) {
        const sids = statements(m).map((s) => s.Sid);
        assert.ok(
          !sids.includes('StartChildExecutions') && !sids.includes('ReadItems'),
          `${m} has Distributed Map grants it does not need`,
        );
      }
      const trust = JSON.parse(String(byName(resources, T.role, 'cqrs-machines-command-role').inputs.assumeRolePolicy));
      assert.deepEqual(trust.Statement[0].Principal, { Service: 'states.amazonaws.com' });
      assert.deepEqual(trust.Statement[0].Condition, {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': arn('command') },
      });
    });
  });
}

describe('state machines of dev on the STANDARD command path', () => {
  it('are the seed-shaped STANDARD command machine (no command-wait), task, import-csv and import-zip', async () => {
    const variant = STACK_VARIANTS.find((v) => v.config !== undefined)!;
    const result = await synthVariant(variant);
    assert.deepEqual(
      result.errors.map((e) => e.message),
      [],
    );
    const machines = ofType(result.resources, T.stateMachine);
    assert.deepEqual(machines.map((m) => [m.inputs.name, m.inputs.type]).sort(), [
      ['cqrs-dev-command', 'STANDARD'],
      ['cqrs-dev-import-csv', 'STANDARD'],
      ['cqrs-dev-import-zip', 'STANDARD'],
      ['cqrs-dev-task', 'STANDARD'],
    ]);
    const command = JSON.parse(String(machines.find((m) => m.inputs.name === 'cqrs-dev-command')?.inputs.definition));
    assert.ok(command.States.wait_prev_command, 'the STANDARD command machine waits in itself');
    const router = byName(result.resources, T.lambda, 'cqrs-stream-router-function');
    const env = (router.inputs.environment as { variables: Record<string, string> }).variables;
    assert.equal(env.COMMAND_PATH, 'STANDARD');
    assert.equal(env.COMMAND_WAIT_STATE_MACHINE_ARN, undefined);
  });
});

describe('an invalid definition', () => {
  it("fails the program, naming the machine, the state and the validator's message, before the state machine exists", async () => {
    const broken = {
      StartAt: 'first',
      States: {
        first: { Type: 'Pass', Next: 'nowhere' },
      },
    };
    const result = await synthProgram(
      'dev',
      () =>
        new WorkflowStateMachine('broken', {
          stateMachineName: 'cqrs-dev-broken',
          type: 'STANDARD',
          // A hand-written definition that skipped the typed builders.
          definition: broken as never,
          arnContext: { partition: 'aws', region: 'eu-west-1', accountId: '123456789012' },
          bucketName: 'cqrs-dev-import-123456789012',
          alarmTopicArn: new aws.sns.Topic('alarms').arn,
        }),
      { config: { 'aws:region': 'eu-west-1' } },
    );
    assert.ok(result.errors.length > 0, 'the program should fail');
    const message = result.errors.map((e) => e.message).join('\n');
    assert.match(message, /State machine "cqrs-dev-broken" definition is invalid/);
    assert.match(message, /state "first"/);
    assert.match(message, /nowhere/);
    assert.equal(ofType(result.resources, T.stateMachine).length, 0);
  });
});
