import { strict as assert } from 'assert';
import * as pulumi from '@pulumi/pulumi';
import { ResourceValidationPolicy } from '@pulumi/policy';
import { StateMachine } from '@pulumi/aws/sfn';
import { Queue } from '@pulumi/aws/sqs';
import { allPolicies, mapFiniteConcurrency } from '../../policies/rules';
import { evaluatePolicies, makeValidationArgs, NotApplicableError, runPolicies } from '../../policies/run-offline';
import { inlineMap, lambdaTask, machine, resource, stateMachine } from './helpers';

describe('policies/run-offline', () => {
  describe('makeValidationArgs', () => {
    const res = resource('aws:sfn/stateMachine:StateMachine', {
      name: 'm',
      type: 'STANDARD',
      nothing: undefined,
      roleArn: pulumi.unknown,
    });

    it('carries type, name, urn, props (undefined dropped) and default options', () => {
      const args = makeValidationArgs(res, mapFiniteConcurrency);
      assert.equal(args.type, res.type);
      assert.equal(args.name, res.name);
      assert.equal(args.urn, res.urn);
      assert.equal(args.props['name'], 'm');
      assert.equal('nothing' in args.props, false);
      assert.equal(args.opts.protect, false);
      assert.deepEqual(args.opts.ignoreChanges, []);
    });

    it("throws the engine's unknown-value error when a policy reads an unknown value", () => {
      const args = makeValidationArgs(res, mapFiniteConcurrency);
      assert.throws(() => args.props['roleArn'], /can't be known during preview/);
    });

    it('exposes stackTags as a read-only Map', () => {
      const args = makeValidationArgs(res, mapFiniteConcurrency, { stackTags: { env: 'prod' } });
      assert.equal(args.stackTags.get('env'), 'prod');
      assert.equal(args.stackTags.size, 1);
      assert.equal((args.stackTags as Map<string, string>).set, undefined);
    });

    it("isType/asType compare against the resource class's Pulumi type", () => {
      const args = makeValidationArgs(res, mapFiniteConcurrency);
      assert.equal(args.isType(StateMachine), true);
      assert.equal(args.isType(Queue), false);
      assert.equal(args.asType(StateMachine)?.name, 'm');
      assert.equal(args.asType(Queue), undefined);
    });

    it('getConfig merges configSchema defaults with the supplied config (without enforcementLevel)', () => {
      assert.deepEqual(makeValidationArgs(res, mapFiniteConcurrency).getConfig(), {
        maxInlineConcurrency: 40,
        maxDistributedConcurrency: 1000,
      });
      const cfg = makeValidationArgs(res, mapFiniteConcurrency, {
        config: { 'sfn-map-finite-concurrency': { enforcementLevel: 'advisory', maxInlineConcurrency: 8 } },
      }).getConfig();
      assert.deepEqual(cfg, { maxInlineConcurrency: 8, maxDistributedConcurrency: 1000 });
    });

    it('notApplicable throws a NotApplicableError with the reason', () => {
      const args = makeValidationArgs(res, mapFiniteConcurrency);
      assert.throws(
        () => args.notApplicable('because'),
        (e: unknown) => e instanceof NotApplicableError && e.reason === 'because',
      );
    });
  });

  describe('runPolicies', () => {
    const goodDef = machine({ sync_data_all: inlineMap({ sync_data: lambdaTask() }, { MaxConcurrency: 10 }) });

    it('returns no violation for a compliant machine whose roleArn is unknown at preview (preview-safe rules)', async () => {
      const r = await evaluatePolicies([stateMachine(goodDef, { roleArn: pulumi.unknown })]);
      assert.deepEqual(r.violations, []);
      assert.ok(r.notApplicable.some((n) => n.policy === 'sqs-queue-encrypted'));
    });

    it("reports policy, level, resource and 'description\\nmessage'", async () => {
      const sm = stateMachine(machine({ sync_data_all: inlineMap({ sync_data: lambdaTask() }) }));
      const v = await runPolicies([sm]);
      assert.equal(v.length, 1);
      assert.equal(v[0].policy, 'sfn-map-finite-concurrency');
      assert.equal(v[0].enforcementLevel, 'mandatory');
      assert.deepEqual(v[0].resource, { type: sm.type, name: sm.name, urn: sm.urn });
      assert.ok(v[0].message.startsWith(`${mapFiniteConcurrency.description}\n`));
    });

    it("applies enforcement levels from config, 'all', and skips disabled policies", async () => {
      const sm = stateMachine(machine({ m: inlineMap({ t: lambdaTask() }) }));
      assert.equal(
        (await runPolicies([sm], { config: { 'sfn-map-finite-concurrency': { enforcementLevel: 'advisory' } } }))[0]
          .enforcementLevel,
        'advisory',
      );
      assert.deepEqual(
        await runPolicies([sm], { config: { 'sfn-map-finite-concurrency': { enforcementLevel: 'disabled' } } }),
        [],
      );
      const all = await evaluatePolicies([resource('aws:sns/topic:Topic', {})], { config: { all: 'advisory' } });
      assert.equal(all.violations[0].enforcementLevel, 'advisory');
    });

    it("turns an escaping unknown-value read into the engine's advisory preview diagnostic", async () => {
      const reader: ResourceValidationPolicy = {
        name: 'reads-role',
        description: 'reads roleArn',
        enforcementLevel: 'mandatory',
        validateResource: (args, report) => {
          if (!args.props['roleArn']) report('no role');
        },
      };
      const r = await evaluatePolicies([stateMachine(goodDef, { roleArn: '04da6b54-80e4-46f7-96ec-b56ff0331ba9' })], {
        policies: [reader],
      });
      assert.equal(r.violations.length, 1);
      assert.equal(r.violations[0].enforcementLevel, 'advisory');
      assert.match(r.violations[0].message, /can't run policy 'reads-role' during preview/);
    });

    it('every policy has a unique name, a description and a level; config schemas never declare enforcementLevel', () => {
      const names = allPolicies.map((p) => p.name);
      assert.equal(new Set(names).size, names.length);
      for (const p of allPolicies) {
        assert.ok(p.description.length > 10, p.name);
        assert.ok(p.enforcementLevel === 'mandatory' || p.enforcementLevel === 'advisory', p.name);
        assert.equal(p.configSchema?.properties['enforcementLevel'], undefined);
        assert.notEqual(p.name, 'all');
      }
    });

    it('policy config files only name existing policies and schema properties', async () => {
      const fs = await import('fs');
      const path = await import('path');
      for (const f of ['config.dev.json', 'config.prod.json']) {
        const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../policies', f), 'utf8')) as Record<
          string,
          unknown
        >;
        for (const [name, entry] of Object.entries(cfg)) {
          const p = allPolicies.find((x) => x.name === name);
          assert.ok(p, `${f}: unknown policy ${name}`);
          if (entry && typeof entry === 'object') {
            for (const key of Object.keys(entry)) {
              assert.ok(key === 'enforcementLevel' || p.configSchema?.properties[key], `${f}: ${name}.${key}`);
            }
          }
        }
      }
    });
  });
});
