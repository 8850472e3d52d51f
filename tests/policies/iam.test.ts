import { strict as assert } from 'assert';
import { findWildcardActions, iamNoWildcardActions } from '../../policies/rules';
import { messages, resource, run } from './helpers';

const policy = iamNoWildcardActions;
const doc = (...statements: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (action: unknown, extra: Record<string, unknown> = {}) => ({
  Effect: 'Allow',
  Action: action,
  Resource: 'arn:aws:dynamodb:eu-west-1:1:table/t',
  ...extra,
});

describe('iam-no-wildcard-actions', () => {
  it('is mandatory', () => assert.equal(policy.enforcementLevel, 'mandatory'));

  it('finds *, service:* and partial wildcards, in strings and arrays', () => {
    assert.deepEqual(
      findWildcardActions(doc(allow('*')))?.map((f) => f.action),
      ['*'],
    );
    assert.deepEqual(
      findWildcardActions(JSON.stringify(doc(allow(['dynamodb:GetItem', 's3:*', 'dynamodb:Get*']))))?.map(
        (f) => f.action,
      ),
      ['s3:*', 'dynamodb:Get*'],
    );
    assert.deepEqual(findWildcardActions(doc(allow(['dynamodb:GetItem', 'dynamodb:PutItem']))), []);
    assert.deepEqual(findWildcardActions({ Statement: allow('sqs:*') })?.length, 1); // single statement object
  });

  it('treats NotAction as a wildcard, and exempts Deny statements', () => {
    assert.deepEqual(
      findWildcardActions(doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }))?.map((f) => f.action),
      ['NotAction'],
    );
    assert.deepEqual(
      findWildcardActions(
        doc({ Effect: 'Deny', Action: 's3:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ),
      [],
    );
  });

  for (const [type, field] of [
    ['aws:iam/policy:Policy', 'policy'],
    ['aws:iam/rolePolicy:RolePolicy', 'policy'],
    ['aws:sqs/queuePolicy:QueuePolicy', 'policy'],
    ['aws:sns/topicPolicy:TopicPolicy', 'policy'],
    ['aws:s3/bucketPolicy:BucketPolicy', 'policy'],
  ] as const) {
    it(`checks ${type} (JSON string and object documents)`, async () => {
      assert.equal(
        (await run(policy, resource(type, { [field]: JSON.stringify(doc(allow('s3:*'))) }))).violations.length,
        1,
      );
      assert.equal(
        (await run(policy, resource(type, { [field]: doc(allow(['sqs:SendMessage', 'sqs:*'])) }))).violations.length,
        1,
      );
      assert.deepEqual((await run(policy, resource(type, { [field]: doc(allow('sqs:SendMessage')) }))).violations, []);
    });
  }

  it('checks role inline policies and the assume-role policy', async () => {
    const trust = JSON.stringify(
      doc({ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    );
    const ok = resource('aws:iam/role:Role', {
      assumeRolePolicy: trust,
      inlinePolicies: [{ name: 'run', policy: JSON.stringify(doc(allow('lambda:InvokeFunction'))) }],
    });
    assert.deepEqual((await run(policy, ok)).violations, []);
    const bad = resource('aws:iam/role:Role', {
      assumeRolePolicy: JSON.stringify(
        doc({ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:*' }),
      ),
      inlinePolicies: [{ name: 'run', policy: JSON.stringify(doc(allow('lambda:*'))) }],
    });
    const msgs = messages(await run(policy, bad));
    assert.equal(msgs.length, 2);
    assert.match(msgs[0], /assumeRolePolicy Statement\[0\] allows wildcard action "sts:\*"/);
    assert.match(msgs[1], /inlinePolicies\[0\] \(run\) Statement\[0\] allows wildcard action "lambda:\*"/);
  });

  it('also checks inline queue/topic policies', async () => {
    assert.equal(
      (await run(policy, resource('aws:sqs/queue:Queue', { policy: JSON.stringify(doc(allow('sqs:*'))) }))).violations
        .length,
      1,
    );
    assert.deepEqual((await run(policy, resource('aws:sns/topic:Topic', {}))).violations, []);
  });

  it('cannot judge a document unknown at preview (no violation) and ignores other types', async () => {
    assert.deepEqual(
      (await run(policy, resource('aws:iam/rolePolicy:RolePolicy', { policy: '04da6b54-80e4-46f7-96ec-b56ff0331ba9' })))
        .violations,
      [],
    );
    const other = await run(policy, resource('aws:dynamodb/table:Table', { policy: JSON.stringify(doc(allow('*'))) }));
    assert.deepEqual(other.violations, []);
    assert.equal(other.notApplicable.length, 1);
  });
});
