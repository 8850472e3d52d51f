/**
 * Least privilege, proven by a real IAM policy engine (@cloud-copilot/iam-simulate, built
 * on AWS's Service Authorization Reference) instead of inferred: every call each role's
 * code or definition makes is simulated on its exact resource, with the resource policy
 * it meets; every grant no call uses is reported; resource policies and trust policies let
 * in only the principals the stack wires up.
 */
import { strict as assert } from 'node:assert';
import { FUNCTION_KEYS, machineKeysFor, machineName } from '../../components/function-catalog';
import { CommandPath } from '../../core/status';
import { physicalName } from '../../components/naming';
import { isKeyAdministration, plainHttpGaps } from './support/checks';
import { policyOwner } from './support/engine';
import { SAMPLE, type Call } from './support/required-calls';
import { analyseStack, show, type StackIam } from './support/suite';
import { JUDGED_STACKS } from './stacks';

const OTHER_ACCOUNT = '210987654321';

for (const judged of JUDGED_STACKS) {
  describe(`IAM of the ${judged.label} stack, simulated by a real policy engine`, function () {
    this.timeout(300_000);
    let iam: StackIam;
    const callsOf = (roleArn: string) => iam.calls.filter((c) => 'role' in c.principal && c.principal.role === roleArn);
    const failures = (calls: Call[]) =>
      calls.filter((c) => iam.verdicts.get(c)?.outcome !== 'Allowed').map((c) => show(c, iam.verdicts.get(c)));

    before(async () => {
      const { resources, errors } = await judged.synth();
      assert.deepEqual(
        errors.map((e) => e.message),
        [],
      );
      iam = await analyseStack(judged.stack, resources, judged.region, judged.prefix);
    });

    it('derives every call from the code, the definitions and the wiring (no resource left undetermined)', () => {
      assert.deepEqual(
        iam.unresolved,
        [],
        'these calls take their resource from data the analysis cannot follow: make the code name it from its ' +
          'environment, or add an entry with the reason to EXPLICIT_SOURCES (tests/iam/support/required-calls.ts)',
      );
      assert.ok(iam.calls.length > 300, `only ${iam.calls.length} calls derived`);
    });

    for (const key of FUNCTION_KEYS) {
      it(`function ${key}: every call its code and Lambda make is allowed, on the exact resource`, () => {
        const fn = iam.model.functions.find((f) => f.name === physicalName(judged.prefix, key, 'lambdaFunction'));
        assert.ok(fn, key);
        const calls = callsOf(fn.roleArn);
        assert.ok(calls.length >= 2, `${key}: only ${calls.length} calls`);
        assert.deepEqual(failures(calls), []);
      });
    }

    const path = judged.commandPath ?? CommandPath.EXPRESS;
    for (const key of machineKeysFor(path)) {
      it(`state machine ${key}: every call its definition makes is allowed`, () => {
        const name = physicalName(judged.prefix, machineName(key, path), 'stateMachine');
        const machine = iam.model.machines.find((m) => m.name === name);
        assert.ok(machine, key);
        const calls = callsOf(machine.roleArn);
        assert.ok(
          calls.some((c) => c.action === 'lambda:InvokeFunction'),
          `${key} invokes nothing?`,
        );
        assert.deepEqual(failures(calls), []);
      });
    }

    it('lets every AWS service the stack wires up in (SNS → SQS, EventBridge → SQS, CloudWatch → KMS, S3 logging, role trust)', () => {
      const calls = iam.calls.filter((c) => 'service' in c.principal);
      for (const service of [
        'sns.amazonaws.com',
        'events.amazonaws.com',
        'lambda.amazonaws.com',
        'states.amazonaws.com',
      ])
        assert.ok(
          calls.some((c) => 'service' in c.principal && c.principal.service === service),
          service,
        );
      assert.deepEqual(failures(calls), []);
    });

    it('grants no action or resource that no call needs, and "*" only where the reference lists no resource type', async () => {
      assert.deepEqual(
        (await iam.engine.unusedIdentityGrants()).map((f) => f.message),
        [],
      );
      assert.deepEqual(
        iam.engine.overBroadGrants(SAMPLE).map((f) => f.message),
        [],
      );
      assert.deepEqual(
        (await iam.engine.widerThanCalls(iam.calls, SAMPLE)).map((f) => f.message),
        [],
      );
    });

    it('resource policies (queues, buckets, keys, role trust) allow only the principals and calls the stack needs', async () => {
      assert.deepEqual(
        (await iam.engine.unusedResourceGrants(isKeyAdministration)).map((f) => f.message),
        [],
      );
      // The one exemption: key administration, delegated to this account's IAM only.
      for (const [owner, { doc }] of iam.model.resourcePolicies) {
        for (const st of doc.Statement.filter((s) => isKeyAdministration(owner, s)))
          assert.equal((st.Principal as { AWS: string }).AWS, `arn:aws:iam::${iam.model.account}:root`);
      }
    });

    it('denies every S3 action on every bucket over plain HTTP (s3:*), whatever identity policy allows it', async () => {
      for (const bucket of iam.model.buckets)
        assert.ok(iam.model.resourcePolicies.has(bucket.arn), `${bucket.name} has no bucket policy`);
      const { checked, gaps } = await plainHttpGaps(iam.engine);
      assert.deepEqual(gaps, []);
      assert.ok(checked > 100 * iam.model.buckets.length, `only ${checked} S3 requests checked`);
    });

    it('keeps other principals out: other services, other sources, other accounts', async () => {
      const outsiders: string[] = [];
      const expectDenied = async (label: string, call: Call, overrides = {}) => {
        const v = await iam.engine.check(call, overrides, false);
        if (v.outcome === 'Allowed') outsiders.push(`${label}: ${show(call, v)}`);
      };
      for (const call of iam.calls.filter((c) => 'service' in c.principal)) {
        const service = (call.principal as { service: string }).service;
        // Another service, and the same service on behalf of another source or account.
        await expectDenied('other service', { ...call, principal: { service: 'ec2.amazonaws.com' } });
        if (call.context?.['aws:SourceArn'])
          await expectDenied('other source', {
            ...call,
            context: {
              ...call.context,
              'aws:SourceArn': String(call.context['aws:SourceArn']).replace(/[^:/]+$/, 'other'),
            },
          });
        if (call.context?.['aws:SourceAccount'])
          await expectDenied('other account', {
            ...call,
            context: {
              ...call.context,
              'aws:SourceAccount': OTHER_ACCOUNT,
              ...(call.context['aws:SourceArn']
                ? { 'aws:SourceArn': String(call.context['aws:SourceArn']).replace(/:\d{12}:/, `:${OTHER_ACCOUNT}:`) }
                : {}),
            },
          });
        if (service === 'lambda.amazonaws.com' || service === 'states.amazonaws.com') {
          // Nobody but the service assumes a workflow role.
          await expectDenied('a user of the account', {
            ...call,
            principal: { role: iam.model.roles[0].arn },
          });
        }
      }
      // A role of another account, even with an identity policy allowing it, reaches no
      // queue, bucket or key of the stack.
      for (const call of iam.calls) {
        if (!('role' in call.principal) || !iam.model.resourcePolicies.has(policyOwner(call.resource))) continue;
        const foreign = call.principal.role.replace(/::\d{12}:/, `::${OTHER_ACCOUNT}:`);
        const sim = iam.engine.simulation(call);
        const r = await iam.engine.check(
          call,
          {
            request: {
              ...sim.request,
              principal: foreign,
              contextVariables: {
                ...sim.request.contextVariables,
                'aws:PrincipalArn': foreign,
                'aws:PrincipalAccount': OTHER_ACCOUNT,
              },
            },
            identityPolicies: [
              {
                name: 'foreign',
                policy: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: call.action, Resource: call.resource }],
                },
              },
            ],
          },
          false,
        );
        if (r.outcome === 'Allowed') outsiders.push(`another account: ${show(call, r)}`);
      }
      assert.deepEqual(outsiders, []);
    });

    it('lets a role use the alarm key only through SNS', async () => {
      const kms = iam.calls.filter((c) => 'role' in c.principal && c.action.startsWith('kms:'));
      assert.ok(kms.length > 0);
      for (const call of kms) {
        const direct = await iam.engine.check(
          { ...call, context: { 'kms:CallerAccount': iam.model.account } },
          {},
          false,
        );
        assert.notEqual(direct.outcome, 'Allowed', show(call, direct));
      }
    });
  });
}
