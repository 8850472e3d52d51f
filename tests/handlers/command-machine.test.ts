/**
 * The command machine from components/workflows/command-definition.ts executed end to end
 * with aws-local-stepfunctions and the real command-step handler against DynamoDB Local.
 * SendTaskSuccess/SendTaskFailure (aws-sdk-client-mock) resume the matching local wait.
 */
import { strict as assert } from 'node:assert';
import { ExecutionError } from 'aws-local-stepfunctions';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import { handler as commandStep } from '../../handlers/command-step';
import { waitHooks } from '../../handlers/command/steps';
import { executionName } from '../../core/keys';
import {
  ARN,
  deleteItem,
  getItem,
  installMocks,
  putItem,
  queryPk,
  setupHandlerEnv,
  uniq,
  type Ctx,
  type Mocks,
} from './_support/env';
import { LocalSfn } from './_support/local-sfn';
import { until } from './_support/wait';

type Row = Record<string, unknown>;
const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';
const SEARCH_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:search-sync';

describe('command machine end to end (aws-local-stepfunctions + real command-step + DynamoDB Local)', function () {
  this.timeout(90000);
  let ctx: Ctx;
  let mocks: Mocks;
  let T: Ctx['db']['tables'];
  let sfn: LocalSfn;
  let searchSync: (payload: Row) => Promise<unknown>;

  before(async () => {
    ctx = await setupHandlerEnv();
    T = ctx.db.tables;
  });

  /** (Re)build the machine; the race tests use a long heartbeat so a slow CI cannot turn the callback into a re-check. */
  function useMachine(waitHeartbeatSeconds: number): void {
    const definition = buildCommandDefinition({
      commandStepArn: COMMAND_STEP_ARN,
      syncTargets: [{ name: 'search', functionArn: SEARCH_ARN }],
      waitTimeoutSeconds: 30,
      waitHeartbeatSeconds,
      syncMaxConcurrency: 2,
    }) as unknown as StateMachineDefinition;
    sfn = new LocalSfn(definition, (fn) => {
      if (fn === COMMAND_STEP_ARN) return (payload) => commandStep(payload as never);
      if (fn === SEARCH_ARN) return (payload) => searchSync(payload);
      throw new Error(`no local function for ${fn}`);
    });
  }

  beforeEach(() => {
    process.env.COMMAND_MAX_WAIT_SECONDS = '3600';
    process.env.COMMAND_TTL_SECONDS = '86400';
    process.env.SYNC_TARGETS = '["search"]';
    searchSync = async (payload) => ({ target: (payload.input as Row).target, status: 'FINISHED' });
    useMachine(1);
    mocks = installMocks({
      onTaskSuccess: (token, output) => sfn.succeed(token, output),
      onTaskFailure: (token, error, cause) => sfn.fail(token, error, cause),
    });
  });

  afterEach(() => {
    mocks.restore();
    delete waitHooks.beforeTokenStore;
    delete waitHooks.afterTokenStore;
  });

  async function publish(pk: string, code: string, version: number): Promise<{ pk: string; sk: string }> {
    const key = { pk, sk: `${code}@${version}` };
    await putItem(T.commands, { ...key, code, version, attributes: { v: version } });
    return key;
  }
  function start(key: { pk: string; sk: string }) {
    return sfn.run({ pk: key.pk, sk: key.sk }, executionName('commands', key.pk, key.sk)).result;
  }
  const row = (key: { pk: string; sk: string }) => getItem(T.commands, key.pk, key.sk);
  const failedWith = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ExecutionError, String(err));
      const cause = (err as { cause?: { name?: string } }).cause;
      return `${cause?.name}: ${err.message}`;
    }
    assert.fail('execution should have failed');
  };

  it('in-order versions: each applies, no waiting, data at the last version', async () => {
    const pk = uniq('TENANT');
    const k1 = await publish(pk, 'ORDER', 1);
    const out1 = (await start(k1)) as Row;
    // one result per target, in the order of out1.targets (a consumer's own return value is not carried)
    assert.deepEqual(out1.sync, [{ target: 'data', status: 'FINISHED' }, { status: 'FINISHED' }]);
    assert.deepEqual((await row(k1))?.syncStatus, { data: 'FINISHED', search: 'FINISHED' });
    const k2 = await publish(pk, 'ORDER', 2);
    await start(k2);
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
    for (const k of [k1, k2]) {
      const r = await row(k);
      assert.equal(r?.result, 'COMPLETED');
      assert.equal(r?.status, 'finish:FINISHED');
      assert.ok(await getItem(T.history, k.pk, k.sk));
    }
    assert.equal(typeof (await row(k1))?.ttl, 'number', 'superseded version got a TTL');
    assert.equal(sfn.sent.length, 0, 'nobody waited');
  });

  it('version 2 arriving before version 1 waits, then is resumed by version 1', async () => {
    // A long heartbeat: the callback is under test here (the re-check has its own tests),
    // and a slow machine must not turn it into a heartbeat re-check.
    useMachine(20);
    const pk = uniq('TENANT');
    const k2 = await publish(pk, 'ORDER', 2);
    const run2 = start(k2);
    await until('v2 to store its token', async () => (await row(k2))?.taskToken);
    const k1 = await publish(pk, 'ORDER', 1);
    await start(k1);
    await run2;
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
    const r2 = await row(k2);
    assert.equal(r2?.result, 'COMPLETED');
    assert.ok(['finish:1', 'self'].includes(String(r2?.resumedBy)), String(r2?.resumedBy));
    assert.ok(
      sfn.sent.every((s) => !s.stale || s.kind === 'success'),
      'no failure to a dead token',
    );
  });

  it('five versions started at once in reverse order all complete, in version order', async () => {
    const pk = uniq('TENANT');
    const keys = [];
    for (let v = 1; v <= 5; v++) keys.push(await publish(pk, 'ORDER', v));
    await Promise.all([...keys].reverse().map((k) => start(k)));
    for (const k of keys) assert.equal((await row(k))?.result, 'COMPLETED', k.sk);
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 5);
    const applied = await Promise.all(keys.map((k) => getItem(T.history, k.pk, k.sk)));
    const order = applied.map((h) => String(h?.appliedAt));
    assert.deepEqual([...order].sort(), order, 'history applied in version order');
    assert.equal(sfn.waitingTokens().length, 0);
  });

  it('a conflict (-1) ends in mark_failed → fail, with the reason on the row and an alarm', async () => {
    const pk = uniq('TENANT');
    await putItem(T.data, { pk, sk: 'ORDER', version: 5 });
    const k3 = await publish(pk, 'ORDER', 3);
    const message = await failedWith(start(k3));
    assert.match(message, /CommandFailed/);
    const r = await row(k3);
    assert.equal(r?.status, 'FAILED');
    assert.equal(r?.result, 'FAILED');
    assert.match(String(r?.failedReason), /version 3 <= data version 5/);
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 5, 'read model untouched');
    assert.ok(
      mocks.published.some(
        (p) => p.topic === ARN.alarmTopic && p.body.kind === 'command-failed' && p.body.sk === k3.sk,
      ),
    );
  });

  for (const hook of ['beforeTokenStore', 'afterTokenStore'] as const) {
    it(`the race (${hook}): N finishes around N+1's token write and its re-check — none stuck, both COMPLETED`, async () => {
      useMachine(20);
      const pk = uniq('TENANT');
      const k1 = await publish(pk, 'ORDER', 1);
      const k2 = await publish(pk, 'ORDER', 2);
      let gateOpen!: () => void;
      const gate = new Promise<void>((r) => (gateOpen = r));
      let run1: Promise<unknown> | undefined;
      waitHooks[hook] = async (key) => {
        if (key.sk !== k2.sk) return;
        delete waitHooks[hook];
        run1 = start(k1); // N runs to completion right here
        await run1;
        gateOpen();
      };
      const run2 = start(k2);
      await gate;
      await Promise.all([run1, run2]);
      for (const k of [k1, k2]) assert.equal((await row(k))?.result, 'COMPLETED');
      assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
      const resumes = sfn.sent.filter(
        (s) => s.kind === 'success' && s.execution === executionName('commands', k2.pk, k2.sk) && !s.stale,
      );
      assert.equal(resumes.length, 1, 'resumed exactly once');
      assert.equal(sfn.waitingTokens().length, 0, 'nothing left waiting');
      assert.equal((await row(k2))?.resumedBy, hook === 'beforeTokenStore' ? 'self' : 'finish:1');
    });
  }

  it('a failing version releases the next one (mark_failed resumes it) instead of leaving it waiting', async () => {
    const pk = uniq('TENANT');
    searchSync = async (payload) => {
      const input = payload.input as Row;
      if (input.sk === 'ORDER@1') throw Object.assign(new Error('search index unavailable'), { name: 'SearchDown' });
      return { target: input.target, status: 'FINISHED' };
    };
    const k2 = await publish(pk, 'ORDER', 2);
    const run2 = start(k2);
    await until('v2 to wait', async () => (await row(k2))?.taskToken);
    const k1 = await publish(pk, 'ORDER', 1);
    assert.match(await failedWith(start(k1)), /CommandFailed/);
    await run2;
    const r1 = await row(k1);
    assert.equal(r1?.result, 'FAILED');
    assert.match(String(r1?.failedReason), /SearchDown/);
    assert.equal((await row(k2))?.result, 'COMPLETED');
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
  });

  it('an endless wait is bounded: heartbeat re-checks, then mark_failed after COMMAND_MAX_WAIT_SECONDS', async () => {
    process.env.COMMAND_MAX_WAIT_SECONDS = '2';
    const pk = uniq('TENANT');
    const k3 = await publish(pk, 'ORDER', 3); // versions 1 and 2 never arrive
    const started = Date.now();
    assert.match(await failedWith(start(k3)), /CommandFailed/);
    assert.ok(Date.now() - started >= 2000);
    const r = await row(k3);
    assert.equal(r?.result, 'FAILED');
    assert.match(String(r?.failedReason), /gave up after waiting \d+s \(COMMAND_MAX_WAIT_SECONDS=2\) for version 2/);
    assert.equal(r?.taskToken, undefined);
    assert.equal(sfn.waitingTokens().length, 0);
  });
  it('N+1 waits until N has ended in every sync target, not only until the data row holds N', async () => {
    useMachine(20);
    const pk = uniq('TENANT');
    const events: string[] = [];
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    searchSync = async (payload) => {
      const input = payload.input as Row;
      events.push(`start ${input.sk}`);
      if (input.sk === 'ORDER@1') await gate;
      events.push(`end ${input.sk}`);
      return { target: input.target, status: 'FINISHED' };
    };
    const k1 = await publish(pk, 'ORDER', 1);
    const run1 = start(k1);
    try {
      await until(
        'v1 in data while its search sync still runs',
        async () => (await getItem(T.data, pk, 'ORDER'))?.version === 1 && events.includes('start ORDER@1'),
      );
      const k2 = await publish(pk, 'ORDER', 2);
      const run2 = start(k2);
      await until(
        'v2 to wait (or to reach its own search sync)',
        async () => (await row(k2))?.taskToken || events.includes('start ORDER@2'),
      );
      assert.ok(!events.includes('start ORDER@2'), 'v2 must not overtake v1 in the search target');
      openGate();
      await Promise.all([run1, run2]);
      assert.deepEqual(events, ['start ORDER@1', 'end ORDER@1', 'start ORDER@2', 'end ORDER@2']);
      // v1's release and v2's own re-check after its token write race; exactly one resumes it
      assert.ok(['finish:1', 'self'].includes(String((await row(k2))?.resumedBy)));
      assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
    } finally {
      openGate();
    }
  });

  it('finish recorded COMPLETED but could not resume N+1: mark_failed resumes it at once and the row says why the execution failed', async () => {
    useMachine(20); // the heartbeat re-check cannot be what moves v2
    mocks.restore();
    let successCalls = 0;
    mocks = installMocks({
      onTaskSuccess: (token, output) => {
        if (successCalls++ === 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        sfn.succeed(token, output);
      },
      onTaskFailure: (token, error, cause) => sfn.fail(token, error, cause),
    });
    const pk = uniq('TENANT');
    const k2 = await publish(pk, 'ORDER', 2);
    const run2 = start(k2);
    await until('v2 to wait', async () => (await row(k2))?.taskToken);
    const k1 = await publish(pk, 'ORDER', 1);
    const started = Date.now();
    assert.match(await failedWith(start(k1)), /CommandFailed/);
    await run2;
    assert.ok(Date.now() - started < 15000, 'v2 moved before its 20 s heartbeat');
    const r1 = await row(k1);
    assert.equal(r1?.result, 'COMPLETED');
    assert.match(String(r1?.failedAfterCompletion), /ThrottlingException: Rate exceeded/);
    assert.equal((await row(k2))?.resumedBy, 'mark_failed:1');
    assert.equal((await row(k2))?.result, 'COMPLETED');
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
    assert.ok(
      mocks.published.some((p) => p.body.kind === 'command-failed' && p.body.sk === k1.sk && p.body.completed === true),
    );
  });

  it('failed versions above data.version get no TTL, so their expiry cannot strand later versions', async () => {
    process.env.COMMAND_MAX_WAIT_SECONDS = '2';
    const pk = uniq('TENANT');
    await start(await publish(pk, 'ORDER', 1));
    // a broken SYNC_TARGETS makes transform_data fail: v2 and v3 fail after set_ttl_command, before any sync
    process.env.SYNC_TARGETS = 'not json';
    for (const v of [2, 3]) assert.match(await failedWith(start(await publish(pk, 'ORDER', v))), /CommandFailed/);
    process.env.SYNC_TARGETS = '["search"]';
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 1);
    // the TTL passes: DynamoDB deletes every row that has one
    for (const r of await queryPk(T.commands, pk))
      if (r.ttl !== undefined) await deleteItem(T.commands, pk, String(r.sk));
    const k4 = await publish(pk, 'ORDER', 4);
    await start(k4);
    assert.equal((await row(k4))?.result, 'COMPLETED');
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 4);
  });
});
