/**
 * Issue 9, items 11, 12 and 14 on the command-step and execution-watch handlers (DynamoDB
 * Local): an ended version never changes its result, a lost release is redone without waiting
 * for the successor's heartbeat, and a retried or re-driven target cannot put an older
 * version over a newer one.
 */
import { strict as assert } from 'node:assert';
import { handler } from '../../handlers/command-step';
import { handleExecutionEvent } from '../../handlers/triggers/execution-watch';
import { ARN, getItem, installMocks, putItem, stepEvent, uniq, useHandlerEnv } from './_support/env';

type Row = Record<string, unknown>;

describe('command safety (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();
  beforeEach(() => {
    process.env.COMMAND_MAX_WAIT_SECONDS = '3600';
    process.env.COMMAND_TTL_SECONDS = '86400';
    process.env.SYNC_TARGETS = '[]';
  });

  const call = (state: string, input: Row, taskToken?: string) =>
    handler(stepEvent(state, input, { taskToken })) as Promise<Row>;
  const command = async (pk: string, code: string, version: number, extra: Row = {}) => {
    const item = { pk, sk: `${code}@${version}`, code, version, attributes: { v: version }, ...extra };
    await putItem(env.tables.commands, item);
    return { pk, sk: item.sk };
  };
  /** Runs a version from set_ttl_command through its sync: the state finish receives. */
  const throughSync = async (key: { pk: string; sk: string }): Promise<Row> => {
    let s = await call('set_ttl_command', { ...key, result: 0 });
    s = await call('history_copy', s);
    s = await call('transform_data', s);
    return { ...s, sync: [await call('sync_data', { ...key, target: 'data' })] };
  };
  const row = (key: { pk: string; sk: string }) => getItem(env.tables.commands, key.pk, key.sk);
  const stopped = (key: { pk: string; sk: string }, status = 'ABORTED') =>
    handleExecutionEvent({
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      detail: {
        executionArn: `${ARN.command.replace(':stateMachine:', ':execution:')}:x`,
        stateMachineArn: ARN.command,
        name: 'x',
        status,
        input: JSON.stringify(key),
      },
    });

  it('item 11: stopped during finish — execution-watch marks FAILED and the still-running finish cannot make it COMPLETED', async () => {
    const pk = uniq();
    const k1 = await command(pk, 'A', 1);
    const s = await throughSync(k1);
    assert.equal((await stopped(k1)).kind, 'failed');
    const failed = await row(k1);
    assert.equal(failed?.result, 'FAILED');
    await assert.rejects(call('finish', s), /already ended/);
    const after = await row(k1);
    assert.equal(after?.result, 'FAILED', 'an ended result never changes');
    assert.equal(after?.failedReason, failed?.failedReason);
    assert.equal(after?.status, failed?.status, 'no step status moves on an ended version');
  });

  it('item 11: a second mark_failed keeps the first reason', async () => {
    const pk = uniq();
    const k1 = await command(pk, 'A', 1);
    await call('mark_failed', { ...k1, error: { Error: 'First', Cause: 'the real cause' } });
    await call('mark_failed', { ...k1, error: { Error: 'Second', Cause: 'a later echo' } });
    const r = await row(k1);
    assert.equal(r?.result, 'FAILED');
    assert.match(String(r?.failedReason), /^First: the real cause/);
  });

  it('item 11: a lost response of finish (the write applied, the caller saw an error) is retried to the same result', async () => {
    const pk = uniq();
    const k1 = await command(pk, 'A', 1);
    const s = await throughSync(k1);
    await call('finish', s);
    await call('finish', s); // Step Functions retry after a lost response
    assert.equal((await row(k1))?.result, 'COMPLETED');
  });

  it('item 12: mark_failed recorded FAILED but its release was throttled — execution-watch releases N+1 at once', async () => {
    env.mocks.restore();
    let sends = 0;
    const mocks = installMocks({
      onTaskSuccess: () => {
        if (sends++ === 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    });
    try {
      const pk = uniq();
      const k1 = await command(pk, 'A', 1);
      const k2 = await command(pk, 'A', 2);
      await call('wait_prev_command', { ...k2, result: 1 }, 'token-2');
      await assert.rejects(call('mark_failed', { ...k1, error: { Error: 'Boom', Cause: 'x' } }), /Rate exceeded/);
      assert.equal((await row(k1))?.result, 'FAILED');
      assert.equal((await row(k2))?.taskToken, 'token-2', 'N+1 still waits');
      // mark_failed's Catch → fail → the execution FAILED → EventBridge → execution-watch
      await stopped(k1, 'FAILED');
      assert.deepEqual(
        mocks.successes.map((x) => x.taskToken),
        ['token-2', 'token-2'],
      );
      assert.equal((await row(k2))?.resumedBy, 'execution-watch:1');
    } finally {
      mocks.restore();
    }
  });

  it('item 14: history rows are immutable — a retried or re-driven history_copy leaves the written row alone', async () => {
    const pk = uniq();
    const k1 = await command(pk, 'A', 1);
    await putItem(env.tables.history, { pk, sk: 'A@1', version: 1, attributes: { v: 1 }, appliedAt: 'first' });
    await call('history_copy', { ...k1, result: 0 });
    assert.equal((await getItem(env.tables.history, pk, 'A@1'))?.appliedAt, 'first');
  });

  it('item 14: sync_data of an older version never writes over a newer data row', async () => {
    const pk = uniq();
    const k1 = await command(pk, 'A', 1);
    await putItem(env.tables.data, { pk, sk: 'A', version: 3, attributes: { v: 3 } });
    await assert.rejects(call('sync_data', { ...k1, target: 'data' }), /VersionConflict|version 3/);
    assert.equal((await getItem(env.tables.data, pk, 'A'))?.version, 3);
  });
});
