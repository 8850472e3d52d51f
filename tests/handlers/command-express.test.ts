/**
 * The EXPRESS command path, step by step on DynamoDB Local (the chaos suite drives it under
 * faults; here each rule is pinned down on its own): the sync lease of transform_data, what
 * mark_failed waits out after an EXPRESS run, the quiet end of a duplicate run, the router
 * running a version and handing a waiting one to the command-wait machine, run_command, and
 * execution-watch ending the versions of a commands stream batch the router gave up on (read
 * back from DynamoDB Local's real stream).
 */
import { strict as assert } from 'node:assert';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, StartSyncExecutionCommand } from '@aws-sdk/client-sfn';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as executionWatch } from '../../handlers/execution-watch';
import type { MiddlewareStack } from '@smithy/types';
import { evaluateVersion } from '../../handlers/command/model';
import { ddb } from '../../handlers/shared/aws/dynamodb';
import { dynamodbStreams, resetDynamoDbStreamsClient } from '../../handlers/shared/aws/dynamodb-streams';
import { executionName } from '../../core/keys';
import { publishCommandWith } from '../../core/commands';
import { insertRecord } from './_support/stream-records';
import { ARN, getItem, putItem, stepEvent, uniq, useHandlerEnv } from './_support/env';

type Row = Record<string, unknown>;
const WAIT_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command-wait';
const RUN_A = 'arn:aws:states:us-east-1:123456789012:express:cqrs-test-command:a:1111';
const RUN_B = 'arn:aws:states:us-east-1:123456789012:express:cqrs-test-command:b:2222';

/** A step event of an EXPRESS run `runId`. */
function runEvent(state: string, input: unknown, runId: string) {
  const e = stepEvent(state, input);
  return { ...e, context: { ...e.context, Execution: { ...e.context.Execution, Id: runId } } };
}

describe('EXPRESS command path (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();
  const saved: Record<string, string | undefined> = {};

  beforeEach(() => {
    for (const k of ['COMMAND_PATH', 'COMMAND_WAIT_STATE_MACHINE_ARN', 'COMMAND_RUN_TIMEOUT_SECONDS', 'SYNC_TARGETS'])
      saved[k] = process.env[k];
    Object.assign(process.env, {
      COMMAND_PATH: 'EXPRESS',
      COMMAND_WAIT_STATE_MACHINE_ARN: WAIT_ARN,
      COMMAND_RUN_TIMEOUT_SECONDS: '300',
      SYNC_TARGETS: '["search"]',
      SYNC_CALL_TIMEOUTS: '{"data":60,"search":30}',
    });
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.SYNC_CALL_TIMEOUTS;
  });

  async function command(pk: string, version: number, extra: Row = {}): Promise<{ pk: string; sk: string }> {
    const sk = `A@${version}`;
    await putItem(env.tables.commands, { pk, sk, code: 'A', version, attributes: { v: version }, ...extra });
    return { pk, sk };
  }
  const step = (state: string, input: unknown, runId = RUN_A) => commandStep(runEvent(state, input, runId) as never);
  /** mark_failed's input after a Map whose data item finished and whose search item ended as `item`. */
  const searchFailed = (k: { pk: string; sk: string }, item: Row) => ({
    ...k,
    targets: [{ target: 'data' }, { target: 'search' }],
    sync: [{ target: 'data', status: 'FINISHED' }, item],
    error: { Error: 'SyncTargetFailed', Cause: '1 of 2 sync target(s) failed' },
  });

  /** Version 1 whose run A's lease has lapsed and was taken over by run B (version 2 behind it). */
  async function takenOver(): Promise<{ pk: string; k: { pk: string; sk: string }; lapsed: number }> {
    const pk = uniq();
    const k = await command(pk, 1);
    await command(pk, 2, { taskToken: 'token-2', waitingSince: new Date().toISOString() });
    const lapsed = Math.floor(Date.now() / 1000) - 5;
    await putItem(env.tables.commands, {
      ...(await getItem(env.tables.commands, k.pk, k.sk)),
      syncStartedAt: new Date().toISOString(),
      syncRunId: RUN_A,
      syncCallsStartBy: lapsed,
    });
    await step('transform_data', k, RUN_B);
    return { pk, k, lapsed };
  }

  describe('the sync lease (transform_data)', () => {
    it('a second run of the same version holds off while the first may still call targets', async () => {
      const k = await command(uniq(), 1);
      const before = Math.floor(Date.now() / 1000);
      const out = (await step('transform_data', k)) as Row;
      assert.deepEqual(out.targets, [{ target: 'data' }, { target: 'search' }]);
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.syncRunId, RUN_A);
      assert.ok(Number(row.syncCallsStartBy) >= before + 300, 'no call of run A starts after its run timeout');
      // the same run again (a retried step) keeps its lease
      await step('transform_data', k);
      await assert.rejects(step('transform_data', k, RUN_B), { name: 'SyncHeldByAnotherRun' });
      const after = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(after.syncRunId, RUN_A);
      assert.equal(after.status, undefined, 'a held sync is flow control: no FAILED status, no alarm');
      assert.equal(env.mocks.published.length, 0);
    });

    it('takes a lapsed lease over and makes the successor wait out the old holder’s calls', async () => {
      const { pk, k, lapsed } = await takenOver();
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.syncRunId, RUN_B);
      // run A's calls started before `lapsed`; none runs longer than a cold start's 10 s init + 60 s (data) + 2 s
      assert.equal(row.callsEndBy, lapsed + 10 + 60 + 2);
      // run B completes the version; version 2 still waits for run A's calls
      await step('sync_data', { ...k, target: 'data' }, RUN_B);
      await step(
        'finish',
        { ...k, targets: [{ target: 'data' }], sync: [{ target: 'data', status: 'FINISHED' }] },
        RUN_B,
      );
      assert.equal((await getItem(env.tables.commands, k.pk, k.sk))?.result, 'COMPLETED');
      const check = await evaluateVersion(pk, 'A', 2);
      assert.equal(check.result, 1);
      assert.match(String(check.reason), /may run until/);
    });

    it('mark_failed after an EXPRESS run without a sync result waits out every call its holder could still start', async () => {
      const k = await command(uniq(), 1);
      await step('transform_data', k);
      const startBy = Number((await getItem(env.tables.commands, k.pk, k.sk))?.syncCallsStartBy);
      await step('mark_failed', { ...k, reason: 'the stream router gave up on this command' });
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, 'FAILED');
      assert.deepEqual(row.syncStatus, { data: 'UNKNOWN', search: 'UNKNOWN' });
      assert.ok(Number(row.callsEndBy) >= startBy + 10 + 60 + 2, `${String(row.callsEndBy)} < ${startBy + 72}`);
    });
  });

  describe('the lease against a concurrent or late failure record', () => {
    /**
     * Runs `meanwhile` once, right after the first GetItem of the handlers' client that
     * `armed` lets through has answered: the moment between a step's read and its write.
     */
    function afterFirstRead(meanwhile: () => Promise<unknown>): { remove: () => void } {
      let done = false;
      const name = `test-interleave-${uniq()}`;
      const stack = ddb().middlewareStack as unknown as MiddlewareStack<object, object>;
      stack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          if (!done && (context as { commandName?: string }).commandName === 'GetItemCommand') {
            done = true;
            await meanwhile();
          }
          return result;
        },
        { step: 'initialize', name, priority: 'high' },
      );
      return { remove: () => stack.remove(name) };
    }

    it('mark_failed of one run while a duplicate run claims the sync: the successor waits out the claimer’s calls', async () => {
      const pk = uniq();
      const k = await command(pk, 1);
      await command(pk, 2);
      // run A failed before the sync (history_copy) and records it; run B claims the sync in between
      const hook = afterFirstRead(() => step('transform_data', k, RUN_B));
      try {
        await step('mark_failed', { ...k, error: { Error: 'Error', Cause: 'history_copy failed' } });
      } finally {
        hook.remove();
      }
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, 'FAILED');
      assert.equal(row.syncRunId, RUN_B, 'run B holds the sync and goes on to call the targets');
      assert.ok(
        Number(row.callsEndBy) >= Number(row.syncCallsStartBy) + 10 + 60 + 2,
        `callsEndBy ${String(row.callsEndBy)} does not cover run B's calls (start by ${String(row.syncCallsStartBy)})`,
      );
      assert.deepEqual(row.syncStatus, { data: 'UNKNOWN', search: 'UNKNOWN' });
      assert.equal((await evaluateVersion(pk, 'A', 2)).result, 1, 'version 2 waits');
    });

    const allFinished = (k: { pk: string; sk: string }) => ({
      ...k,
      targets: [{ target: 'data' }, { target: 'search' }],
      sync: [{ target: 'data', status: 'FINISHED' }, { status: 'FINISHED' }],
    });

    it('a taken-over holder’s late finish neither completes the version nor releases the successor', async () => {
      const { k } = await takenOver();
      // run A timed out with its finish in flight; that Lambda answers after run B took over
      await assert.rejects(step('finish', allFinished(k), RUN_A), { name: 'SyncHeldByAnotherRun' });
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, undefined, 'run B, which holds the sync, ends the version');
      assert.deepEqual(env.mocks.successes, [], 'version 2 is not released while run B may call the targets');
      // run B ends it after its own calls returned
      await step('finish', allFinished(k), RUN_B);
      assert.equal((await getItem(env.tables.commands, k.pk, k.sk))?.result, 'COMPLETED');
    });

    it('a taken-over holder’s late mark_failed makes the successor wait out the new holder’s calls', async () => {
      const { k } = await takenOver();
      const startByB = Number((await getItem(env.tables.commands, k.pk, k.sk))?.syncCallsStartBy);
      await step('mark_failed', searchFailed(k, { status: 'FAILED', error: 'Error: boom' }), RUN_A);
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, 'FAILED');
      assert.ok(
        Number(row.callsEndBy) >= startByB + 10 + 60 + 2,
        `callsEndBy ${String(row.callsEndBy)} does not cover run B's calls (start by ${startByB})`,
      );
      assert.deepEqual(row.syncStatus, { data: 'UNKNOWN', search: 'UNKNOWN' }, 'what run B did is not known');
    });

    it('the holder’s mark_failed keeps the wait for a taken-over run’s calls when its own end sooner', async () => {
      const { k, lapsed } = await takenOver();
      // run B's search call came back with a service error (30 s timeout): sooner than run A's data call (60 s)
      await step(
        'mark_failed',
        searchFailed(k, { status: 'FAILED', error: 'Lambda.ServiceException: x', mayStillRun: true }),
        RUN_B,
      );
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, 'FAILED');
      assert.deepEqual(row.syncStatus, { data: 'FINISHED', search: 'FAILED' });
      assert.ok(
        Number(row.callsEndBy) >= lapsed + 10 + 60 + 2,
        `callsEndBy ${String(row.callsEndBy)} lost run A's calls (until ${lapsed + 72})`,
      );
    });
  });

  describe('how long a call may run', () => {
    it('counts a cold start’s init (up to 10 s, outside the function timeout) before the timeout', async () => {
      const pk = uniq();
      const k = await command(pk, 1);
      await command(pk, 2);
      await step('transform_data', k);
      const before = Math.floor(Date.now() / 1000);
      // the search call (30 s timeout) came back with a service error: it may have started just now, cold
      await step(
        'mark_failed',
        searchFailed(k, { status: 'FAILED', error: 'Lambda.ServiceException: x', mayStillRun: true }),
      );
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.ok(
        Number(row.callsEndBy) >= before + 10 + 30 + 2,
        `callsEndBy ${String(row.callsEndBy)}: a handler that starts after a 10 s init may run until ${before + 42}`,
      );
    });
  });

  describe('a duplicate run', () => {
    it('finds its version ended: no failure recorded, no alarm, and already_ended releases the successor again', async () => {
      const pk = uniq();
      const k1 = await command(pk, 1, { result: 'COMPLETED' });
      await command(pk, 2, { taskToken: 'token-2', waitingSince: new Date().toISOString() });
      await assert.rejects(step('check_version', k1), { name: 'VersionAlreadyEnded' });
      assert.equal((await getItem(env.tables.commands, k1.pk, k1.sk))?.status, undefined);
      assert.equal(env.mocks.published.length, 0, 'no alarm for a duplicate');
      const out = (await step('already_ended', k1)) as Row;
      assert.equal(out.outcome, 'ENDED');
      assert.deepEqual(
        env.mocks.successes.map((s) => s.taskToken),
        ['token-2'],
      );
    });

    it('a redelivered record of a version that waits in its command-wait execution is left to it', async () => {
      const pk = uniq();
      await command(pk, 1);
      const k2 = await command(pk, 2, { waitingSince: new Date().toISOString() });
      const out = (await step('check_version', k2)) as Row;
      assert.equal(out.result, 1);
      assert.match(String(out.reason), /command-wait execution/);
    });
  });

  describe('the stream router and run_command', () => {
    const record = (image: Row, seq: string) => insertRecord(env.tables.commands, image, seq);
    const answer = (outcome: string) => ({
      executionArn: RUN_A,
      status: 'SUCCEEDED' as const,
      output: JSON.stringify({ outcome }),
    });

    it('runs each version on the EXPRESS machine and hands one that must wait to command-wait under its deterministic name', async () => {
      const pk = uniq();
      const runs: Array<{ stateMachineArn?: string; input?: string }> = [];
      env.mocks.sfn.on(StartSyncExecutionCommand).callsFake((input: { stateMachineArn: string; input: string }) => {
        runs.push(input);
        return JSON.parse(input.input).sk === 'A@2' ? answer('MUST_WAIT') : answer('COMPLETED');
      });
      const res = await streamRouter({
        Records: [
          record({ pk, sk: 'A@1', code: 'A', version: 1 }, '1'),
          record({ pk, sk: 'A@2', code: 'A', version: 2 }, '2'),
          record({ pk, sk: 'A@1', code: 'A', version: 1 }, '3'), // redelivered in the same batch: run once
        ],
      });
      assert.deepEqual(res.batchItemFailures, []);
      assert.deepEqual(
        runs
          .map((r) => [r.stateMachineArn, JSON.parse(String(r.input))])
          .sort((a, b) => String(a[1].sk).localeCompare(String(b[1].sk))),
        [
          [ARN.command, { pk, sk: 'A@1' }],
          [ARN.command, { pk, sk: 'A@2' }],
        ],
      );
      assert.deepEqual(env.mocks.started, [
        { stateMachineArn: WAIT_ARN, name: executionName('commands', pk, 'A@2'), input: { pk, sk: 'A@2' } },
      ]);
    });

    it('reports a run that failed or timed out, so the stream retries it (the first failed record in stream order)', async () => {
      const pk = uniq();
      env.mocks.sfn
        .on(StartSyncExecutionCommand)
        .callsFake((input: { input: string }) =>
          JSON.parse(input.input).sk === 'A@2'
            ? { executionArn: RUN_B, status: 'TIMED_OUT' as const, error: 'States.Timeout' }
            : answer('COMPLETED'),
        );
      const res = await streamRouter({
        Records: [
          record({ pk, sk: 'A@1', code: 'A', version: 1 }, '11'),
          record({ pk, sk: 'A@2', code: 'A', version: 2 }, '12'),
          record({ pk, sk: 'A@3', code: 'A', version: 3 }, '13'),
        ],
      });
      assert.deepEqual(res.batchItemFailures, [{ itemIdentifier: '12' }]);
    });

    it('waits for another run holding the sync to end the version (HELD), instead of failing the record', async () => {
      const k = await command(uniq(), 1, {
        syncRunId: RUN_B,
        syncCallsStartBy: Math.floor(Date.now() / 1000) + 60,
      });
      // the run finds the sync held by run B, which ends the version while the router looks on
      const runs: string[] = [];
      env.mocks.sfn.on(StartSyncExecutionCommand).callsFake(async (input: { input: string }) => {
        runs.push(String(input.input));
        if (runs.length > 1) return answer('ENDED');
        await putItem(env.tables.commands, { pk: k.pk, sk: k.sk, code: 'A', version: 1, result: 'COMPLETED' });
        return answer('HELD');
      });
      const res = await streamRouter(
        { Records: [record({ ...k, code: 'A', version: 1 }, '21')] },
        { getRemainingTimeInMillis: () => 900_000 },
      );
      assert.deepEqual(res.batchItemFailures, []);
      assert.equal((await getItem(env.tables.commands, k.pk, k.sk))?.result, 'COMPLETED');
      // B may have died between its result and its release: one more run, whose already_ended
      // releases the successor (idempotent), and no more
      assert.deepEqual(
        runs.map((r) => JSON.parse(r) as unknown),
        [k, k],
      );
    });

    it('run_command runs a version that waited; one that must wait again goes back to wait_prev_command', async () => {
      const k = { pk: uniq(), sk: 'A@2' };
      const inputs: unknown[] = [];
      env.mocks.sfn
        .on(StartSyncExecutionCommand)
        .callsFake((input: { input: string }) => (inputs.push(JSON.parse(input.input)), answer('COMPLETED')));
      assert.deepEqual(await streamRouter(stepEvent('run_command', k) as never), { ...k, outcome: 'COMPLETED' });
      assert.deepEqual(inputs, [{ ...k, waited: true }], 'the run knows it follows a wait');
      env.mocks.sfn.on(StartSyncExecutionCommand).resolves(answer('MUST_WAIT'));
      await assert.rejects(streamRouter(stepEvent('run_command', k) as never), { name: 'VersionMustWait' });
    });
  });

  describe('execution-watch', () => {
    it('fails a version whose command-wait execution was stopped, like one of the command machine', async () => {
      const pk = uniq();
      const k = await command(pk, 1, { waitingSince: new Date().toISOString(), taskToken: 't' });
      const name = executionName('commands', k.pk, k.sk);
      const event = {
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        detail: {
          executionArn: `${WAIT_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
          stateMachineArn: WAIT_ARN,
          name,
          status: 'ABORTED',
          input: JSON.stringify(k),
        },
      };
      const res = await executionWatch({ Records: [{ messageId: 'm1', body: JSON.stringify(event) }] });
      assert.deepEqual(res.batchItemFailures, []);
      const row = (await getItem(env.tables.commands, k.pk, k.sk))!;
      assert.equal(row.result, 'FAILED');
      assert.match(String(row.failedReason), /command-wait machine ended ABORTED/);
    });

    /**
     * Publishes versions 1–3 of a new entity through DynamoDB Local (its real stream), lets
     * `prepare` shape their rows, and hands execution-watch the on-failure record Lambda would
     * send for a batch of the three INSERTs.
     */
    async function giveUpOnBatch(prepare: (pk: string) => Promise<void>): Promise<{ pk: string; res: unknown }> {
      const local = env.ctx.db;
      process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS = local.endpoint;
      resetDynamoDbStreamsClient();
      const streams = new DynamoDBStreamsClient({
        endpoint: local.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      try {
        const table = await local.client.send(new DescribeTableCommand({ TableName: env.tables.commands }));
        const streamArn = String(table.Table?.LatestStreamArn);
        const shards =
          (await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))).StreamDescription?.Shards ?? [];
        const open = shards.filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
        const iterators = await Promise.all(
          open.map(async (s) => ({
            shardId: String(s.ShardId),
            iterator: (
              await streams.send(
                new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: s.ShardId, ShardIteratorType: 'LATEST' }),
              )
            ).ShardIterator,
          })),
        );
        const pk = uniq();
        const deps = { dynamodb: env.ctx.doc, commandsTable: env.tables.commands, dataTable: env.tables.data };
        for (const version of [1, 2, 3])
          await publishCommandWith(deps, { pk, code: 'A', version, attributes: { v: version } });
        await prepare(pk);
        // where our INSERTs are in the stream
        const ours: Array<{ shardId: string; seq: string }> = [];
        for (const { shardId, iterator } of iterators) {
          const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          for (const r of page.Records ?? [])
            if (r.eventName === 'INSERT' && r.dynamodb?.Keys?.pk?.S === pk)
              ours.push({ shardId, seq: String(r.dynamodb.SequenceNumber) });
        }
        assert.equal(ours.length, 3, 'the three INSERTs are in the stream');
        const failure = {
          requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
          responseContext: { functionError: 'Unhandled' },
          timestamp: new Date().toISOString(),
          DDBStreamBatchInfo: {
            shardId: ours[0].shardId,
            startSequenceNumber: ours[0].seq,
            endSequenceNumber: ours[2].seq,
            streamArn,
            batchSize: 3,
          },
        };
        const res = await executionWatch({ Records: [{ messageId: 'f1', body: JSON.stringify(failure) }] });
        return { pk, res };
      } finally {
        streams.destroy();
        delete process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS;
        resetDynamoDbStreamsClient();
      }
    }

    it('ends the versions of a commands stream batch the router gave up on, read back from the stream', async () => {
      // three versions the router gave up on: one nobody ended, one that ended, one still waiting
      const { pk, res } = await giveUpOnBatch(async (pk) => {
        await putItem(env.tables.commands, { ...(await getItem(env.tables.commands, pk, 'A@2')), result: 'COMPLETED' });
        await putItem(env.tables.commands, {
          ...(await getItem(env.tables.commands, pk, 'A@3')),
          waitingSince: new Date().toISOString(),
        });
        env.mocks.sfn
          .on(DescribeExecutionCommand)
          .callsFake((input: { executionArn: string }) =>
            input.executionArn.endsWith(executionName('commands', pk, 'A@3'))
              ? { status: 'RUNNING' }
              : { status: 'SUCCEEDED' },
          );
      });
      assert.deepEqual(res, { batchItemFailures: [] });
      const v1 = (await getItem(env.tables.commands, pk, 'A@1'))!;
      assert.equal(v1.result, 'FAILED');
      assert.match(
        String(v1.failedReason),
        /the stream router gave up on this command \(RetryAttemptsExhausted, 4 attempts/,
      );
      assert.equal((await getItem(env.tables.commands, pk, 'A@2'))?.result, 'COMPLETED', 'an ended version stays');
      assert.equal(
        (await getItem(env.tables.commands, pk, 'A@3'))?.result,
        undefined,
        'a waiting one is left to its execution',
      );
      assert.ok(
        env.mocks.published.some(
          (p) => p.topic === ARN.alarmTopic && p.body.kind === 'command-failed' && p.body.sk === 'A@1',
        ),
        'alarmed',
      );
    });

    it('reads the whole batch back even when the stream answers a page without records before its end', async () => {
      // DynamoDB Streams may answer GetRecords with no records while more follow (pages of at
      // most 1 MB, parts of a shard without records): one record per page here, and one empty page
      let pages = 0;
      const name = `test-stream-pages-${uniq()}`;
      const { pk, res } = await giveUpOnBatch(async () => {
        const stack = dynamodbStreams().middlewareStack as unknown as MiddlewareStack<object, object>;
        stack.add(
          (next, context) => async (args) => {
            if ((context as { commandName?: string }).commandName !== 'GetRecordsCommand') return next(args);
            const input = (args as { input: { Limit?: number; ShardIterator?: string } }).input;
            input.Limit = 1;
            if (++pages === 2)
              return { output: { Records: [], NextShardIterator: input.ShardIterator, $metadata: {} }, response: {} };
            return next(args);
          },
          { step: 'initialize', name, priority: 'high' },
        );
        env.mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED' });
      });
      assert.deepEqual(res, { batchItemFailures: [] });
      for (const sk of ['A@1', 'A@2', 'A@3'])
        assert.equal((await getItem(env.tables.commands, pk, sk))?.result, 'FAILED', `${sk} is ended, not lost`);
      assert.ok(pages > 3, 'the batch was read over several pages');
    });
  });
});
