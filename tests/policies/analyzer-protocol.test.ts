/**
 * The pack run through the analyzer's own gRPC protocol, as `pulumi preview --policy-pack`
 * runs it, gives the same verdicts as the offline runner the synth command and the other
 * tests use: on both stacks, as `pulumi up` registers them and during a first preview with
 * every output unknown (marshalled as the engine marshals unknowns), and on resources built
 * to break rules.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allPolicies } from '../../policies/rules';
import { evaluatePolicies, type OfflinePolicyConfig, type OfflineResource } from '../../policies/run-offline';
import type { SynthResource } from '../../scripts/synth/run-program';
import { ROOT, synthStack } from '../support/synth';
import { distributedMap, inlineMap, lambdaTask, machine, resource, stateMachine } from './helpers';
import { AnalyzerSession, collapseUnknownObjects } from './support/analyzer';

const packConfig = (stack: string) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'policies', `config.${stack}.json`), 'utf8')) as OfflinePolicyConfig;

function asPolicyInput(resources: SynthResource[]): (OfflineResource & { protect: boolean; parent?: string })[] {
  return resources
    .filter((r) => r.custom)
    .map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs, protect: r.protect, parent: r.parent }));
}

/** Resources that break rules, so the comparison is not only of empty verdicts. */
function violating(): OfflineResource[] {
  const nested = machine({
    outer: inlineMap({ inner: distributedMap({ t: lambdaTask() }, { MaxConcurrency: 1000 }) }),
  });
  const jsonata = machine(
    { m: inlineMap({ t: { Type: 'Pass', End: true } }, { ItemsPath: undefined, MaxConcurrencyPath: '$.n' }) },
    'm',
    { QueryLanguage: 'JSONata' },
  );
  return [
    stateMachine(nested, { loggingConfiguration: { level: 'OFF' } }),
    {
      ...stateMachine(jsonata, { tracingConfiguration: { enabled: false } }),
      name: 'jsonata',
      urn: 'urn:pulumi:dev::p::aws:sfn/stateMachine:StateMachine::jsonata',
    },
    resource('aws:sqs/queue:Queue', { name: 'jobs' }, 'jobs'),
    resource('aws:iam/rolePolicy:RolePolicy', {
      role: 'r',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    }),
  ];
}

const key = (v: { urn: string; policy: string }, rest: string) => `${v.urn} | ${v.policy} | ${rest}`;

async function compare(session: AnalyzerSession, resources: OfflineResource[], config: OfflinePolicyConfig) {
  const offline = await evaluatePolicies(resources, { config });
  const online = { violations: [] as string[], notApplicable: [] as string[] };
  for (const r of resources) {
    const verdict = await session.analyze(r);
    online.violations.push(...verdict.violations.map((v) => key(v, `${v.enforcementLevel} | ${v.message}`)));
    online.notApplicable.push(...verdict.notApplicable.map((n) => key(n, n.reason)));
  }
  const offlineViolations = offline.violations.map((v) =>
    key({ urn: v.resource.urn, policy: v.policy }, `${v.enforcementLevel} | ${v.message}`),
  );
  const offlineNa = offline.notApplicable.map((n) => key({ urn: n.resource.urn, policy: n.policy }, n.reason ?? ''));
  assert.deepEqual(online.violations.sort(), offlineViolations.sort());
  assert.deepEqual(online.notApplicable.sort(), offlineNa.sort());
  return online;
}

describe('the policy pack through the analyzer gRPC protocol, as `pulumi preview --policy-pack` runs it', function () {
  // The pack is compiled by ts-node with type checking, as the CLI starts it.
  this.timeout(600_000);
  let session: AnalyzerSession;

  before(async () => {
    session = await AnalyzerSession.start(ROOT, path.join(ROOT, 'policies'));
  });
  after(() => session?.stop());

  it('describes itself: the pack, every rule with its level and config schema', async () => {
    const info = await session.info();
    assert.equal(info.getName(), 'cqrs-workflows');
    assert.deepEqual(
      info.getPoliciesList().map((p) => p.getName()),
      allPolicies.map((p) => p.name),
    );
    const schema = info
      .getPoliciesList()
      .find((p) => p.getName() === 'sfn-map-effective-concurrency')
      ?.getConfigschema()
      ?.getProperties()
      ?.toJavaScript() as Record<string, { default?: number }>;
    assert.equal(schema.maxEffectiveConcurrency.default, 1000);
  });

  for (const stack of ['dev', 'prod']) {
    it(`${stack}: same verdicts as the offline runner for what \`pulumi up\` registers, and none mandatory`, async () => {
      await session.configure(packConfig(stack), stack);
      const { resources } = await synthStack(stack);
      const online = await compare(session, asPolicyInput(resources), packConfig(stack));
      assert.deepEqual(online.violations, []);
    });

    it(`${stack}: same verdicts during a first preview (every output unknown, as the engine marshals it), none "can't run"`, async () => {
      await session.configure(packConfig(stack), stack);
      const { resources } = await synthStack(stack, { preview: true, unknownOutputs: true });
      const input = asPolicyInput(resources);
      const online = await compare(session, input, packConfig(stack));
      assert.deepEqual(
        online.violations.filter((v) => /can't run policy/.test(v)),
        [],
      );
      assert.deepEqual(
        online.violations.filter((v) => v.includes('| mandatory |')),
        [],
      );
      // A provider may report a block with a computed member as computed as a whole.
      const collapsed = input.map((r) => ({ ...r, props: collapseUnknownObjects(r.props) }));
      const again = await compare(session, collapsed, packConfig(stack));
      assert.deepEqual(
        again.violations.filter((v) => /can't run policy/.test(v)),
        [],
      );
    });
  }

  it('same verdicts on resources that break rules (and the verdicts are the expected ones)', async () => {
    await session.configure(packConfig('prod'), 'prod');
    const online = await compare(session, violating(), packConfig('prod'));
    for (const policy of [
      'sfn-map-finite-concurrency',
      'sfn-map-effective-concurrency',
      'sfn-logging-enabled',
      'sfn-tracing-enabled',
      'sqs-queue-redrive-policy',
      'sqs-queue-encrypted',
      'iam-no-wildcard-actions',
    ])
      assert.ok(
        online.violations.some((v) => v.includes(` | ${policy} | `)),
        policy,
      );
  });
});
