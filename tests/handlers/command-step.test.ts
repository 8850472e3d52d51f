import { strict as assert } from 'node:assert';
import { handler } from '../../handlers/command-step';
import { waitHooks } from '../../handlers/command/steps';
import {
  ARN,
  deleteItem,
  getItem,
  installMocks,
  putItem,
  queryPk,
  setupHandlerEnv,
  stepEvent,
  uniq,
  type Ctx,
  type Mocks,
} from './_support/env';

type Row = Record<string, unknown>;

describe('command-step handler (DynamoDB Local)', function () {
  this.timeout(60000);
  let ctx: Ctx;
  let mocks: Mocks;
  let T: Ctx['db']['tables'];

  before(async () => {
    ctx = await setupHandlerEnv();
    T = ctx.db.tables;
  });
  beforeEach(() => {
    mocks = installMocks();
    process.env.COMMAND_MAX_WAIT_SECONDS = '3600';
    process.env.COMMAND_TTL_SECONDS = '86400';
    process.env.SYNC_TARGETS = '[]';
  });
  afterEach(() => {
    mocks.restore();
    delete waitHooks.beforeTokenStore;
    delete waitHooks.afterTokenStore;
  });

  const call = (state: string, input: Row, taskToken?: string) =>
    handler(stepEvent(state, input, { taskToken })) as Promise<Row>;
  const command = async (pk: string, code: string, version: number, extra: Row = {}) => {
    const item = { pk, sk: `${code}@${version}`, code, version, attributes: { v: version }, ...extra };
    await putItem(T.commands, item);
    return { pk, sk: item.sk };
  };
  /** Run a version through the happy path after check_version returned 0. */
  const apply = async (key: { pk: string; sk: string }) => {
    let s = await call('set_ttl_command', { ...key, result: 0 });
    s = await call('history_copy', s);
    s = await call('transform_data', s);
    for (const t of s.targets as Array<{ target: string }>) {
      if (t.target !== 'data') continue; // consumer targets are other Lambdas
      assert.deepEqual(await call('sync_data', { pk: key.pk, sk: key.sk, target: t.target }), {
        target: t.target,
        status: 'FINISHED',
      });
    }
    return call('finish', s);
  };

  describe('check_version', () => {
    it('returns 0 for version 1 with no data row, and for data.version == version - 1', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      assert.equal((await call('check_version', k1)).result, 0);
      await putItem(T.data, { pk, sk: 'A', version: 4 });
      const k5 = await command(pk, 'A', 5);
      const out = await call('check_version', k5);
      assert.equal(out.result, 0);
      assert.equal(out.pk, pk);
      const row = await getItem(T.commands, pk, 'A@5');
      assert.equal(row?.status, undefined, 'a step that succeeds writes no status of its own');
    });

    it('returns 1 while an earlier version is in flight or missing', async () => {
      const pk = uniq();
      await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      const out = await call('check_version', k2);
      assert.equal(out.result, 1);
      assert.equal(out.waitingOn, 1);
      const k4 = await command(pk, 'B', 4); // B@1..3 do not exist
      assert.equal((await call('check_version', k4)).result, 1);
    });

    it('returns 0 when every version in between FAILED, -1 on conflict', async () => {
      const pk = uniq();
      await putItem(T.data, { pk, sk: 'A', version: 1 });
      await command(pk, 'A', 2, { result: 'FAILED', status: 'FAILED' });
      await command(pk, 'A', 3, { result: 'FAILED', status: 'FAILED' });
      const k4 = await command(pk, 'A', 4);
      assert.equal((await call('check_version', k4)).result, 0);
      const k1 = await command(pk, 'A', 1);
      const out = await call('check_version', k1);
      assert.equal(out.result, -1);
      assert.match(String(out.reason), /conflict/);
    });

    it('waits for the version the data row holds until its command row has ended (its other sync targets may still run)', async () => {
      const pk = uniq();
      // sync_data of version 1 wrote the data row; its registered targets are still running
      await putItem(T.data, { pk, sk: 'A', version: 1 });
      const k1 = await command(pk, 'A', 1, { syncStatus: { data: 'FINISHED' } });
      const k2 = await command(pk, 'A', 2);
      const out = await call('check_version', k2);
      assert.equal(out.result, 1);
      assert.equal(out.waitingOn, 1);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      assert.equal(mocks.successes.length, 0, 'the re-check after the token write keeps waiting too');
      await call('finish', k1);
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-2'],
      );
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.resumedBy, 'finish:1');

      // the same across FAILED versions: data at 5 (still syncing), 6 FAILED → 7 waits for 5
      await putItem(T.data, { pk, sk: 'B', version: 5 });
      await command(pk, 'B', 5);
      await command(pk, 'B', 6, { result: 'FAILED', status: 'FAILED' });
      const k7 = await command(pk, 'B', 7);
      assert.deepEqual(await call('check_version', k7).then((o) => [o.result, o.waitingOn]), [1, 5]);
      await command(pk, 'B', 5, { result: 'FAILED', status: 'FAILED' });
      assert.equal((await call('check_version', k7)).result, 0, 'a FAILED version at data.version has ended');
    });

    it('fails (recorded + alarm) when the command row does not exist', async () => {
      const pk = uniq();
      await assert.rejects(call('check_version', { pk, sk: 'A@1' }), /not found/);
      assert.ok(mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.kind === 'step-failed'));
    });
  });

  describe('apply path', () => {
    it('set_ttl → history_copy → transform_data → sync_data → finish writes data/history and records every step', async () => {
      process.env.SYNC_TARGETS = '["search"]';
      const pk = uniq();
      const k1 = await command(pk, 'A', 1, { name: 'first' });
      assert.equal((await call('check_version', k1)).result, 0);
      let s = await call('set_ttl_command', { ...k1, result: 0 });
      s = await call('history_copy', s);
      s = await call('transform_data', s);
      assert.deepEqual(s.targets, [{ target: 'data' }, { target: 'search' }]);
      await call('sync_data', { ...k1, target: 'data' });
      await assert.rejects(call('sync_data', { ...k1, target: 'search' }), /only handles the built-in/);
      // the Map's result, in the order of s.targets (a consumer target's item is just its status)
      await call('finish', { ...s, sync: [{ target: 'data', status: 'FINISHED' }, { status: 'FINISHED' }] });
      const data = await getItem(T.data, pk, 'A');
      assert.equal(data?.version, 1);
      assert.deepEqual(data?.attributes, { v: 1 });
      assert.equal(data?.name, 'first');
      assert.equal(data?.status, undefined, 'bookkeeping fields are not copied');
      assert.equal((await getItem(T.history, pk, 'A@1'))?.version, 1);
      const row = await getItem(T.commands, pk, 'A@1');
      assert.equal(row?.status, 'finish:FINISHED');
      assert.equal(row?.result, 'COMPLETED');
      assert.deepEqual(row?.syncStatus, { data: 'FINISHED', search: 'FINISHED' });

      const k2 = await command(pk, 'A', 2);
      assert.equal((await call('check_version', k2)).result, 0);
      await apply(k2);
      const superseded = await getItem(T.commands, pk, 'A@1');
      assert.equal(typeof superseded?.ttl, 'number');
      assert.ok(Number(superseded?.ttl) > Date.now() / 1000 + 86000);
      assert.equal((await getItem(T.data, pk, 'A'))?.version, 2);
    });

    it('sync_data refuses to move the read model backwards (VersionConflict, step FAILED, alarm)', async () => {
      const pk = uniq();
      await putItem(T.data, { pk, sk: 'A', version: 5 });
      const k3 = await command(pk, 'A', 3);
      await assert.rejects(call('sync_data', { ...k3, target: 'data' }), (e: Error) => e.name === 'VersionConflict');
      assert.equal((await getItem(T.data, pk, 'A'))?.version, 5);
      assert.equal((await getItem(T.commands, pk, 'A@3'))?.status, 'sync_data:FAILED');
      assert.ok(mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.state === 'sync_data'));
    });

    it('a retried sync_data finds its own write and succeeds; one that finds a newer version refuses and leaves it', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      let s = await call('set_ttl_command', { ...k1, result: 0 });
      s = await call('history_copy', s);
      await call('transform_data', s);
      await call('sync_data', { ...k1, target: 'data' });
      // the first response was lost and the Lambda invocation is retried
      assert.deepEqual(await call('sync_data', { ...k1, target: 'data' }), { target: 'data', status: 'FINISHED' });
      await putItem(T.data, { pk, sk: 'A', version: 2, commandSk: 'A@2' }); // a newer version written on top
      await assert.rejects(call('sync_data', { ...k1, target: 'data' }), (e: Error) => e.name === 'VersionConflict');
      assert.equal((await getItem(T.data, pk, 'A'))?.version, 2, 'the read model does not go back');
    });

    it('set_ttl_command leaves versions above data.version alone, so their expiry cannot strand the chain', async () => {
      const pk = uniq();
      await putItem(T.data, { pk, sk: 'A', version: 5 });
      await command(pk, 'A', 5, { result: 'COMPLETED' });
      await command(pk, 'A', 6, { result: 'FAILED', status: 'FAILED' });
      const k7 = await command(pk, 'A', 7);
      assert.equal((await call('check_version', k7)).result, 0);
      let s = await call('set_ttl_command', { ...k7, result: 0 });
      assert.equal(s.supersededCount, 1);
      assert.equal(typeof (await getItem(T.commands, pk, 'A@5'))?.ttl, 'number');
      assert.equal(
        (await getItem(T.commands, pk, 'A@6'))?.ttl,
        undefined,
        'FAILED 6 is above data.version: later versions still read it',
      );
      s = await call('history_copy', s);
      await call('mark_failed', { ...s, error: { Error: 'Boom', Cause: 'version 7 failed before its sync' } });
      // the TTL passes: DynamoDB deletes every row that has one
      for (const r of await queryPk(T.commands, pk))
        if (r.ttl !== undefined) await deleteItem(T.commands, pk, String(r.sk));
      const k8 = await command(pk, 'A', 8);
      assert.equal((await call('check_version', k8)).result, 0, '5 is gone but data proves it applied; 6 and 7 FAILED');
    });

    it('set_ttl_command names the missing variable', async () => {
      delete process.env.COMMAND_TTL_SECONDS;
      const pk = uniq();
      const k = await command(pk, 'A', 2);
      await assert.rejects(call('set_ttl_command', k), /COMMAND_TTL_SECONDS/);
    });
  });

  describe('wait / resume', () => {
    it('finish of N resumes N+1 waiting on its token, exactly once', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      assert.equal((await call('check_version', k2)).result, 1);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      assert.equal(mocks.successes.length, 0, 'N is still in flight: keep waiting');
      const waiting = await getItem(T.commands, pk, 'A@2');
      assert.equal(waiting?.taskToken, 'token-2');
      assert.equal(waiting?.status, 'wait_prev_command:STARTED');
      assert.ok(waiting?.waitingSince);

      await apply(k1);
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-2'],
      );
      const resumed = await getItem(T.commands, pk, 'A@2');
      assert.equal(resumed?.taskToken, undefined);
      assert.equal(resumed?.status, 'wait_prev_command:FINISHED');
      assert.equal(resumed?.resumedBy, 'finish:1');
    });

    it('finish does nothing when no version waits', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      await command(pk, 'A', 2); // exists but has not stored a token yet
      await apply(k1);
      assert.equal(mocks.successes.length, 0);
      assert.equal(mocks.failures.length, 0);
    });

    it("race: N finishes between N+1's check and its token write → N+1 resumes itself", async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      assert.equal((await call('check_version', k2)).result, 1);
      waitHooks.beforeTokenStore = async () => {
        await apply(k1); // finish finds no token on N+1
        assert.equal(mocks.successes.length, 0);
      };
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-2'],
      );
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.resumedBy, 'self');
    });

    it("race: N finishes between N+1's token write and its re-check → exactly one SendTaskSuccess", async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      waitHooks.afterTokenStore = async () => {
        await apply(k1); // finish sees the token and resumes N+1
      };
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-2'],
        'the re-check lost the claim and did not send again',
      );
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.resumedBy, 'finish:1');
    });

    it('a conflict detected by the re-check fails the wait (SendTaskFailure VersionConflict)', async () => {
      const pk = uniq();
      await putItem(T.data, { pk, sk: 'A', version: 3 });
      const k2 = await command(pk, 'A', 2);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-x');
      assert.equal(mocks.failures.length, 1);
      assert.equal(mocks.failures[0].error, 'VersionConflict');
    });

    it('mark_failed of N records FAILED + reason, alarms, and releases N+1', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      const out = await call('mark_failed', { ...k1, error: { Error: 'Boom', Cause: 'sync target exploded' } });
      assert.match(String(out.reason), /Boom: sync target exploded/);
      const failed = await getItem(T.commands, pk, 'A@1');
      assert.equal(failed?.status, 'FAILED');
      assert.equal(failed?.result, 'FAILED');
      assert.match(String(failed?.failedReason), /exploded/);
      const alarm = mocks.published.find((p) => p.topic === ARN.alarmTopic && p.body.kind === 'command-failed');
      assert.ok(alarm, 'alarm published');
      assert.equal(alarm.action, 'sfn-alarm');
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-2'],
        'N+1 released, not left waiting',
      );
      // its command-wait execution runs it (waited); a redelivered record's run leaves it to that execution
      assert.equal((await call('check_version', { ...k2, waited: true })).result, 0);
      const redelivered = await call('check_version', k2);
      assert.equal(redelivered.result, 1);
      assert.match(String(redelivered.reason), /command-wait execution/);
    });

    it('mark_failed never turns a COMPLETED version into a failure (but still alarms)', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      await apply(k1);
      await call('mark_failed', { ...k1, reason: 'late failure' });
      const r = await getItem(T.commands, pk, 'A@1');
      assert.equal(r?.result, 'COMPLETED');
      assert.ok(mocks.published.some((p) => p.body.kind === 'command-failed'));
    });

    it('finish recorded COMPLETED but could not resume N+1: mark_failed resumes it and records why the execution fails', async () => {
      mocks.restore();
      let calls = 0;
      mocks = installMocks({
        onTaskSuccess: () => {
          if (calls++ === 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        },
      });
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      let s = await call('set_ttl_command', { ...k1, result: 0 });
      s = await call('history_copy', s);
      s = await call('transform_data', s);
      await call('sync_data', { ...k1, target: 'data' });
      await assert.rejects(call('finish', s), /Rate exceeded/);
      assert.equal((await getItem(T.commands, pk, 'A@1'))?.result, 'COMPLETED');
      assert.equal(
        (await getItem(T.commands, pk, 'A@2'))?.taskToken,
        'token-2',
        'the unsent token is kept for the next releaser',
      );

      const out = await call('mark_failed', { ...s, error: { Error: 'ThrottlingException', Cause: 'Rate exceeded' } });
      assert.deepEqual(
        mocks.successes.map((x) => x.taskToken),
        ['token-2', 'token-2'],
        'released now, not after HeartbeatSeconds',
      );
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.resumedBy, 'mark_failed:1');
      const r1 = await getItem(T.commands, pk, 'A@1');
      assert.equal(r1?.result, 'COMPLETED');
      assert.equal(r1?.status, 'mark_failed:FINISHED');
      assert.match(String(r1?.failedAfterCompletion), /ThrottlingException: Rate exceeded/);
      assert.equal(out.completed, true);
      const alarm = mocks.published.find((p) => p.body.kind === 'command-failed');
      assert.equal(alarm?.body.completed, true);
      assert.match(String(alarm?.body.error), /already COMPLETED.*Rate exceeded/);
    });

    it('mark_failed records the caught error, not a reason check_version left in the state', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const out = await call('mark_failed', {
        ...k1,
        result: 1,
        reason: 'more than 100 versions between data and this one',
        error: { Error: 'States.TaskFailed', Cause: 'history table unavailable' },
      });
      assert.match(String(out.reason), /history table unavailable/);
      assert.match(
        String((await getItem(T.commands, pk, 'A@1'))?.failedReason),
        /^States.TaskFailed: history table unavailable/,
      );
    });

    it('release skips FAILED versions and stops at one still blocked', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      await command(pk, 'A', 2, { result: 'FAILED', status: 'FAILED' });
      const k3 = await command(pk, 'A', 3);
      await call('wait_prev_command', { ...k3, result: 1 }, 'token-3');
      assert.equal(mocks.successes.length, 0);
      await apply(k1);
      assert.deepEqual(
        mocks.successes.map((s) => s.taskToken),
        ['token-3'],
      );
    });
  });

  describe('a predecessor that ended while its sync calls may still run (callsEndBy)', () => {
    /** Epoch seconds → the timestamp the definitions' Wait state is given. */
    const stamp = (endBy: number) => new Date(Math.ceil(endBy) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const causeOf = (json: unknown) => JSON.parse(String(json)) as { callsEndBy: string; waitingOn: number };

    it('mark_failed of N during its sync answers waiting N+1 PredecessorCallsRunning with callsEndBy; once it passed, N+1 goes on', async () => {
      process.env.SYNC_CALL_TIMEOUTS = JSON.stringify({ data: 1 });
      try {
        const pk = uniq();
        // N claimed the sync (its calls may run), then its execution was stopped: no result of its own
        const k1 = await command(pk, 'A', 1, { syncStartedAt: new Date().toISOString(), syncRunId: 'run-1' });
        const k2 = await command(pk, 'A', 2);
        await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
        assert.equal(mocks.failures.length + mocks.successes.length, 0, 'N in flight: N+1 waits for its callback');

        await call('mark_failed', { ...k1, error: { Error: 'States.Aborted', Cause: 'stopped' } });
        const r1 = await getItem(T.commands, pk, 'A@1');
        const endBy = Number(r1?.callsEndBy);
        assert.ok(endBy * 1000 > Date.now(), 'the call of N may still run');
        assert.equal(mocks.successes.length, 0, 'N+1 is not resumed while N’s call may run');
        assert.deepEqual(
          mocks.failures.map((f) => [f.taskToken, f.error]),
          [['token-2', 'PredecessorCallsRunning']],
          'N+1 is told when N’s calls end instead of waiting for its heartbeat',
        );
        assert.deepEqual(causeOf(mocks.failures[0].cause), {
          callsEndBy: stamp(endBy),
          waitingOn: 1,
          reason: `version 1 has ended, but a call it made to a sync target may run until ${stamp(endBy)}`,
        });
        const r2 = await getItem(T.commands, pk, 'A@2');
        assert.equal(r2?.taskToken, undefined, 'the token was claimed: nobody answers it twice');
        assert.equal(r2?.resumedBy, 'mark_failed:1');
        assert.equal(r2?.result, undefined);

        // a second release (execution-watch, a retried mark_failed) finds no token: nothing more is sent
        await call('mark_failed', { ...k1, error: { Error: 'States.Aborted', Cause: 'stopped' } });
        assert.equal(mocks.failures.length, 1);

        // wait_calls_end → recheck_prev_command: still running → 2 again; once passed → 0
        const early = await call('recheck_prev_command', {
          ...k2,
          callsRunning: { cause: causeOf(mocks.failures[0].cause) },
        });
        assert.equal(early.result, 2);
        await putItem(T.commands, { ...r1, callsEndBy: Math.floor(Date.now() / 1000) - 1 });
        const later = await call('recheck_prev_command', early);
        assert.equal(later.result, 0);
        assert.equal(later.callsRunning, undefined);
      } finally {
        delete process.env.SYNC_CALL_TIMEOUTS;
      }
    });

    it('check_version returns 2 with the Cause PredecessorCallsRunning would carry; recheck_prev_command too, even past COMMAND_MAX_WAIT_SECONDS', async () => {
      const pk = uniq();
      const endBy = Math.floor(Date.now() / 1000) + 120;
      await command(pk, 'A', 1, { result: 'FAILED', status: 'FAILED', callsEndBy: endBy });
      const k2 = await command(pk, 'A', 2);
      const out = await call('check_version', k2);
      assert.equal(out.result, 2);
      assert.equal(out.waitingOn, 1);
      const running = out.callsRunning as { Error: string; Cause: string };
      assert.equal(running.Error, 'PredecessorCallsRunning');
      assert.equal(causeOf(running.Cause).callsEndBy, stamp(endBy));

      process.env.COMMAND_MAX_WAIT_SECONDS = '1';
      await putItem(T.commands, {
        ...(await getItem(T.commands, pk, 'A@2')),
        waitingSince: new Date(Date.now() - 5000).toISOString(),
      });
      const recheck = await call('recheck_prev_command', { ...k2, result: 1 });
      assert.equal(recheck.result, 2, 'a wait that ends by itself is not given up on');
      assert.equal(causeOf((recheck.callsRunning as { Cause: string }).Cause).callsEndBy, stamp(endBy));
    });

    it('check_version waits for a callback (1) while a version in between is in flight, and for the latest callsEndBy of several ended ones', async () => {
      const pk = uniq();
      const soon = Math.floor(Date.now() / 1000) + 60;
      const late = soon + 60;
      await command(pk, 'A', 1, { result: 'FAILED', status: 'FAILED', callsEndBy: late });
      await command(pk, 'A', 2, { result: 'FAILED', status: 'FAILED', callsEndBy: soon });
      const k3 = await command(pk, 'A', 3);
      const out = await call('check_version', k3);
      assert.equal(out.result, 2);
      assert.equal(out.waitingOn, 1);
      assert.equal(causeOf((out.callsRunning as { Cause: string }).Cause).callsEndBy, stamp(late));

      const k4 = await command(pk, 'A', 4);
      const blocked = await call('check_version', k4);
      assert.equal(blocked.result, 1, 'version 3 has not ended: its end releases version 4');
      assert.equal(blocked.waitingOn, 3);
      assert.equal(blocked.callsRunning, undefined);
    });

    it('wait_prev_command finding its predecessor ended with calls running answers itself PredecessorCallsRunning', async () => {
      const pk = uniq();
      await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      const endBy = Math.floor(Date.now() / 1000) + 60;
      waitHooks.beforeTokenStore = async () => {
        // N fails between N+1's check_version and its token write: mark_failed finds no token
        await putItem(T.commands, { ...(await getItem(T.commands, pk, 'A@1')), result: 'FAILED', callsEndBy: endBy });
      };
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      assert.deepEqual(
        mocks.failures.map((f) => [f.taskToken, f.error]),
        [['token-2', 'PredecessorCallsRunning']],
      );
      assert.equal(causeOf(mocks.failures[0].cause).callsEndBy, stamp(endBy));
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.resumedBy, 'self');
      assert.equal(mocks.successes.length, 0);
    });
  });

  describe('recheck_prev_command', () => {
    it('drops the dead token; 1 while under COMMAND_MAX_WAIT_SECONDS, -1 with a reason past it, 0 once N ended', async () => {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      await call('wait_prev_command', { ...k2, result: 1 }, 'dead-token');
      let out = await call('recheck_prev_command', {
        ...k2,
        result: 1,
        error: { Error: 'States.HeartbeatTimeout', Cause: '' },
      });
      assert.equal(out.result, 1);
      assert.equal(out.error, undefined);
      assert.equal((await getItem(T.commands, pk, 'A@2'))?.taskToken, undefined);

      process.env.COMMAND_MAX_WAIT_SECONDS = '1';
      await putItem(T.commands, {
        ...(await getItem(T.commands, pk, 'A@2')),
        waitingSince: new Date(Date.now() - 5000).toISOString(),
      });
      out = await call('recheck_prev_command', { ...k2, result: 1 });
      assert.equal(out.result, -1);
      assert.match(String(out.reason), /gave up after waiting/);

      await apply(k1);
      out = await call('recheck_prev_command', { ...k2, result: 1 });
      assert.equal(out.result, 0);
    });
  });
});
