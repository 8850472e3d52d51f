import { strict as assert } from 'node:assert';
import { FUNCTION_KEYS, FUNCTION_TIMEOUTS, QUEUE_CONSUMERS } from '../../components/function-catalog';
import { QUEUE_KEYS, QUEUE_ROUTES, VISIBILITY_FACTOR } from '../../components/messaging';
import { STREAM_RETENTION_SECONDS } from '../../components/event-sources';
import { STREAM_TABLES, TABLE_KEYS } from '../../components/tables';
import type { SynthResource } from '../../scripts/synth/run-program';
import { byName, ofType, policyDocuments, synthStack, T } from '../support/synth';

const STACKS = {
  dev: {
    deletionProtection: false,
    protect: false,
    retention: 14,
    maxReceiveCount: 5,
    memory: 256,
    emails: 0,
    retries: 3,
    accessLogging: false,
  },
  prod: {
    deletionProtection: true,
    protect: true,
    retention: 365,
    maxReceiveCount: 5,
    memory: 512,
    emails: 2,
    retries: 5,
    accessLogging: true,
  },
} as const;

function json(value: unknown): Record<string, unknown> {
  assert.equal(typeof value, 'string', `expected a JSON string, got ${typeof value}`);
  return JSON.parse(value as string) as Record<string, unknown>;
}

for (const [stack, expected] of Object.entries(STACKS)) {
  describe(`stack ${stack} (offline synth under Pulumi mocks)`, () => {
    let resources: SynthResource[];
    const prefix = `cqrs-${stack}`;

    before(async () => {
      const result = await synthStack(stack);
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [],
      );
      resources = result.resources;
    });

    it('every URN is unique and every component uses a cqrs-workflows:index token', () => {
      const urns = resources.map((r) => r.urn);
      assert.equal(new Set(urns).size, urns.length);
      const components = resources.filter((r) => !r.custom);
      assert.ok(components.length >= 10);
      for (const c of components) assert.match(c.type, /^cqrs-workflows:index:[A-Z][A-Za-z]+$/);
      for (const r of resources.filter((x) => x.type !== 'cqrs-workflows:index:CqrsWorkflows')) {
        assert.ok(r.parent, `${r.urn} has no parent: components must create children with { parent: this }`);
      }
    });

    it('creates the five tables: pk/sk strings, on demand, TTL, PITR, SSE, streams where workflows start', () => {
      const tables = ofType(resources, T.table);
      assert.deepEqual(tables.map((t) => t.inputs.name).sort(), TABLE_KEYS.map((k) => `${prefix}-${k}`).sort());
      for (const t of tables) {
        const key = String(t.inputs.name).slice(prefix.length + 1);
        assert.equal(t.inputs.billingMode, 'PAY_PER_REQUEST');
        assert.equal(t.inputs.hashKey, 'pk');
        assert.equal(t.inputs.rangeKey, 'sk');
        assert.deepEqual(t.inputs.attributes, [
          { name: 'pk', type: 'S' },
          { name: 'sk', type: 'S' },
        ]);
        assert.deepEqual(t.inputs.ttl, { attributeName: 'ttl', enabled: true });
        assert.deepEqual(t.inputs.pointInTimeRecovery, { enabled: true });
        assert.equal((t.inputs.serverSideEncryption as { enabled: boolean }).enabled, true);
        assert.equal(t.inputs.deletionProtectionEnabled, expected.deletionProtection);
        assert.equal(t.protect, expected.protect, `${t.name} protect`);
        const streamed = (STREAM_TABLES as readonly string[]).includes(key);
        assert.equal(t.inputs.streamEnabled, streamed, key);
        assert.equal(t.inputs.streamViewType, streamed ? 'NEW_IMAGE' : undefined, key);
      }
    });

    it('creates the import bucket: encrypted, private, owner-enforced, with result lifecycle, TLS only', () => {
      const bucket = byName(resources, T.bucket, 'cqrs-import-bucket');
      assert.equal(bucket.inputs.bucket, `${prefix}-import-123456789012`);
      assert.equal(bucket.protect, expected.protect);
      assert.equal(bucket.inputs.forceDestroy, !expected.protect);
      const sse = byName(
        resources,
        'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
        'cqrs-import-encryption',
      );
      assert.equal(
        (sse.inputs.rules as { applyServerSideEncryptionByDefault: { sseAlgorithm: string } }[])[0]
          .applyServerSideEncryptionByDefault.sseAlgorithm,
        'AES256',
      );
      const pab = byName(
        resources,
        'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
        'cqrs-import-public-access',
      );
      for (const flag of ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'])
        assert.equal(pab.inputs[flag], true, flag);
      const own = byName(resources, 'aws:s3/bucketOwnershipControls:BucketOwnershipControls', 'cqrs-import-ownership');
      assert.deepEqual(own.inputs.rule, { objectOwnership: 'BucketOwnerEnforced' });
      const life = byName(
        resources,
        'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
        'cqrs-import-lifecycle',
      );
      const rules = life.inputs.rules as { id: string; filter: { prefix: string }; expiration?: { days: number } }[];
      const results = rules.find((r) => r.filter.prefix === 'import-results/');
      assert.ok(results?.expiration?.days, 'result files expire');
      // The simulated proof (every S3 action denied over HTTP) is in tests/iam.
      const policy = json(byName(resources, 'aws:s3/bucketPolicy:BucketPolicy', 'cqrs-import-tls-only').inputs.policy);
      assert.deepEqual(policy.Statement, [
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${prefix}-import-123456789012`, `arn:aws:s3:::${prefix}-import-123456789012/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
      ]);
    });

    it(`${expected.accessLogging ? 'logs' : 'does not log'} every request to the import bucket (server access logging)`, () => {
      const logging = ofType(resources, 'aws:s3/bucketLogging:BucketLogging');
      if (!expected.accessLogging) {
        assert.deepEqual(logging, []);
        assert.equal(ofType(resources, T.bucket).length, 1);
        return;
      }
      const logs = `${prefix}-import-logs-123456789012`;
      assert.deepEqual(
        logging.map((l) => l.inputs),
        [
          {
            bucket: `${prefix}-import-123456789012`,
            targetBucket: logs,
            targetPrefix: `${prefix}-import-123456789012/`,
          },
        ],
      );
      const bucket = byName(resources, T.bucket, 'cqrs-import-access-logs-bucket');
      assert.equal(bucket.inputs.bucket, logs);
      assert.equal(bucket.protect, expected.protect);
      const life = byName(
        resources,
        'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
        'cqrs-import-access-logs-lifecycle',
      );
      assert.equal((life.inputs.rules as { expiration: { days: number } }[])[0].expiration.days, expected.retention);
      const sse = byName(
        resources,
        'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
        'cqrs-import-access-logs-encryption',
      );
      // S3 log delivery supports SSE-S3 only as the target's default encryption.
      assert.deepEqual(sse.inputs.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }]);
    });

    it('routes the main topic by action to three encrypted queues with DLQs, 6× visibility and main-topic-only policies', () => {
      const main = byName(resources, T.topic, 'cqrs-messaging-main');
      assert.equal(main.inputs.name, `${prefix}-main`);
      assert.ok(main.inputs.kmsMasterKeyId, 'main topic encrypted');
      const alarm = byName(resources, T.topic, 'cqrs-messaging-alarm');
      assert.ok(alarm.inputs.kmsMasterKeyId, 'alarm topic encrypted');
      for (const q of QUEUE_KEYS) {
        const queue = byName(resources, T.queue, `cqrs-messaging-${q}`);
        const dlq = byName(resources, T.queue, `cqrs-messaging-${q}-dlq`);
        assert.equal(queue.inputs.name, `${prefix}-${q}`);
        assert.equal(dlq.inputs.name, `${prefix}-${q}-dlq`);
        for (const x of [queue, dlq]) assert.equal(x.inputs.sqsManagedSseEnabled, true);
        const redrive = json(queue.inputs.redrivePolicy);
        assert.equal(redrive.maxReceiveCount, expected.maxReceiveCount);
        assert.match(String(redrive.deadLetterTargetArn), new RegExp(`${prefix}-${q}-dlq$`));
        assert.ok(Number(queue.inputs.visibilityTimeoutSeconds) >= 6 * FUNCTION_TIMEOUTS[QUEUE_CONSUMERS[q]]);
        const policy = json(byName(resources, T.queuePolicy, `cqrs-messaging-${q}-policy`).inputs.policy);
        const [statement] = policy.Statement as {
          Principal: unknown;
          Action: string[];
          Condition: { ArnEquals: Record<string, string> };
        }[];
        assert.deepEqual(statement.Principal, { Service: 'sns.amazonaws.com' });
        assert.deepEqual(statement.Action, ['sqs:SendMessage']);
        assert.match(statement.Condition.ArnEquals['aws:SourceArn'], new RegExp(`:${prefix}-main$`));
        const sub = byName(resources, T.subscription, `cqrs-messaging-${q}-subscription`);
        assert.equal(sub.inputs.protocol, 'sqs');
        assert.equal(sub.inputs.rawMessageDelivery, true);
        assert.equal(sub.inputs.filterPolicyScope, 'MessageAttributes');
        assert.deepEqual(json(sub.inputs.filterPolicy), { action: [...QUEUE_ROUTES[q]] });
      }
      const emails = ofType(resources, T.subscription).filter((s) => s.inputs.protocol === 'email');
      assert.equal(emails.length, expected.emails);
    });

    it('issue 9 item 15: sets queue retention explicitly (DLQs 14 days) and every redelivery fits inside it', () => {
      const work = [...QUEUE_KEYS, 'execution-events', 'command-stream-failures'];
      for (const q of work) {
        const queue = byName(resources, T.queue, `cqrs-messaging-${q}`);
        const dlq = byName(resources, T.queue, `cqrs-messaging-${q}-dlq`);
        assert.equal(queue.inputs.messageRetentionSeconds, 4 * 86400, `${q} retention`);
        assert.equal(dlq.inputs.messageRetentionSeconds, 14 * 86400, `${q} DLQ retention`);
        const redrive = json(queue.inputs.redrivePolicy);
        assert.ok(
          Number(redrive.maxReceiveCount) * Number(queue.inputs.visibilityTimeoutSeconds) <=
            Number(queue.inputs.messageRetentionSeconds),
          `${q}: maxReceiveCount × visibility must fit inside retention`,
        );
      }
      assert.equal(byName(resources, T.queue, 'cqrs-messaging-stream-dlq').inputs.messageRetentionSeconds, 14 * 86400);
    });

    it('issue 9 item 17: uploads, unzipped files, staged rows and results expire; offloaded payloads are kept', () => {
      const life = byName(
        resources,
        'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
        'cqrs-import-lifecycle',
      );
      const rules = life.inputs.rules as { filter: { prefix: string }; expiration?: { days: number } }[];
      const days = (prefix: string) => rules.find((r) => r.filter.prefix === prefix)?.expiration?.days;
      const results = stack === 'prod' ? 90 : 30;
      assert.equal(days('imports/'), 30);
      for (const p of ['unzipped/', 'import-results/', 'staged/']) assert.equal(days(p), results, p);
      assert.ok(!rules.some((r) => r.filter.prefix.startsWith('payloads') && r.expiration), 'payloads never expire');
      for (const l of ofType(resources, T.lambda).filter((f) =>
        /import-csv-step|import-action-consumer|execution-watch/.test(String(f.inputs.name)),
      )) {
        const env = (l.inputs.environment as { variables: Record<string, string> }).variables;
        assert.equal(env.IMPORT_RECORD_TTL_SECONDS, String(30 * 86400), String(l.inputs.name));
      }
    });

    it('bundles each handler into a Node.js 22 arm64 Lambda with JSON logs, X-Ray, its own log group and role', () => {
      const lambdas = ofType(resources, T.lambda);
      assert.deepEqual(lambdas.map((l) => l.inputs.name).sort(), FUNCTION_KEYS.map((k) => `${prefix}-${k}`).sort());
      for (const l of lambdas) {
        const name = String(l.inputs.name);
        assert.equal(l.inputs.runtime, 'nodejs22.x');
        assert.deepEqual(l.inputs.architectures, ['arm64']);
        assert.equal(l.inputs.handler, 'index.handler');
        assert.equal((l.inputs.loggingConfig as { logFormat: string }).logFormat, 'JSON');
        assert.equal((l.inputs.loggingConfig as { logGroup: string }).logGroup, `/aws/lambda/${name}`);
        assert.deepEqual(l.inputs.tracingConfig, { mode: 'Active' });
        assert.equal(l.inputs.memorySize, expected.memory);
        assert.match(String(l.inputs.role), new RegExp(`${name}-role`));
        const env = (l.inputs.environment as { variables: Record<string, string> }).variables;
        assert.equal(env.NODE_OPTIONS, '--enable-source-maps');
        const logs = ofType(resources, T.logGroup).find((g) => g.inputs.name === `/aws/lambda/${name}`);
        assert.equal(logs?.inputs.retentionInDays, expected.retention);
      }
    });

    it('maps each stream with an INSERT filter, bounded retries, bisect and an on-failure DLQ; each queue with partial batch failures', () => {
      const mappings = ofType(resources, T.esm);
      const streams = mappings.filter((m) => String(m.inputs.eventSourceArn).includes('/stream/'));
      const queues = mappings.filter((m) => String(m.inputs.eventSourceArn).includes(':sqs:'));
      assert.equal(streams.length, STREAM_TABLES.length);
      assert.equal(
        queues.length,
        QUEUE_KEYS.length + 2,
        'the three routed queues, execution-events and command-stream-failures',
      );
      const expectedFilters: Record<string, unknown> = {
        commands: { eventName: ['INSERT'] },
        tasks: { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['TASK'] } } } },
        import_tmp: { eventName: ['INSERT'], dynamodb: { NewImage: { type: { S: ['IMPORT_ROW'] } } } },
      };
      for (const m of streams) {
        assert.equal(m.inputs.functionName, `${prefix}-stream-router`);
        const table = /cqrs-[a-z]+-([a-z_]+)\/stream/.exec(String(m.inputs.eventSourceArn))?.[1] ?? '';
        assert.deepEqual(
          (m.inputs.filterCriteria as { filters: { pattern: string }[] }).filters.map((f) => JSON.parse(f.pattern)),
          [expectedFilters[table]],
          table,
        );
        assert.equal(m.inputs.maximumRetryAttempts, expected.retries);
        assert.equal(m.inputs.bisectBatchOnFunctionError, true);
        // execution-watch reads a dropped commands record back: it must still be in the stream (24 h)
        // after the router's last attempt and every delivery of the on-failure message (5 by default)
        const readBack = FUNCTION_TIMEOUTS['execution-watch'] * VISIBILITY_FACTOR * 5;
        if (table === 'commands')
          assert.ok(
            Number(m.inputs.maximumRecordAgeInSeconds) + FUNCTION_TIMEOUTS['stream-router'] + readBack <=
              STREAM_RETENTION_SECONDS,
            `a commands record dropped at ${String(m.inputs.maximumRecordAgeInSeconds)} s leaves no time to read it back`,
          );
        else assert.equal(m.inputs.maximumRecordAgeInSeconds, STREAM_RETENTION_SECONDS, table);
        // a commands batch the router gave up on reaches execution-watch, which ends its versions
        assert.match(
          String((m.inputs.destinationConfig as { onFailure: { destinationArn: string } }).onFailure.destinationArn),
          table === 'commands' ? /command-stream-failures$/ : /stream-dlq$/,
          table,
        );
      }
      for (const m of queues) assert.deepEqual(m.inputs.functionResponseTypes, ['ReportBatchItemFailures']);
      const failures = queues.find((m) =>
        String(m.inputs.eventSourceArn).endsWith(`${prefix}-command-stream-failures`),
      );
      assert.equal(failures?.inputs.functionName, `${prefix}-execution-watch`);
    });

    it('sends failed, timed-out and aborted executions of the STANDARD machines to the execution-events queue (EXPRESS runs are watched by their callers)', () => {
      const [rule] = ofType(resources, 'aws:cloudwatch/eventRule:EventRule');
      assert.equal(rule.inputs.name, `${prefix}-execution-ended`);
      const pattern = json(rule.inputs.eventPattern) as {
        source: string[];
        detail: { status: string[]; stateMachineArn: string[] };
      };
      assert.deepEqual(pattern.source, ['aws.states']);
      assert.deepEqual(pattern.detail.status, ['FAILED', 'TIMED_OUT', 'ABORTED']);
      // and the STANDARD `command` machine a switch from the STANDARD path deletes, whose executions the deletion ends
      assert.deepEqual(
        pattern.detail.stateMachineArn.sort(),
        ['command', 'command-wait', 'import-csv', 'import-zip', 'task'].map(
          (m) => `arn:aws:states:eu-west-1:123456789012:stateMachine:${prefix}-${m}`,
        ),
      );
      const [target] = ofType(resources, 'aws:cloudwatch/eventTarget:EventTarget');
      assert.match(String(target.inputs.arn), new RegExp(`:${prefix}-execution-events$`));
      assert.match(
        String((target.inputs.deadLetterConfig as { arn: string }).arn),
        new RegExp(`:${prefix}-execution-events-dlq$`),
      );
      const policy = json(byName(resources, T.queuePolicy, 'cqrs-execution-events-queue-policy').inputs.policy);
      const [statement] = policy.Statement as {
        Principal: unknown;
        Condition: { ArnEquals: Record<string, string> };
      }[];
      assert.deepEqual(statement.Principal, { Service: 'events.amazonaws.com' });
      assert.match(statement.Condition.ArnEquals['aws:SourceArn'], new RegExp(`${prefix}-execution-ended$`));
      const mapping = ofType(resources, T.esm).find((m) =>
        String(m.inputs.eventSourceArn).endsWith(`${prefix}-execution-events`),
      );
      assert.equal(mapping?.inputs.functionName, `${prefix}-execution-watch`);
    });

    it("alarms on every DLQ's depth and every function's errors, to the alarm topic", () => {
      const alarms = ofType(resources, T.alarm);
      const dlqAlarms = alarms.filter((a) => a.inputs.namespace === 'AWS/SQS');
      assert.deepEqual(
        dlqAlarms.map((a) => (a.inputs.dimensions as { QueueName: string }).QueueName).sort(),
        [
          ...QUEUE_KEYS.map((q) => `${prefix}-${q}-dlq`),
          `${prefix}-execution-events-dlq`,
          `${prefix}-command-stream-failures-dlq`,
          `${prefix}-stream-dlq`,
        ].sort(),
      );
      const errorAlarms = alarms.filter((a) => a.inputs.namespace === 'AWS/Lambda');
      assert.deepEqual(
        errorAlarms.map((a) => (a.inputs.dimensions as { FunctionName: string }).FunctionName).sort(),
        FUNCTION_KEYS.map((k) => `${prefix}-${k}`).sort(),
      );
      for (const a of alarms) {
        assert.equal(a.inputs.comparisonOperator, 'GreaterThanThreshold');
        assert.equal(a.inputs.threshold, 0);
        assert.deepEqual(a.inputs.alarmActions, [`arn:aws:sns:eu-west-1:123456789012:${prefix}-alarm`]);
      }
    });

    it('grants no wildcard action in any policy document (least privilege)', () => {
      const docs = policyDocuments(resources);
      assert.ok(docs.length >= 20, `only ${docs.length} policy documents found`);
      for (const { where, doc } of docs) {
        for (const st of doc.Statement) {
          const actions = ([] as string[]).concat(st.Action ?? []);
          assert.ok(actions.length > 0, `${where}: statement without Action`);
          // A Deny narrows access: "deny s3:* without TLS" is the point of the bucket policies.
          if (st.Effect === 'Deny') continue;
          for (const a of actions) assert.ok(!a.includes('*'), `${where}: wildcard action ${a}`);
        }
      }
    });
  });
}
