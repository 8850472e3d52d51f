/**
 * Issue 9, items 6, 10 and 12 on both command paths (EXPRESS, the default, and STANDARD),
 * each case on its own and without random faults: the real stream router, the generated
 * definitions (SimulatedStack's engine), the real command-step and execution-watch on DynamoDB
 * Local. tests/handlers/command-order.test.ts pins the same rules on the STANDARD definition
 * alone; the chaos suite checks them statistically under faults.
 *
 * The waiting version's heartbeat is 300 s here (the default re-check interval): a successor
 * that is released only by its own re-check would not come to rest within the settle deadline,
 * so "comes to rest" proves the release was redone at once.
 */
import { strict as assert } from 'node:assert';
import { COMMAND_ROW_MAX_BYTES, DYNAMODB_ITEM_MAX_BYTES, dynamoItemBytes } from '../../core/limits';
import { getItem, putItem, setupHandlerEnv, uniq, type Ctx } from '../handlers/_support/env';
import { sleep, until } from '../handlers/_support/wait';
import type { ChaosTarget, CommandPath, PathSettings } from './harness/chaos';
import type { CallInterval } from './harness/checks';
import {
  currentInvocation,
  lambdaError,
  type FunctionSpec,
  type InvokeFault,
  type LambdaHandler,
} from './harness/runtime';
import { SimulatedStack } from './harness/stack';
import { syncStateName } from '../../components/workflows/command-definition';
import { expressPath } from './express-path';
import { standardPath } from './standard-path';

type Row = Record<string, unknown>;
type Key = { pk: string; sk: string };
type TargetCode = (input: Row) => Promise<unknown>;

const FAST: ChaosTarget = {
  name: 'fast',
  functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:paths-fast',
  timeoutSeconds: 2,
};
const SLOW: ChaosTarget = {
  name: 'slow',
  functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:paths-slow',
  timeoutSeconds: 3,
};
/** Waits as long as a stack's defaults: only a release (never a re-check) resumes a waiting version in a test. */
const SETTINGS: PathSettings = { waitTimeoutSeconds: 600, waitHeartbeatSeconds: 300, runTimeoutSeconds: 30 };
const SETTLE_MS = 45_000;

/** One command path wired as a stack, with the two consumer targets recorded call by call. */
class PathRun {
  readonly stack: SimulatedStack;
  readonly calls: CallInterval[] = [];
  fast: TargetCode = async () => ({ ok: true });
  slow: TargetCode = async () => {
    await sleep(1200);
    return { ok: true };
  };
  /** SendTaskFailure calls made by the functions, as `error` names. */
  readonly taskFailures: string[] = [];
  private delivery = 0;

  constructor(
    readonly ctx: Ctx,
    readonly path: CommandPath,
    sendTaskThrottled: (token: string, n: number) => boolean = () => false,
    invokeFault: (execution: string, state: string, n: number) => InvokeFault = () => 'none',
  ) {
    const functions: Record<string, FunctionSpec> = {};
    for (const [arn, spec] of Object.entries(path.functions))
      functions[arn] = { ...spec, handler: this.recorded(arn, spec.handler) };
    for (const [target, code] of [
      [FAST, (input: Row) => this.fast(input)],
      [SLOW, (input: Row) => this.slow(input)],
    ] as const)
      functions[target.functionArn] = {
        timeoutMs: target.timeoutSeconds * 1000,
        handler: this.recorded(target.functionArn, (event) => code((event as { input: Row }).input)),
      };
    this.stack = new SimulatedStack(
      path,
      functions,
      {
        plan: () => ({ invokeFault, sendTaskThrottled }),
        onCall: (_service, command, input) => {
          if (command === 'SendTaskFailure') this.taskFailures.push(String(input?.error));
        },
      },
      { streamMaxRetryAttempts: 3, stable: (text) => text },
    );
  }

  /** A call to a sync target lasts until it returns or its process stops (crash, timeout). */
  private recorded(functionArn: string, handler: LambdaHandler): LambdaHandler {
    return async (event, context) => {
      const call = this.path.syncCall(functionArn, event);
      if (!call) return handler(event, context);
      const inv = currentInvocation();
      const interval: CallInterval = { ...call, start: Date.now() };
      this.calls.push(interval);
      try {
        return await (inv ? Promise.race([handler(event, context), inv.killed]) : handler(event, context));
      } finally {
        interval.end = inv?.dead && inv.endedAt ? inv.endedAt : Date.now();
      }
    };
  }

  /** Writes a command row (as the client would, or bigger) and delivers its stream INSERT. */
  async publish(pk: string, version: number, attributes: Row = { v: version }): Promise<Key> {
    const image = { pk, sk: `ORDER@${version}`, code: 'ORDER', version, attributes };
    await putItem(this.ctx.db.tables.commands, image);
    void this.stack.track(this.stack.deliver(this.ctx.db.tables.commands, [image], `commands-${++this.delivery}`));
    return { pk, sk: image.sk };
  }

  row(key: Key): Promise<Row | undefined> {
    return getItem(this.ctx.db.tables.commands, key.pk, key.sk);
  }

  /** Publishes version 2 and waits until it holds a task token: it must wait for version 1. */
  async waitingSecond(pk: string): Promise<Key> {
    const k2 = await this.publish(pk, 2);
    await until('version 2 to wait for version 1', async () => (await this.row(k2))?.taskToken, 30_000);
    return k2;
  }

  /** Everything ended: no execution running, nothing queued, no token waiting. */
  async comesToRest(): Promise<void> {
    const rested = await this.stack.settle(Date.now() + SETTLE_MS);
    const running = this.stack.engine.running().map((e) => e.name);
    assert.ok(rested, `not at rest after ${SETTLE_MS} ms: still running ${running.join(', ')}`);
    assert.equal(this.stack.engine.waitingTokens(), 0, 'a version still waits');
    assert.deepEqual(this.stack.deadLetters, []);
  }

  /** Every call of a later version to a target started after every call of an earlier version to it had ended. */
  assertCallsInVersionOrder(): void {
    const version = (c: CallInterval) => Number(c.sk.slice(c.sk.lastIndexOf('@') + 1));
    for (const later of this.calls)
      for (const earlier of this.calls)
        if (earlier.target === later.target && earlier.pk === later.pk && version(earlier) < version(later))
          assert.ok(
            earlier.end !== undefined && earlier.end <= later.start,
            `${later.target}: ${later.sk} started at ${later.start} while ${earlier.sk} ran until ${earlier.end ?? 'still running'}`,
          );
  }

  async close(): Promise<void> {
    for (const e of this.stack.engine.running()) this.stack.engine.stop(e.machineArn, e.name);
    await this.stack.restore();
  }
}

for (const [name, buildPath] of [
  ['EXPRESS path', expressPath],
  ['STANDARD path', standardPath],
] as const) {
  describe(`issue 9 command items on the ${name} (stream router + definitions + handlers, DynamoDB Local)`, function () {
    this.timeout(120_000);
    let ctx: Ctx;
    let run: PathRun | undefined;
    before(async () => {
      ctx = await setupHandlerEnv();
    });
    afterEach(async () => {
      await run?.close();
      run = undefined;
    });
    const start = (sendTaskThrottled?: (token: string, n: number) => boolean, settings = SETTINGS) =>
      (run = new PathRun(ctx, buildPath([FAST, SLOW], settings), sendTaskThrottled));

    it('item 10: one target of N fails while another still runs — N+1 calls that target only after N’s call returned; what each target did is recorded', async () => {
      const r = start();
      r.fast = async (input) => {
        if (input.sk === 'ORDER@1') throw lambdaError('SearchDown', 'index unavailable');
        return { ok: true };
      };
      const pk = uniq('PATHS');
      const k2 = await r.waitingSecond(pk);
      const k1 = await r.publish(pk, 1);
      await r.comesToRest();
      r.assertCallsInVersionOrder();
      assert.deepEqual(
        r.calls.filter((c) => c.target === 'slow').map((c) => c.sk),
        ['ORDER@1', 'ORDER@2'],
      );
      const r1 = await r.row(k1);
      assert.equal(r1?.result, 'FAILED');
      assert.match(String(r1?.failedReason), /fast.*SearchDown: index unavailable/);
      assert.deepEqual(r1?.syncStatus, { data: 'FINISHED', fast: 'FAILED', slow: 'FINISHED' });
      assert.equal((await r.row(k2))?.result, 'COMPLETED');
      assert.equal((await getItem(ctx.db.tables.data, pk, 'ORDER'))?.version, 2);
    });

    it('item 6: the largest accepted row, whose target fails with a 4 KB cause, ends FAILED with its reason and releases N+1', async () => {
      const r = start();
      const cause = `index rejected the document: ${'é'.repeat(4000)}`;
      r.fast = async (input) => {
        if (input.sk === 'ORDER@1') throw lambdaError('DocumentRejected', cause);
        return { ok: true };
      };
      const pk = uniq('PATHS');
      const base = { pk, sk: 'ORDER@1', code: 'ORDER', version: 1, attributes: { blob: '' } };
      const blob = 'b'.repeat(COMMAND_ROW_MAX_BYTES - dynamoItemBytes(base));
      assert.equal(dynamoItemBytes({ ...base, attributes: { blob } }), COMMAND_ROW_MAX_BYTES);
      const k2 = await r.waitingSecond(pk);
      const k1 = await r.publish(pk, 1, { blob });
      await r.comesToRest();
      const r1 = await r.row(k1);
      assert.equal(r1?.result, 'FAILED');
      assert.match(String(r1?.failedReason), /fast \(DocumentRejected: index rejected the document: é+…\[truncated\]/);
      assert.ok(dynamoItemBytes(r1!) <= DYNAMODB_ITEM_MAX_BYTES);
      assert.equal((await getItem(ctx.db.tables.history, pk, 'ORDER@1'))?.version, 1);
      assert.equal((await r.row(k2))?.result, 'COMPLETED');
    });

    it('item 6: a row 300 bytes under 400 KB fails at check_version with the reason, applies nothing and releases N+1', async () => {
      const r = start();
      const pk = uniq('PATHS');
      const base = { pk, sk: 'ORDER@1', code: 'ORDER', version: 1, attributes: { blob: '' } };
      const blob = 'b'.repeat(DYNAMODB_ITEM_MAX_BYTES - 300 - dynamoItemBytes(base));
      const k2 = await r.waitingSecond(pk);
      const k1 = await r.publish(pk, 1, { blob });
      await r.comesToRest();
      const r1 = await r.row(k1);
      assert.equal(r1?.result, 'FAILED');
      assert.match(String(r1?.failedReason), /command row is \d+ bytes/);
      assert.equal(await getItem(ctx.db.tables.history, pk, 'ORDER@1'), undefined, 'nothing applied');
      assert.deepEqual(
        r.calls.filter((c) => c.sk === 'ORDER@1'),
        [],
        'no target called',
      );
      assert.equal((await r.row(k2))?.result, 'COMPLETED');
    });

    for (const ending of ['COMPLETED', 'FAILED'] as const)
      it(`item 12: N ends ${ending} but its release of N+1 is throttled — N+1 is released again at once, not at its next re-check`, async () => {
        // the first SendTaskSuccess / SendTaskFailure on the waiting version's token is refused
        const r = start((token, n) => token.includes(':wait_prev_command:') && n === 1);
        if (ending === 'FAILED')
          r.fast = async (input) => {
            if (input.sk === 'ORDER@1') throw lambdaError('SearchDown', 'index unavailable');
            return { ok: true };
          };
        const pk = uniq('PATHS');
        const k2 = await r.waitingSecond(pk);
        const k1 = await r.publish(pk, 1);
        await r.comesToRest();
        assert.ok(r.stack.engine.counts.sendTaskThrottled >= 1, 'the release was throttled');
        assert.equal((await r.row(k1))?.result, ending);
        assert.equal((await r.row(k2))?.result, 'COMPLETED');
        r.assertCallsInVersionOrder();
      });

    for (const when of ['waits before N fails', 'arrives after N failed'] as const)
      it(`item 10: N fails while a call of N may still run and N+1 ${when} — N+1 starts once callsEndBy has passed, not at its 300 s heartbeat`, async () => {
        // The first call to the slow target (N's: N+1 cannot reach its sync before N ended) loses
        // its response: the function runs on, so mark_failed records callsEndBy (~15 s ahead).
        let lost = false;
        const r = (run = new PathRun(ctx, buildPath([FAST, SLOW], SETTINGS), undefined, (_execution, state) => {
          if (state !== syncStateName(SLOW.name) || lost) return 'none';
          lost = true;
          return 'lost-response';
        }));
        const pk = uniq('PATHS');
        let k2: Key | undefined;
        if (when === 'waits before N fails') k2 = await r.waitingSecond(pk);
        const k1 = await r.publish(pk, 1);
        await until('version 1 to fail', async () => (await r.row(k1))?.result, 30_000);
        const r1 = await r.row(k1);
        assert.equal(r1?.result, 'FAILED');
        assert.match(String(r1?.failedReason), /slow.*Lambda\.SdkClientException/);
        const callsEndByMs = Number(r1?.callsEndBy) * 1000;
        assert.ok(callsEndByMs > Date.now(), 'N’s lost call may still run: N+1 must wait it out');
        k2 ??= await r.publish(pk, 2);
        await r.comesToRest();

        const second = r.calls.filter((c) => c.sk === 'ORDER@2');
        assert.deepEqual(second.map((c) => c.target).sort(), ['data', 'fast', 'slow']);
        for (const c of second)
          assert.ok(
            c.start >= callsEndByMs,
            `${c.target} of N+1 started ${callsEndByMs - c.start} ms before callsEndBy`,
          );
        r.assertCallsInVersionOrder();
        assert.equal((await r.row(k2))?.result, 'COMPLETED');
        assert.equal((await getItem(ctx.db.tables.data, pk, 'ORDER'))?.version, 2);
        // released by PredecessorCallsRunning (or check_version's result 2): no heartbeat fired
        assert.equal(r.stack.engine.counts.heartbeatTimeouts, 0, 'N+1 waited for its heartbeat');
        const told = r.taskFailures.filter((e) => e === 'PredecessorCallsRunning').length;
        // a STANDARD execution checking after N failed goes to the Wait from check_version itself;
        // an EXPRESS run ends MUST_WAIT and its command-wait execution is answered by its own re-check
        assert.equal(told, when === 'arrives after N failed' && name === 'STANDARD path' ? 0 : 1);
      });

    // STANDARD only: an EXPRESS run cannot be stopped. Its analogue, a run that times out or
    // whose caller gives up while its calls go on, is the sync lease's case (command-express
    // tests pin the deadline it leaves; the chaos run times EXPRESS runs out under slow targets).
    if (name === 'STANDARD path')
      it('item 10: N stopped while a call of N to a target still runs — N+1 calls it only once that call can no longer run', async () => {
        // execution-watch records N FAILED with callsEndBy and tells N+1 (300 s heartbeat) when
        // N's call can no longer run: N+1 waits until then, not for its heartbeat.
        const r = start();
        let hung = false;
        r.slow = async (input) => {
          if (input.sk === 'ORDER@1' && !hung) {
            hung = true;
            await sleep(60_000); // hangs: the function's timeout stops it
          }
          return { ok: true };
        };
        const pk = uniq('PATHS');
        const k1 = await r.publish(pk, 1);
        await until('version 1 to call the slow target', async () => hung, 30_000);
        for (const e of r.stack.engine.running())
          if (r.path.stoppable.commands.includes(e.machineArn)) r.stack.engine.stop(e.machineArn, e.name);
        const k2 = await r.publish(pk, 2);
        await r.comesToRest();
        r.assertCallsInVersionOrder();
        assert.equal((await r.row(k1))?.result, 'FAILED');
        assert.match(String((await r.row(k1))?.failedReason), /ABORTED/);
        assert.equal((await r.row(k2))?.result, 'COMPLETED');
        assert.ok(r.calls.some((c) => c.sk === 'ORDER@2' && c.target === 'slow'));
        assert.equal(r.stack.engine.counts.heartbeatTimeouts, 0);
      });
  });
}
