/**
 * Issue 9, items 6, 10 and 14 on the real command definition (aws-local-stepfunctions) with
 * the real command-step and execution-watch handlers against DynamoDB Local: a successor never
 * starts a sync target while a call of its predecessor to it can still run, a failed version
 * records what each target did, and a row a few KB under DynamoDB's item limit still ends.
 */
import { strict as assert } from 'node:assert';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import { handler as commandStep } from '../../handlers/command-step';
import { handleExecutionEvent } from '../../handlers/triggers/execution-watch';
import { executionName } from '../../core/keys';
import { COMMAND_ROW_MAX_BYTES, DYNAMODB_ITEM_MAX_BYTES, dynamoItemBytes } from '../../core/limits';
import { ARN, getItem, installMocks, putItem, setupHandlerEnv, uniq, type Ctx, type Mocks } from './_support/env';
import { LocalSfn } from './_support/local-sfn';
import { sleep, until as untilDefault } from './_support/wait';

const until = <T>(what: string, fn: () => Promise<T | undefined | false>) => untilDefault(what, fn, 30000);

type Row = Record<string, unknown>;
const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';
const FAST_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:fast-sync';
const SLOW_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:slow-sync';
/** The configured timeout of the slow target's Lambda: a real Lambda is stopped after it. */
const SLOW_TIMEOUT_MS = 2000;

interface Call {
  sk: string;
  start: number;
  end?: number;
}

describe('command order across sync targets (aws-local-stepfunctions + real handlers + DynamoDB Local)', function () {
  this.timeout(120000);
  let ctx: Ctx;
  let mocks: Mocks;
  let T: Ctx['db']['tables'];
  let sfn: LocalSfn;
  let fastSync: (input: Row) => Promise<unknown>;
  let slowSync: (input: Row) => Promise<unknown>;
  let slowCalls: Call[];

  before(async () => {
    ctx = await setupHandlerEnv();
    T = ctx.db.tables;
  });

  /** A Lambda that runs `work` but, like the service, never past its timeout. */
  const withTimeout = (timeoutMs: number, work: (input: Row) => Promise<unknown>) => async (input: Row) => {
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('Task timed out'), { name: 'Lambda.Unknown' })),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([work(input), killed]);
    } finally {
      clearTimeout(timer);
    }
  };

  beforeEach(() => {
    process.env.COMMAND_MAX_WAIT_SECONDS = '3600';
    process.env.COMMAND_TTL_SECONDS = '86400';
    process.env.SYNC_TARGETS = '["fast","slow"]';
    process.env.SYNC_CALL_TIMEOUTS = JSON.stringify({ data: 2, fast: 2, slow: SLOW_TIMEOUT_MS / 1000 });
    slowCalls = [];
    fastSync = async () => ({ ok: true });
    slowSync = async () => {
      await sleep(1200);
      return { ok: true };
    };
    const definition = buildCommandDefinition({
      commandStepArn: COMMAND_STEP_ARN,
      syncTargets: [
        { name: 'fast', functionArn: FAST_ARN },
        { name: 'slow', functionArn: SLOW_ARN },
      ],
      waitTimeoutSeconds: 60,
      waitHeartbeatSeconds: 1,
      syncMaxConcurrency: 3,
    }) as unknown as StateMachineDefinition;
    sfn = new LocalSfn(definition, (fn) => {
      if (fn === COMMAND_STEP_ARN) return (payload) => commandStep(payload as never);
      if (fn === FAST_ARN) return (payload) => fastSync(payload.input as Row);
      if (fn === SLOW_ARN)
        return async (payload) => {
          const input = payload.input as Row;
          const call: Call = { sk: String(input.sk), start: Date.now() };
          slowCalls.push(call);
          try {
            return await withTimeout(SLOW_TIMEOUT_MS, slowSync)(input);
          } finally {
            call.end = Date.now();
          }
        };
      throw new Error(`no local function for ${fn}`);
    });
    mocks = installMocks({
      onTaskSuccess: (token, output) => sfn.succeed(token, output),
      onTaskFailure: (token, error, cause) => sfn.fail(token, error, cause),
    });
  });

  afterEach(() => {
    mocks.restore();
    delete process.env.SYNC_CALL_TIMEOUTS;
  });

  async function publish(
    pk: string,
    code: string,
    version: number,
    extra: Row = {},
  ): Promise<{ pk: string; sk: string }> {
    const key = { pk, sk: `${code}@${version}` };
    await putItem(T.commands, { ...key, code, version, attributes: { v: version }, ...extra });
    return key;
  }
  function start(key: { pk: string; sk: string }) {
    return sfn.run({ pk: key.pk, sk: key.sk }, executionName('commands', key.pk, key.sk));
  }
  const row = (key: { pk: string; sk: string }) => getItem(T.commands, key.pk, key.sk);

  /** Version 2 waits, then version 1 (carrying `blob`) runs and fails; both executions have ended. */
  async function bigVersionBeforeAWaitingOne(pk: string, blob: string) {
    const k2 = await publish(pk, 'ORDER', 2);
    const run2 = start(k2).result;
    await until('v2 to wait', async () => (await row(k2))?.taskToken);
    const k1 = await publish(pk, 'ORDER', 1, { attributes: { blob } });
    await assert.rejects(start(k1).result);
    await run2;
    return { k1, k2 };
  }

  /** Every call of a later version started after every call of an earlier one had ended. */
  function assertInVersionOrder(calls: Call[]): void {
    const version = (c: Call) => Number(c.sk.slice(c.sk.lastIndexOf('@') + 1));
    for (const later of calls)
      for (const earlier of calls)
        if (version(earlier) < version(later))
          assert.ok(
            earlier.end !== undefined && earlier.end <= later.start,
            `${later.sk} started at ${later.start} while ${earlier.sk} ran until ${earlier.end ?? 'still running'}`,
          );
  }

  it('item 10: one target of N fails while another is still running — N+1 starts that target only after N’s call returned', async () => {
    const pk = uniq('TENANT');
    fastSync = async (input) => {
      if (input.sk === 'ORDER@1') throw Object.assign(new Error('index unavailable'), { name: 'SearchDown' });
      return { ok: true };
    };
    const k2 = await publish(pk, 'ORDER', 2);
    const run2 = start(k2).result;
    await until('v2 to wait', async () => (await row(k2))?.taskToken);
    const k1 = await publish(pk, 'ORDER', 1);
    await assert.rejects(start(k1).result);
    await run2;
    assert.equal(slowCalls.length, 2);
    assertInVersionOrder(slowCalls);
    const r1 = await row(k1);
    assert.equal(r1?.result, 'FAILED');
    assert.match(String(r1?.failedReason), /fast.*SearchDown: index unavailable/);
    // item 14: what each target did is on the row
    assert.deepEqual(r1?.syncStatus, { data: 'FINISHED', fast: 'FAILED', slow: 'FINISHED' });
    assert.equal((await row(k2))?.result, 'COMPLETED');
    assert.equal((await getItem(T.data, pk, 'ORDER'))?.version, 2);
  });

  it('item 10: N stopped during its sync — N+1 waits until N’s in-flight call can no longer run', async () => {
    const pk = uniq('TENANT');
    slowSync = async () => {
      await sleep(60_000); // hangs: the Lambda timeout ends it
      return { ok: true };
    };
    const k1 = await publish(pk, 'ORDER', 1);
    const run1 = start(k1);
    run1.result.catch(() => undefined);
    await until('v1 to call the slow target', async () => slowCalls.length === 1);
    run1.abort(); // StopExecution: the slow Lambda keeps running until its timeout
    const k2 = await publish(pk, 'ORDER', 2);
    slowSync = async () => ({ ok: true });
    const run2 = start(k2).result;
    await until('v2 to wait', async () => (await row(k2))?.taskToken);
    // EventBridge → execution-watch
    const outcome = await handleExecutionEvent({
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      detail: {
        executionArn: `${ARN.command.replace(':stateMachine:', ':execution:')}:v1`,
        stateMachineArn: ARN.command,
        name: 'v1',
        status: 'ABORTED',
        input: JSON.stringify(k1),
      },
    });
    assert.equal(outcome.kind, 'failed');
    await run2;
    assert.equal(slowCalls.length, 2);
    assertInVersionOrder(slowCalls);
    const r1 = await row(k1);
    assert.equal(r1?.result, 'FAILED');
    assert.match(String(r1?.failedReason), /ABORTED/);
    assert.deepEqual(r1?.syncStatus, { data: 'UNKNOWN', fast: 'UNKNOWN', slow: 'UNKNOWN' });
    assert.equal((await row(k2))?.result, 'COMPLETED');
  });

  it('item 6: the largest accepted row, whose target fails with a 4 KB cause, ends FAILED with its reason and releases N+1', async () => {
    const pk = uniq('TENANT');
    const cause = `index rejected the document: ${'é'.repeat(4000)}`;
    fastSync = async (input) => {
      if (input.sk === 'ORDER@1') throw Object.assign(new Error(cause), { name: 'DocumentRejected' });
      return { ok: true };
    };
    const base = { pk, sk: 'ORDER@1', code: 'ORDER', version: 1, attributes: { blob: '' } };
    const blob = 'b'.repeat(COMMAND_ROW_MAX_BYTES - dynamoItemBytes(base));
    assert.equal(dynamoItemBytes({ ...base, attributes: { blob } }), COMMAND_ROW_MAX_BYTES, 'the row as published');
    const { k1, k2 } = await bigVersionBeforeAWaitingOne(pk, blob);
    const r1 = await row(k1);
    assert.equal(r1?.result, 'FAILED');
    assert.match(String(r1?.failedReason), /fast \(DocumentRejected: index rejected the document: é+…\[truncated\]/);
    assert.ok(dynamoItemBytes(r1!) <= DYNAMODB_ITEM_MAX_BYTES);
    assert.equal((await getItem(T.history, pk, 'ORDER@1'))?.version, 1, 'applied to history before the target failed');
    assert.equal((await row(k2))?.result, 'COMPLETED');
  });

  for (const room of [3000, 300])
    it(`item 6: a row ${room} bytes under 400 KB (less room than the bookkeeping reserve) fails at check_version with the reason and releases N+1`, async () => {
      const pk = uniq('TENANT');
      const base = { pk, sk: 'ORDER@1', code: 'ORDER', version: 1, attributes: { blob: '' } };
      const blob = 'b'.repeat(DYNAMODB_ITEM_MAX_BYTES - room - dynamoItemBytes(base));
      const { k1, k2 } = await bigVersionBeforeAWaitingOne(pk, blob);
      const r1 = await row(k1);
      assert.equal(r1?.result, 'FAILED');
      assert.match(String(r1?.failedReason), /command row is \d+ bytes/);
      assert.equal(await getItem(T.history, pk, 'ORDER@1'), undefined, 'nothing applied');
      assert.equal((await row(k2))?.result, 'COMPLETED');
    });
});
