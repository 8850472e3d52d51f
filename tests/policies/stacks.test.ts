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
    for (const m of ['command', 'task', 'import-csv', 'import-zip'])
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
