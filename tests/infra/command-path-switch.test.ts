import { strict as assert } from 'node:assert';
import { machineName } from '../../components/function-catalog';
import { boundedRoleName } from '../../components/iam';
import { NAME_LIMITS, physicalName } from '../../components/naming';
import { CommandPath } from '../../core/status';
import type { SynthResource } from '../../scripts/synth/run-program';
import { byName, STANDARD_PATH_CONFIG, synthStack, T } from '../support/synth';

/**
 * Switching `commandPath` (or upgrading a 0.1 stack, STANDARD, to the EXPRESS default) must be
 * one `pulumi up`: Step Functions cannot change a machine's type, so the command machine is
 * replaced, and Pulumi creates the replacement before it deletes the old one. That only works
 * when nothing of the new path takes a name the old path still holds.
 */

/** The physical name a resource is created under (what a create-before-delete could collide on). */
function physical(r: SynthResource): string | undefined {
  const i = r.inputs;
  for (const field of ['name', 'alarmName', 'functionName', 'bucket', 'dashboardName']) {
    if (typeof i[field] === 'string') return i[field];
  }
  return undefined;
}

const ARN = (name: string) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${name}`;

describe('switching the command path of dev (EXPRESS ↔ STANDARD)', () => {
  let express: Map<string, SynthResource>;
  let standard: Map<string, SynthResource>;
  let expressResources: SynthResource[];
  let standardResources: SynthResource[];

  before(async () => {
    const a = await synthStack('dev');
    const b = await synthStack('dev', { config: STANDARD_PATH_CONFIG });
    for (const r of [a, b])
      assert.deepEqual(
        r.errors.map((e) => e.message),
        [],
      );
    expressResources = a.resources;
    standardResources = b.resources;
    express = new Map(a.resources.map((r) => [r.urn, r]));
    standard = new Map(b.resources.map((r) => [r.urn, r]));
  });

  it('gives the command machine, its role, log group and alarms a different name on each path, and every other resource the same', () => {
    const renamed: string[][] = [];
    for (const [urn, r] of express) {
      const other = standard.get(urn);
      if (other && physical(r) !== physical(other))
        renamed.push([r.type, String(physical(r)), String(physical(other))]);
    }
    assert.deepEqual(renamed.sort(), [
      [T.logGroup, '/aws/vendedlogs/states/cqrs-dev-command-express', '/aws/vendedlogs/states/cqrs-dev-command'],
      [T.alarm, 'cqrs-dev-command-express-failed', 'cqrs-dev-command-failed'],
      [T.alarm, 'cqrs-dev-command-express-throttled', 'cqrs-dev-command-throttled'],
      [T.alarm, 'cqrs-dev-command-express-timed-out', 'cqrs-dev-command-timed-out'],
      [T.role, 'cqrs-dev-command-express-sfn', 'cqrs-dev-command-sfn'],
      [T.stateMachine, 'cqrs-dev-command-express', 'cqrs-dev-command'],
    ]);
    const machine = (m: Map<string, SynthResource>) =>
      [...m.values()].find((r) => r.type === T.stateMachine && r.name === 'cqrs-machines-command-state-machine')!;
    assert.deepEqual(
      [machine(express).inputs.type, machine(standard).inputs.type],
      ['EXPRESS', 'STANDARD'],
      'the 0.1 name stays with the STANDARD machine',
    );
  });

  it('adds or removes only command-wait: no resource of one path is missing on the other otherwise', () => {
    const only = (a: Map<string, SynthResource>, b: Map<string, SynthResource>) =>
      [...a.values()]
        .filter((r) => !b.has(r.urn))
        .map((r) => `${r.name} ${physical(r) ?? ''}`.trim())
        .sort();
    assert.deepEqual(only(standard, express), []);
    assert.deepEqual(only(express, standard), [
      'cqrs-machines-command-wait',
      'cqrs-machines-command-wait-failed cqrs-dev-command-wait-failed',
      'cqrs-machines-command-wait-logs /aws/vendedlogs/states/cqrs-dev-command-wait',
      'cqrs-machines-command-wait-policy',
      'cqrs-machines-command-wait-role cqrs-dev-command-wait-sfn',
      'cqrs-machines-command-wait-state-machine cqrs-dev-command-wait',
      'cqrs-machines-command-wait-throttled cqrs-dev-command-wait-throttled',
      'cqrs-machines-command-wait-timed-out cqrs-dev-command-wait-timed-out',
    ]);
  });

  it('creates nothing under a name the other path still holds (create-before-delete never collides)', () => {
    const names = (rs: SynthResource[]) =>
      new Map(rs.flatMap((r) => (physical(r) === undefined ? [] : [[`${r.type} ${physical(r)}`, r.urn] as const])));
    const onExpress = names(expressResources);
    const onStandard = names(standardResources);
    for (const [name, urn] of onExpress) {
      const holder = onStandard.get(name);
      assert.ok(holder === undefined || holder === urn, `${name} is ${urn} on EXPRESS but ${holder} on STANDARD`);
    }
    for (const [name, urn] of onStandard) {
      const holder = onExpress.get(name);
      assert.ok(holder === undefined || holder === urn, `${name} is ${urn} on STANDARD but ${holder} on EXPRESS`);
    }
  });

  it('changes in place only what points at the command machines: the functions, their grants, the dashboard', () => {
    const changed: string[] = [];
    for (const [urn, r] of express) {
      const other = standard.get(urn);
      if (!other || physical(r) !== physical(other)) continue;
      const keys = Object.keys({ ...r.inputs, ...other.inputs }).filter(
        (k) => JSON.stringify(r.inputs[k]) !== JSON.stringify(other.inputs[k]),
      );
      if (keys.length > 0) changed.push(`${r.name} ${keys.join(',')}`);
    }
    assert.deepEqual(changed.sort(), [
      'cqrs-command-step-function environment',
      'cqrs-dashboard-dashboard dashboardBody',
      'cqrs-execution-watch-function environment',
      'cqrs-execution-watch-policy policy',
      // the command machine's inline policy follows its new role (replaced with it)
      'cqrs-machines-command-policy role',
      'cqrs-stream-router-function environment',
      'cqrs-stream-router-policy policy',
    ]);
  });

  it('watches the same STANDARD machines on both paths, the one a switch deletes included, and execution-watch knows it', () => {
    const rule = (rs: SynthResource[]) =>
      byName(rs, 'aws:cloudwatch/eventRule:EventRule', 'cqrs-execution-events-rule');
    const pattern = (rs: SynthResource[]) =>
      (JSON.parse(String(rule(rs).inputs.eventPattern)) as { detail: { stateMachineArn: string[] } }).detail
        .stateMachineArn;
    assert.deepEqual(pattern(expressResources), pattern(standardResources));
    assert.deepEqual(
      pattern(expressResources),
      ['cqrs-dev-command', 'cqrs-dev-command-wait', 'cqrs-dev-import-csv', 'cqrs-dev-import-zip', 'cqrs-dev-task'].map(
        ARN,
      ),
    );
    const watch = (rs: SynthResource[]) => {
      const fn = byName(rs, T.lambda, 'cqrs-execution-watch-function');
      const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
      const policy = JSON.parse(String(byName(rs, T.rolePolicy, 'cqrs-execution-watch-policy').inputs.policy)) as {
        Statement: { Sid: string; Resource: string[] }[];
      };
      const describe = policy.Statement.find((s) => s.Sid === 'ReadExecutionInput')!.Resource;
      return { retired: env.RETIRED_COMMAND_STATE_MACHINE_ARN, command: env.COMMAND_STATE_MACHINE_ARN, describe };
    };
    const onExpress = watch(expressResources);
    const onStandard = watch(standardResources);
    assert.deepEqual(
      [onExpress.command, onExpress.retired],
      [ARN('cqrs-dev-command-express'), ARN('cqrs-dev-command')],
    );
    assert.deepEqual([onStandard.command, onStandard.retired], [ARN('cqrs-dev-command'), ARN('cqrs-dev-command-wait')]);
    // the input of a large execution of the deleted machine can still be read
    for (const w of [onExpress, onStandard])
      assert.ok(w.describe.includes(`${w.retired!.replace(':stateMachine:', ':execution:')}:*`), w.describe.join());
  });

  it('keeps the names within AWS limits and apart for the longest prefix (32 characters)', () => {
    const prefix = 'a'.repeat(32);
    const [onExpress, onStandard] = [CommandPath.EXPRESS, CommandPath.STANDARD].map((p) =>
      physicalName(prefix, machineName('command', p), 'stateMachine'),
    );
    assert.equal(onExpress, `${prefix}-command-express`);
    assert.equal(onStandard, `${prefix}-command`);
    assert.ok(onExpress!.length <= NAME_LIMITS.stateMachine);
    const roles = [onExpress!, onStandard!].map((n) => boundedRoleName(n, 'sfn'));
    assert.notEqual(roles[0], roles[1]);
    for (const r of roles) assert.ok(r.length <= NAME_LIMITS.iamRole, r);
  });
});
