/**
 * Each finding of the simulated review, as a failing case: the dev stack with the grant
 * as it was before the fix must be reported by the suite, and the stack as it is must not.
 */
import { strict as assert } from 'node:assert';
import type { SynthResource } from '../../scripts/synth/run-program';
import { synthStack } from '../support/synth';
import { isKeyAdministration, plainHttpGaps } from './support/checks';
import type { PolicyDoc, PolicyStatementDoc } from './support/model';
import { SAMPLE } from './support/required-calls';
import { analyseStack, show, type StackIam } from './support/suite';

const BUCKET = 'arn:aws:s3:::cqrs-dev-import-123456789012';
const fn = (name: string) => `arn:aws:lambda:eu-west-1:123456789012:function:cqrs-dev-${name}`;

let original: SynthResource[];

/** The dev stack with one policy document changed. */
async function analyseWith(type: string, name: string, mutate: (doc: PolicyDoc) => void): Promise<StackIam> {
  const resources = structuredClone(original);
  const target = resources.find((r) => r.type === type && r.name === name);
  assert.ok(target, `${type} ${name}`);
  const doc = JSON.parse(String(target.inputs.policy)) as PolicyDoc;
  mutate(doc);
  target.inputs.policy = JSON.stringify(doc);
  return analyseStack('dev', resources, 'eu-west-1', 'cqrs-dev');
}
const rolePolicy = (name: string, mutate: (doc: PolicyDoc) => void) =>
  analyseWith('aws:iam/rolePolicy:RolePolicy', name, mutate);
const sid = (doc: PolicyDoc, id: string): PolicyStatementDoc => {
  const st = doc.Statement.find((s) => s.Sid === id);
  assert.ok(st, id);
  return st;
};
const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

async function grantFindings(iam: StackIam): Promise<string[]> {
  return [
    ...(await iam.engine.unusedIdentityGrants()),
    ...iam.engine.overBroadGrants(SAMPLE),
    ...(await iam.engine.widerThanCalls(iam.calls, SAMPLE)),
    ...(await iam.engine.unusedResourceGrants(isKeyAdministration)),
  ].map((f) => f.message);
}
function denied(iam: StackIam): string[] {
  return iam.calls.filter((c) => iam.verdicts.get(c)?.outcome !== 'Allowed').map((c) => show(c, iam.verdicts.get(c)));
}

describe('the findings of the simulated IAM review, each reported when reintroduced', function () {
  this.timeout(300_000);
  let current: StackIam;

  before(async () => {
    original = (await synthStack('dev')).resources;
    current = await analyseStack('dev', original, 'eu-west-1', 'cqrs-dev');
  });

  it('the stack as it is: every call allowed, no finding', async () => {
    assert.deepEqual(denied(current), []);
    assert.deepEqual(await grantFindings(current), []);
  });

  describe('broader than any call needs', () => {
    it('command-step may Query the commands table', async () => {
      const iam = await rolePolicy('cqrs-command-step-policy', (d) => {
        sid(d, 'Commands').Action = [...asList(sid(d, 'Commands').Action), 'dynamodb:Query'];
      });
      assert.ok(
        (await grantFindings(iam)).some((m) =>
          /dynamodb:Query on .*table\/cqrs-dev-commands is granted but no call needs it/.test(m),
        ),
      );
    });

    it('import-zip-step may AbortMultipartUpload', async () => {
      const iam = await rolePolicy('cqrs-import-zip-step-policy', (d) => {
        sid(d, 'WriteCsvs').Action = ['s3:PutObject', 's3:AbortMultipartUpload'];
      });
      assert.ok(
        (await grantFindings(iam)).some((m) =>
          /s3:AbortMultipartUpload on .*unzipped\/\* is granted but no call needs it/.test(m),
        ),
      );
    });

    for (const name of ['import-action-consumer', 'execution-watch']) {
      it(`${name} may read import-results/*`, async () => {
        const iam = await rolePolicy(`cqrs-${name}-policy`, (d) => {
          d.Statement.push({
            Sid: 'ReadResults',
            Effect: 'Allow',
            Action: ['s3:GetObject'],
            Resource: [`${BUCKET}/import-results/*`],
          });
        });
        assert.ok(
          (await grantFindings(iam)).some((m) =>
            /ReadResults\): s3:GetObject on .*import-results\/\* is granted but no call needs it/.test(m),
          ),
        );
      });
    }

    it('the state machines may invoke versions and aliases (function:<name>:*)', async () => {
      const iam = await rolePolicy('cqrs-machines-command-policy', (d) => {
        sid(d, 'InvokeFunctions').Resource = [fn('command-step'), `${fn('command-step')}:*`];
      });
      assert.ok(
        (await grantFindings(iam)).some((m) =>
          m.includes(`lambda:InvokeFunction on ${fn('command-step')}:* is granted but no call needs it`),
        ),
      );
    });

    it('the import-csv machine may read the whole bucket, payloads/ included', async () => {
      const iam = await rolePolicy('cqrs-machines-import-csv-policy', (d) => {
        sid(d, 'ReadItems').Resource = [`${BUCKET}/*`];
      });
      const findings = await grantFindings(iam);
      assert.ok(
        findings.some((m) => m.includes(`s3:GetObject on ${BUCKET}/* also reaches ${BUCKET}/payloads/`)),
        findings.join('\n'),
      );
    });

    it('WatchChildExecutions is granted though the Distributed Map children are EXPRESS', async () => {
      const iam = await rolePolicy('cqrs-machines-import-csv-policy', (d) => {
        d.Statement.push({
          Sid: 'WatchChildExecutions',
          Effect: 'Allow',
          Action: ['states:DescribeExecution', 'states:StopExecution'],
          Resource: ['arn:aws:states:eu-west-1:123456789012:execution:cqrs-dev-import-csv/*'],
        });
      });
      const findings = await grantFindings(iam);
      for (const action of ['states:DescribeExecution', 'states:StopExecution'])
        assert.ok(
          findings.some((m) => m.includes(`WatchChildExecutions): ${action} on`) && m.includes('no call needs it')),
          action,
        );
    });
  });

  describe('scoped where the reference has no resource type', () => {
    it('SendTaskSuccess / SendTaskFailure on a state machine ARN: every token call denied, the grant dead', async () => {
      const iam = await rolePolicy('cqrs-command-step-policy', (d) => {
        sid(d, 'TaskTokens').Resource = ['arn:aws:states:eu-west-1:123456789012:stateMachine:cqrs-dev-command'];
      });
      const refused = denied(iam);
      for (const action of ['states:SendTaskSuccess', 'states:SendTaskFailure'])
        assert.ok(
          refused.some((c) => c.startsWith(`cqrs-dev-command-step-role ${action} * → ImplicitlyDenied`)),
          action,
        );
      const findings = await grantFindings(iam);
      assert.ok(
        findings.some((m) =>
          /states:SendTaskSuccess has no resource type in the reference, so scoping it to .* never allows it/.test(m),
        ),
      );
    });

    it('ListStreams on the stream ARNs: denied, the grant dead', async () => {
      const iam = await rolePolicy('cqrs-stream-router-policy', (d) => {
        sid(d, 'ListStreams').Resource = asList(sid(d, 'ReadStreams').Resource);
      });
      assert.ok(
        denied(iam).some((c) => c.startsWith('cqrs-dev-stream-router-role dynamodb:ListStreams * → ImplicitlyDenied')),
      );
      assert.ok((await grantFindings(iam)).some((m) => /dynamodb:ListStreams has no resource type/.test(m)));
    });
  });

  describe('the EXPRESS command path (the default): its grants reach exactly their principals', () => {
    const ACCOUNT = '123456789012';
    const machine = (name: string) => `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:cqrs-dev-${name}`;
    const stream = (table: string) => `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/cqrs-dev-${table}/stream/${SAMPLE}`;
    const queue = (name: string) => `arn:aws:sqs:eu-west-1:${ACCOUNT}:cqrs-dev-${name}`;

    /** Every role of the stack the engine lets make this call (identity and resource policies). */
    async function allowedRoles(iam: StackIam, action: string, resource: string): Promise<string[]> {
      const allowed: string[] = [];
      for (const role of iam.model.roles) {
        const call = { principal: { role: role.arn }, action, resource, source: 'probe' };
        if ((await iam.engine.check(call, {}, false)).outcome === 'Allowed') allowed.push(role.name);
      }
      return allowed.sort();
    }

    it('each new call is allowed to its one caller and denied to every other role of the stack', async () => {
      const expected: [string, string, string[]][] = [
        // The router runs a version on the EXPRESS machine and hands a waiting one to command-wait.
        ['states:StartSyncExecution', machine('command-express'), ['cqrs-dev-stream-router-role']],
        ['states:StartExecution', machine('command-wait'), ['cqrs-dev-stream-router-role']],
        // Nobody starts the EXPRESS machine asynchronously, nor command-wait synchronously.
        ['states:StartExecution', machine('command-express'), []],
        ['states:StartSyncExecution', machine('command-wait'), []],
        // command-wait's run_command state runs the version through the router's code.
        [
          'lambda:InvokeFunction',
          `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:cqrs-dev-stream-router`,
          ['cqrs-dev-command-wait-sfn'],
        ],
        // The commands stream: polled by the router's mapping, read back by execution-watch after a failure.
        ['dynamodb:GetRecords', stream('commands'), ['cqrs-dev-execution-watch-role', 'cqrs-dev-stream-router-role']],
        [
          'dynamodb:GetShardIterator',
          stream('commands'),
          ['cqrs-dev-execution-watch-role', 'cqrs-dev-stream-router-role'],
        ],
        // execution-watch reads no other stream.
        ['dynamodb:GetRecords', stream('tasks'), ['cqrs-dev-stream-router-role']],
        ['dynamodb:GetShardIterator', stream('import_tmp'), ['cqrs-dev-stream-router-role']],
        // The command-stream-failures queue: filled by the router's on-failure destination, consumed by execution-watch.
        ['sqs:SendMessage', queue('command-stream-failures'), ['cqrs-dev-stream-router-role']],
        ['sqs:ReceiveMessage', queue('command-stream-failures'), ['cqrs-dev-execution-watch-role']],
        ['sqs:DeleteMessage', queue('command-stream-failures'), ['cqrs-dev-execution-watch-role']],
        ['sqs:SendMessage', queue('command-stream-failures-dlq'), []],
        // An EXPRESS execution has no history to describe: nobody may ask for one.
        [
          'states:DescribeExecution',
          `arn:aws:states:eu-west-1:${ACCOUNT}:execution:cqrs-dev-command-express:${SAMPLE}`,
          [],
        ],
        // The STANDARD path's machine, deleted by a switch to EXPRESS: execution-watch still reads
        // the input of an execution the deletion ended (EventBridge leaves large inputs out).
        [
          'states:DescribeExecution',
          `arn:aws:states:eu-west-1:${ACCOUNT}:execution:cqrs-dev-command:${SAMPLE}`,
          ['cqrs-dev-execution-watch-role'],
        ],
      ];
      const actual: [string, string, string[]][] = [];
      for (const [action, resource] of expected)
        actual.push([action, resource, await allowedRoles(current, action, resource)]);
      assert.deepEqual(actual, expected);
    });

    it('a router without StartSyncExecution cannot run a version; StartSyncExecution on every machine is reported', async () => {
      const without = await rolePolicy('cqrs-stream-router-policy', (d) => {
        d.Statement = d.Statement.filter((st) => st.Sid !== 'RunCommands');
      });
      assert.ok(
        denied(without).some((c) =>
          c.startsWith(
            `cqrs-dev-stream-router-role states:StartSyncExecution ${machine('command-express')} → ImplicitlyDenied`,
          ),
        ),
        denied(without).join('\n'),
      );
      const wider = await rolePolicy('cqrs-stream-router-policy', (d) => {
        sid(d, 'RunCommands').Resource = [`arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:cqrs-dev-*`];
      });
      const findings = await grantFindings(wider);
      for (const other of ['command-wait', 'task', 'import-csv', 'import-zip'])
        assert.ok(
          findings.some(
            (m) =>
              m.includes(`states:StartSyncExecution on`) &&
              m.endsWith(`reaches ${machine(other)}, which this role never calls with it`),
          ),
          `${other}:\n${findings.join('\n')}`,
        );
    });

    it('execution-watch without the commands stream cannot read a failed batch back; every stream of the stack is reported', async () => {
      const without = await rolePolicy('cqrs-execution-watch-policy', (d) => {
        d.Statement = d.Statement.filter((st) => st.Sid !== 'ReadCommandStream');
      });
      for (const action of ['dynamodb:GetShardIterator', 'dynamodb:GetRecords'])
        assert.ok(
          denied(without).some((c) =>
            c.startsWith(`cqrs-dev-execution-watch-role ${action} ${stream('commands')} → ImplicitlyDenied`),
          ),
          action,
        );
      const wider = await rolePolicy('cqrs-execution-watch-policy', (d) => {
        sid(d, 'ReadCommandStream').Resource = [`arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/cqrs-dev-*/stream/*`];
      });
      const findings = await grantFindings(wider);
      for (const table of ['tasks', 'import_tmp'])
        assert.ok(
          findings.some((m) => m.includes('dynamodb:GetRecords on') && m.includes(`reaches ${stream(table)}`)),
          `${table}:\n${findings.join('\n')}`,
        );
    });

    it('the command-stream-failures queue: its sender and consumer need their grants; a grant on its DLQ is reported', async () => {
      const noSend = await rolePolicy('cqrs-stream-router-policy', (d) => {
        sid(d, 'StreamFailuresToDlq').Resource = [queue('stream-dlq')];
      });
      assert.ok(
        denied(noSend).some((c) =>
          c.startsWith(
            `cqrs-dev-stream-router-role sqs:SendMessage ${queue('command-stream-failures')} → ImplicitlyDenied`,
          ),
        ),
      );
      const noReceive = await rolePolicy('cqrs-execution-watch-policy', (d) => {
        sid(d, 'ConsumeQueue').Resource = [queue('execution-events')];
      });
      assert.ok(
        denied(noReceive).some((c) =>
          c.startsWith(
            `cqrs-dev-execution-watch-role sqs:ReceiveMessage ${queue('command-stream-failures')} → ImplicitlyDenied`,
          ),
        ),
      );
      const dlq = await rolePolicy('cqrs-stream-router-policy', (d) => {
        sid(d, 'StreamFailuresToDlq').Resource = [
          ...asList(sid(d, 'StreamFailuresToDlq').Resource),
          queue('command-stream-failures-dlq'),
        ];
      });
      assert.ok(
        (await grantFindings(dlq)).some((m) =>
          m.includes(`sqs:SendMessage on ${queue('command-stream-failures-dlq')} is granted but no call needs it`),
        ),
      );
    });
  });

  it('TLS-only for four actions leaves the others open over plain HTTP', async () => {
    const iam = await analyseWith('aws:s3/bucketPolicy:BucketPolicy', 'cqrs-import-tls-only', (d) => {
      d.Statement[0].Action = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:ListBucket'];
    });
    const { gaps } = await plainHttpGaps(iam.engine);
    for (const action of [
      's3:GetObjectVersion',
      's3:PutBucketPolicy',
      's3:DeleteObjectVersion',
      's3:ListBucketVersions',
    ])
      assert.ok(
        gaps.some((g) => g.startsWith(`${action} `)),
        `${action} over HTTP not reported`,
      );
    assert.ok(!gaps.some((g) => g.startsWith('s3:GetObject ')), 'a listed action is still denied');
  });

  it('a trust policy that lets any state machine of the account assume a machine role', async () => {
    const resources = structuredClone(original);
    const role = resources.find((r) => r.name === 'cqrs-machines-command-role');
    assert.ok(role);
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as PolicyDoc;
    trust.Statement[0].Condition = { StringEquals: { 'aws:SourceAccount': '123456789012' } };
    role.inputs.assumeRolePolicy = JSON.stringify(trust);
    const iam = await analyseStack('dev', resources, 'eu-west-1', 'cqrs-dev');
    const call = iam.calls.find(
      (c) => c.action === 'sts:AssumeRole' && c.resource.endsWith('role/cqrs-dev-command-express-sfn'),
    );
    assert.ok(call);
    const other = {
      ...call,
      context: { ...call.context, 'aws:SourceArn': `${String(call.context?.['aws:SourceArn'])}-other` },
    };
    assert.equal(
      (await iam.engine.check(other, {}, false)).outcome,
      'Allowed',
      'the unpinned trust lets another machine in',
    );
    assert.notEqual((await current.engine.check(other, {}, false)).outcome, 'Allowed', 'the pinned trust does not');
  });
});
