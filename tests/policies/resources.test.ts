import { strict as assert } from 'assert';
import * as pulumi from '@pulumi/pulumi';
import {
  dynamodbDeletionProtection,
  dynamodbPointInTimeRecovery,
  logGroupRetention,
  snsEncrypted,
  sqsEncrypted,
  sqsPartialBatchFailures,
  sqsRedrivePolicy,
  stateMachineLogging,
  stateMachineTracing,
  streamFailureHandling,
} from '../../policies/rules';
import { lambdaTask, machine, messages, resource, run, stateMachine } from './helpers';
import * as fs from 'fs';
import * as path from 'path';

const UNKNOWN_STRING = '04da6b54-80e4-46f7-96ec-b56ff0331ba9';
const def = machine({ t: lambdaTask() });

describe('sfn-logging-enabled / sfn-tracing-enabled', () => {
  it('pass a machine logging ALL to a destination with tracing', async () => {
    assert.deepEqual((await run(stateMachineLogging, stateMachine(def))).violations, []);
    assert.deepEqual((await run(stateMachineTracing, stateMachine(def))).violations, []);
  });

  it('fail logging OFF, absent, or without destination', async () => {
    assert.equal(
      (
        await run(
          stateMachineLogging,
          stateMachine(def, { loggingConfiguration: { level: 'OFF', logDestination: 'arn:x:*' } }),
        )
      ).violations.length,
      1,
    );
    assert.equal(
      (await run(stateMachineLogging, stateMachine(def, { loggingConfiguration: undefined }))).violations.length,
      2,
    );
    assert.match(
      messages(await run(stateMachineLogging, stateMachine(def, { loggingConfiguration: { level: 'ERROR' } })))[0],
      /logDestination is not set/,
    );
  });

  it('judge a first preview (destination, or the whole block, unknown) without a "can\'t run" diagnostic', async () => {
    for (const loggingConfiguration of [
      { level: 'ALL', logDestination: UNKNOWN_STRING },
      { level: 'ERROR', includeExecutionData: false, logDestination: pulumi.unknown },
      // What a provider may hand over when a nested value is computed: the block as a whole.
      'dd056dcd-154b-4c76-9bd3-c8f88648b5ff',
    ]) {
      const r = await run(stateMachineLogging, stateMachine(def, { loggingConfiguration }));
      assert.deepEqual(r.violations, [], JSON.stringify(loggingConfiguration));
    }
    // Presence is still judged at preview: no destination is a violation, known or not.
    const r = await run(stateMachineLogging, stateMachine(def, { loggingConfiguration: { level: UNKNOWN_STRING } }));
    assert.match(messages(r)[0], /logDestination is not set/);
  });

  it('fail tracing off or absent', async () => {
    assert.equal(
      (await run(stateMachineTracing, stateMachine(def, { tracingConfiguration: { enabled: false } }))).violations
        .length,
      1,
    );
    assert.equal(
      (await run(stateMachineTracing, stateMachine(def, { tracingConfiguration: undefined }))).violations.length,
      1,
    );
  });
});

describe('sqs/sns', () => {
  const queue = (props: Record<string, unknown>, name = 'task-action') => resource('aws:sqs/queue:Queue', props, name);

  it('sqs-queue-redrive-policy: requires a redrive policy on non-DLQ queues', async () => {
    assert.equal((await run(sqsRedrivePolicy, queue({ name: 'cqrs-dev-task-action' }))).violations.length, 1);
    assert.deepEqual(
      (
        await run(
          sqsRedrivePolicy,
          queue({
            name: 'cqrs-dev-task-action',
            redrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:1:dlq', maxReceiveCount: 5 }),
          }),
        )
      ).violations,
      [],
    );
    // redrive policy built from the DLQ's ARN is unknown at preview: still set
    assert.deepEqual((await run(sqsRedrivePolicy, queue({ redrivePolicy: UNKNOWN_STRING }))).violations, []);
  });

  it('sqs-queue-redrive-policy: DLQs (by name, resource name or role tag) are not applicable', async () => {
    for (const q of [
      queue({ name: 'cqrs-dev-task-action-dlq' }),
      queue({}, 'task-action-DLQ'),
      queue({ tags: { role: 'dlq' } }, 'x'),
    ]) {
      const r = await run(sqsRedrivePolicy, q);
      assert.deepEqual(r.violations, []);
      assert.equal(r.notApplicable.length, 1);
    }
  });

  it('sqs-queue-encrypted', async () => {
    assert.equal((await run(sqsEncrypted, queue({}))).violations.length, 1);
    assert.equal((await run(sqsEncrypted, queue({ sqsManagedSseEnabled: false }))).violations.length, 1);
    assert.deepEqual((await run(sqsEncrypted, queue({ sqsManagedSseEnabled: true }))).violations, []);
    assert.deepEqual((await run(sqsEncrypted, queue({ kmsMasterKeyId: 'alias/aws/sqs' }))).violations, []);
  });

  it('sns-topic-encrypted', async () => {
    assert.equal((await run(snsEncrypted, resource('aws:sns/topic:Topic', {}))).violations.length, 1);
    assert.deepEqual(
      (await run(snsEncrypted, resource('aws:sns/topic:Topic', { kmsMasterKeyId: 'alias/aws/sns' }))).violations,
      [],
    );
  });
});

describe('dynamodb', () => {
  const table = (props: Record<string, unknown>) =>
    resource('aws:dynamodb/table:Table', { name: 'cqrs-dev-commands', ...props });

  it('dynamodb-point-in-time-recovery', async () => {
    assert.equal(dynamodbPointInTimeRecovery.enforcementLevel, 'mandatory');
    assert.equal((await run(dynamodbPointInTimeRecovery, table({}))).violations.length, 1);
    assert.equal(
      (await run(dynamodbPointInTimeRecovery, table({ pointInTimeRecovery: { enabled: false } }))).violations.length,
      1,
    );
    assert.deepEqual(
      (await run(dynamodbPointInTimeRecovery, table({ pointInTimeRecovery: { enabled: true } }))).violations,
      [],
    );
  });

  it('dynamodb-deletion-protection: advisory, not applicable unless the config requires it', async () => {
    assert.equal(dynamodbDeletionProtection.enforcementLevel, 'advisory');
    const r = await run(dynamodbDeletionProtection, table({}));
    assert.deepEqual(r.violations, []);
    assert.match(r.notApplicable[0].reason ?? '', /requireDeletionProtection/);
    const required = await run(dynamodbDeletionProtection, table({}), {
      'dynamodb-deletion-protection': { requireDeletionProtection: true },
    });
    assert.equal(required.violations.length, 1);
    assert.equal(required.violations[0].enforcementLevel, 'advisory');
    assert.deepEqual(
      (
        await run(dynamodbDeletionProtection, table({ deletionProtectionEnabled: true }), {
          'dynamodb-deletion-protection': { requireDeletionProtection: true },
        })
      ).violations,
      [],
    );
  });

  it('the prod policy config makes deletion protection mandatory; dev leaves it off', async () => {
    const load = (f: string) =>
      JSON.parse(fs.readFileSync(path.join(__dirname, '../../policies', f), 'utf8')) as Record<
        string,
        Record<string, unknown>
      >;
    const prod = await run(dynamodbDeletionProtection, table({}), load('config.prod.json'));
    assert.equal(prod.violations.length, 1);
    assert.equal(prod.violations[0].enforcementLevel, 'mandatory');
    assert.deepEqual((await run(dynamodbDeletionProtection, table({}), load('config.dev.json'))).violations, []);
  });
});

describe('log-group-retention', () => {
  const lg = (props: Record<string, unknown>) =>
    resource('aws:cloudwatch/logGroup:LogGroup', { name: '/aws/states/x', ...props });
  it('requires a finite retention', async () => {
    assert.equal((await run(logGroupRetention, lg({}))).violations.length, 1);
    assert.equal((await run(logGroupRetention, lg({ retentionInDays: 0 }))).violations.length, 1);
    assert.deepEqual((await run(logGroupRetention, lg({ retentionInDays: 14 }))).violations, []);
  });
});

describe('event source mappings', () => {
  const STREAM = 'arn:aws:dynamodb:eu-west-1:123456789012:table/cqrs-dev-commands/stream/2024-01-01T00:00:00.000';
  const QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:cqrs-dev-task-action';
  const esm = (props: Record<string, unknown>) =>
    resource('aws:lambda/eventSourceMapping:EventSourceMapping', { functionName: 'fn', ...props });
  const onFailure = { onFailure: { destinationArn: 'arn:aws:sqs:eu-west-1:123456789012:cqrs-dev-stream-dlq' } };

  it('stream-event-source-failure-handling: bounded retries and an on-failure destination', async () => {
    const ok = esm({
      eventSourceArn: STREAM,
      startingPosition: 'LATEST',
      maximumRetryAttempts: 3,
      bisectBatchOnFunctionError: true,
      destinationConfig: onFailure,
    });
    assert.deepEqual((await run(streamFailureHandling, ok)).violations, []);
    assert.equal(
      (await run(streamFailureHandling, esm({ eventSourceArn: STREAM, startingPosition: 'LATEST' }))).violations.length,
      2,
    );
    assert.match(
      messages(
        await run(
          streamFailureHandling,
          esm({ eventSourceArn: STREAM, maximumRetryAttempts: -1, destinationConfig: onFailure }),
        ),
      )[0],
      /infinite/,
    );
    assert.match(
      messages(
        await run(
          streamFailureHandling,
          esm({ eventSourceArn: STREAM, maximumRetryAttempts: 11, destinationConfig: onFailure }),
        ),
      )[0],
      /above the maximum 10/,
    );
  });

  it('stream-event-source-failure-handling: a lowered maxRetryAttempts fails a passing mapping', async () => {
    const r = esm({ eventSourceArn: STREAM, maximumRetryAttempts: 3, destinationConfig: onFailure });
    assert.deepEqual((await run(streamFailureHandling, r)).violations, []);
    assert.equal(
      (await run(streamFailureHandling, r, { 'stream-event-source-failure-handling': { maxRetryAttempts: 2 } }))
        .violations.length,
      1,
    );
  });

  it('classifies a stream by startingPosition when the ARN is unknown at preview', async () => {
    const r = await run(
      streamFailureHandling,
      esm({ eventSourceArn: UNKNOWN_STRING, startingPosition: 'TRIM_HORIZON' }),
    );
    assert.equal(r.violations.length, 2);
    assert.deepEqual((await run(streamFailureHandling, esm({ eventSourceArn: QUEUE }))).violations, []);
  });

  it('sqs-event-source-partial-batch-failures', async () => {
    assert.equal((await run(sqsPartialBatchFailures, esm({ eventSourceArn: QUEUE }))).violations.length, 1);
    assert.deepEqual(
      (
        await run(
          sqsPartialBatchFailures,
          esm({ eventSourceArn: QUEUE, functionResponseTypes: ['ReportBatchItemFailures'] }),
        )
      ).violations,
      [],
    );
    // unknown ARN without startingPosition: the queue of the same stack
    assert.equal((await run(sqsPartialBatchFailures, esm({ eventSourceArn: pulumi.unknown }))).violations.length, 1);
    const stream = await run(sqsPartialBatchFailures, esm({ eventSourceArn: STREAM, startingPosition: 'LATEST' }));
    assert.deepEqual(stream.violations, []);
    assert.equal(stream.notApplicable.length, 1);
  });
});
