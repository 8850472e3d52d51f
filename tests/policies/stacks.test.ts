import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { evaluatePolicies, type OfflineResource } from '../../policies/run-offline';
import type { SynthResource } from '../../scripts/synth/run-program';
import { ROOT, STACK_VARIANTS, synthVariant } from '../support/synth';

const run = promisify(execFile);

function asPolicyInput(resources: SynthResource[]): OfflineResource[] {
  return resources.filter((r) => r.custom).map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
}

function packConfig(stack: string) {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'policies', `config.${stack}.json`), 'utf8'));
}

for (const variant of STACK_VARIANTS) {
  const stack = variant.stack;
  describe(`policy pack over the ${variant.label} stack`, () => {
    it('finds zero mandatory violations in what `pulumi up` would register', async () => {
      const { resources, errors } = await synthVariant(variant);
      assert.deepEqual(errors, []);
      const { violations } = await evaluatePolicies(asPolicyInput(resources), { config: packConfig(stack) });
      assert.deepEqual(
        violations.filter((v) => v.enforcementLevel === 'mandatory'),
        [],
      );
      assert.deepEqual(violations, [], 'no advisory findings either');
    });

    it('judges every state machine during a preview with every resource output unknown', async () => {
      const { resources } = await synthVariant(variant, { preview: true, unknownOutputs: true });
      const input = asPolicyInput(resources);
      const { violations, notApplicable } = await evaluatePolicies(input, { config: packConfig(stack) });
      const machines = new Set(input.filter((r) => r.type === 'aws:sfn/stateMachine:StateMachine').map((r) => r.urn));
      assert.equal(machines.size, variant.machines.length);
      // Rules for other resource types say "not applicable" to a state machine; the
      // state machine rules (sfn-*) must judge it.
      const aboutMachines = [...violations, ...notApplicable].filter(
        (o) => machines.has(o.resource.urn) && o.policy.startsWith('sfn-'),
      );
      assert.deepEqual(aboutMachines, [], 'a state machine rule could not judge a definition at preview');
      assert.deepEqual(
        violations.filter((v) => /can't run policy/.test(v.message)),
        [],
        'a policy could not run during a first preview',
      );
      assert.deepEqual(
        violations.filter((v) => v.enforcementLevel === 'mandatory'),
        [],
      );
    });
  });
}

/**
 * The pack judges what the EXPRESS command path adds, not only passes it: each of the dev
 * stack's new resources broken one way is reported by the rule that guards it.
 */
describe('policy pack over the EXPRESS command path: each new resource, broken, is reported', () => {
  let original: SynthResource[];
  before(async () => {
    const variant = STACK_VARIANTS.find((v) => v.label === 'dev');
    assert.ok(variant);
    const { resources, errors } = await synthVariant(variant);
    assert.deepEqual(errors, []);
    original = resources;
  });

  /** The violations of the dev stack with one resource's inputs changed, as `policy resource: message`. */
  async function violationsWith(name: string, mutate: (inputs: Record<string, unknown>) => void): Promise<string[]> {
    const resources = structuredClone(original);
    const target = resources.find((r) => r.name === name);
    assert.ok(target, name);
    mutate(target.inputs);
    const { violations } = await evaluatePolicies(asPolicyInput(resources), { config: packConfig('dev') });
    return violations.map((v) => `${v.policy} ${v.resource.name}: ${v.message}`);
  }
  const definitionOf = (inputs: Record<string, unknown>) =>
    JSON.parse(String(inputs.definition)) as { States: Record<string, Record<string, unknown>> };
  const withDefinition = (
    inputs: Record<string, unknown>,
    change: (states: Record<string, Record<string, unknown>>) => void,
  ) => {
    const def = definitionOf(inputs);
    change(def.States);
    inputs.definition = JSON.stringify(def);
  };

  it('the EXPRESS command machine: logging off, or a level Step Functions does not know', async () => {
    assert.equal(original.find((r) => r.name === 'cqrs-machines-command-state-machine')?.inputs.type, 'EXPRESS');
    for (const level of ['OFF', 'DEBUG']) {
      const found = await violationsWith('cqrs-machines-command-state-machine', (i) => {
        i.loggingConfiguration = { ...(i.loggingConfiguration as object), level };
      });
      assert.equal(found.length, 1, found.join('\n'));
      assert.match(found[0], /^sfn-logging-enabled cqrs-machines-command-state-machine: /);
    }
  });

  it('the EXPRESS command machine: a callback Task (no EXPRESS machine can wait for a token)', async () => {
    const found = await violationsWith('cqrs-machines-command-state-machine', (i) =>
      withDefinition(i, (states) => {
        states.check_version.Resource = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
        states.check_version.TimeoutSeconds = 60;
      }),
    );
    assert.ok(
      found.some((m) =>
        /^sfn-express-no-wait-integrations cqrs-machines-command-state-machine: [\s\S]*"check_version"/.test(m),
      ),
      found.join('\n'),
    );
  });

  it('command-wait: wait_prev_command without TimeoutSeconds, or with a heartbeat not below it', async () => {
    const noTimeout = await violationsWith('cqrs-machines-command-wait-state-machine', (i) =>
      withDefinition(i, (states) => {
        delete states.wait_prev_command.TimeoutSeconds;
      }),
    );
    assert.deepEqual(
      noTimeout.map((m) => m.split(':')[0]),
      ['sfn-task-token-timeout cqrs-machines-command-wait-state-machine'],
    );
    assert.match(noTimeout[0], /"wait_prev_command" has no TimeoutSeconds/);
    const heartbeat = await violationsWith('cqrs-machines-command-wait-state-machine', (i) =>
      withDefinition(i, (states) => {
        states.wait_prev_command.HeartbeatSeconds = states.wait_prev_command.TimeoutSeconds;
      }),
    );
    assert.equal(heartbeat.length, 1, heartbeat.join('\n'));
    assert.match(heartbeat[0], /wait_prev_command" has HeartbeatSeconds 3600, not shorter than TimeoutSeconds 3600/);
  });

  it('the command-stream-failures queue: no redrive policy, no encryption', async () => {
    const noRedrive = await violationsWith('cqrs-messaging-command-stream-failures', (i) => {
      delete i.redrivePolicy;
    });
    assert.deepEqual(
      noRedrive.map((m) => m.split(':')[0]),
      ['sqs-queue-redrive-policy cqrs-messaging-command-stream-failures'],
    );
    for (const name of ['cqrs-messaging-command-stream-failures', 'cqrs-messaging-command-stream-failures-dlq']) {
      const plain = await violationsWith(name, (i) => {
        delete i.sqsManagedSseEnabled;
      });
      assert.deepEqual(
        plain.map((m) => m.split(':')[0]),
        [`sqs-queue-encrypted ${name}`],
      );
    }
  });

  it("the commands stream's mapping without its on-failure queue, and execution-watch's mapping of that queue without partial batch failures", async () => {
    const noDestination = await violationsWith('cqrs-commands-stream', (i) => {
      delete i.destinationConfig;
    });
    assert.deepEqual(
      noDestination.map((m) => m.split(':')[0]),
      ['stream-event-source-failure-handling cqrs-commands-stream'],
    );
    const wholeBatch = await violationsWith('cqrs-command-stream-failures-queue', (i) => {
      delete i.functionResponseTypes;
    });
    assert.deepEqual(
      wholeBatch.map((m) => m.split(':')[0]),
      ['sqs-event-source-partial-batch-failures cqrs-command-stream-failures-queue'],
    );
  });
});

describe('npm run synth and the policy pack', () => {
  const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const outDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-synth-'));

  it('writes out/<stack>/ and exits 0 when the stack passes', async () => {
    const out = outDir();
    const { stdout } = await run(process.execPath, [tsx, 'scripts/synth.ts', '--stack', 'prod', '--out', out], {
      cwd: ROOT,
    });
    assert.match(stdout, /Policy pack: no violations/);
    assert.match(stdout, /cqrs-prod-command-step/);
    for (const m of ['command-express', 'command-wait', 'task', 'import-csv', 'import-zip'])
      assert.ok(fs.existsSync(path.join(out, `cqrs-prod-${m}.asl.json`)), m);
    const resources = JSON.parse(fs.readFileSync(path.join(out, 'resources.json'), 'utf8')) as unknown[];
    assert.ok(resources.length > 100);
    assert.ok(fs.statSync(path.join(out, 'bundles', 'cqrs-prod-stream-router', 'index.js')).size > 0);
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('prints each violation with resource, policy and message and exits non-zero on a mandatory one', async () => {
    const out = outDir();
    const config = path.join(outDir(), 'strict.json');
    // dev runs sync_data_all with MaxConcurrency 10: a ceiling of 5 must fail it.
    fs.writeFileSync(
      config,
      JSON.stringify({ 'sfn-map-finite-concurrency': { enforcementLevel: 'mandatory', maxInlineConcurrency: 5 } }),
    );
    const failed = await run(
      process.execPath,
      [tsx, 'scripts/synth.ts', '--stack', 'dev', '--out', out, '--policy-config', config],
      { cwd: ROOT },
    ).then(
      () => assert.fail('synth should have exited non-zero'),
      (e: { code: number; stdout: string }) => e,
    );
    assert.equal(failed.code, 2);
    assert.match(
      failed.stdout,
      /\[mandatory\] sfn-map-finite-concurrency — aws:sfn\/stateMachine:StateMachine cqrs-machines-command-state-machine/,
    );
    assert.match(failed.stdout, /sync_data_all/);
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(path.dirname(config), { recursive: true, force: true });
  });
});
