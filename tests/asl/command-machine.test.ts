import assert from 'node:assert/strict';
import { buildCommandDefinition, type CommandDefinitionOptions } from '../../components/workflows';
import { failedItem } from '../../handlers/command/sync-outcomes';
import { COMMAND_STEP_ARN, functionArn } from './fixtures';
import {
  ConcurrencyProbe,
  SIMULATED_TASK_TOKEN,
  callsOf,
  lambdaError,
  never,
  runDefinition,
  type Json,
  type JsonRecord,
  type LambdaDouble,
} from './harness';

// Small limits: the interpreter's TimeoutSeconds and our HeartbeatSeconds simulation run in real time.
const OPTIONS: CommandDefinitionOptions = {
  commandStepArn: COMMAND_STEP_ARN,
  syncTargets: [{ name: 'search', functionArn: functionArn('search') }],
  waitTimeoutSeconds: 2,
  waitHeartbeatSeconds: 1,
  syncMaxConcurrency: 3,
};

const INPUT = { pk: 'TENANT#t1', sk: 'ORDER#o1@2' };

const passThrough: LambdaDouble = (input) => input;
const withResult =
  (result: Json): LambdaDouble =>
  (input) => ({ ...input, result });
const syncDone: LambdaDouble = (input) => ({ target: input.target, status: 'FINISHED' });

/** Doubles for a run that goes all the way: check_version answers `checkResult`. */
function doubles(checkResult: Json, overrides: Record<string, LambdaDouble> = {}): Record<string, LambdaDouble> {
  return {
    check_version: withResult(checkResult),
    wait_prev_command: () => ({ result: 'resumed_by_prev_version' }),
    recheck_prev_command: withResult(0),
    set_ttl_command: passThrough,
    history_copy: passThrough,
    transform_data: (input) => ({ ...input, targets: [{ target: 'data' }, { target: 'search' }] }),
    sync_data: syncDone,
    sync_search: syncDone,
    sync_failed: (input) => failedItem(input.error) as unknown as Json,
    // like the handler: a failed item fails the version
    finish: (input) => {
      if ((input.sync as JsonRecord[]).some((item) => item.status !== 'FINISHED'))
        throw lambdaError('SyncTargetFailed', JSON.stringify(input.sync));
      return input;
    },
    mark_failed: passThrough,
    ...overrides,
  };
}

const TAIL = ['set_ttl_command', 'history_copy', 'transform_data', 'sync_data_all', 'finish', 'success'];
const FAILED_TAIL = ['mark_failed', 'fail'];

describe('command machine (executed with aws-local-stepfunctions)', function () {
  this.timeout(20_000);
  const definition = buildCommandDefinition(OPTIONS);

  describe('check_version_result', () => {
    it('0 → set_ttl_command → … → success, syncing every target', async () => {
      const run = await runDefinition(definition, INPUT, { doubles: doubles(0) });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path, ['check_version', 'check_version_result', ...TAIL]);
      // what a consumer's Lambda returns is replaced by its status (its size is not ours to carry)
      assert.deepEqual(callsOf(run, 'finish')[0].input.sync, [
        { target: 'data', status: 'FINISHED' },
        { status: 'FINISHED' },
      ]);
      // Each iteration gets { pk, sk, target }; the consumer target runs its own Lambda.
      assert.deepEqual(callsOf(run, 'sync_search')[0].input, { ...INPUT, target: 'search' });
      assert.equal(callsOf(run, 'sync_search')[0].functionName, functionArn('search'));
      assert.equal(callsOf(run, 'sync_data')[0].functionName, COMMAND_STEP_ARN);
      assert.deepEqual(callsOf(run, 'check_version')[0].payload.source, 'step-function');
    });

    it('1 → wait_prev_command, resumed → set_ttl_command with the input unchanged (ResultPath null)', async () => {
      const run = await runDefinition(definition, INPUT, { doubles: doubles(1) });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path, ['check_version', 'check_version_result', 'wait_prev_command', ...TAIL]);
      const wait = callsOf(run, 'wait_prev_command')[0];
      assert.equal(wait.payload.taskToken, SIMULATED_TASK_TOKEN);
      // What the resumer sent is dropped: set_ttl_command sees wait_prev_command's input.
      assert.deepEqual(callsOf(run, 'set_ttl_command')[0].input, wait.input);
    });

    it('-1 → mark_failed → fail', async () => {
      const run = await runDefinition(definition, INPUT, { doubles: doubles(-1) });
      assert.equal(run.status, 'FAILED');
      assert.equal(run.error?.name, 'CommandFailed');
      assert.deepEqual(run.path, ['check_version', 'check_version_result', ...FAILED_TAIL]);
    });

    it('2 (only ended predecessors’ calls may still run) → calls_running → wait_calls_end until callsEndBy → recheck_prev_command → set_ttl_command', async () => {
      const callsEndBy = new Date(Date.now() + 1000).toISOString();
      const cause = JSON.stringify({ callsEndBy, waitingOn: 1, reason: 'version 1 has ended, but …' });
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(2, {
          check_version: (input) => ({
            ...input,
            result: 2,
            callsRunning: { Error: 'PredecessorCallsRunning', Cause: cause },
          }),
        }),
      });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path, [
        'check_version',
        'check_version_result',
        'calls_running',
        'wait_calls_end',
        'recheck_prev_command',
        'recheck_prev_command_result',
        ...TAIL,
      ]);
      assert.equal(callsOf(run, 'wait_prev_command').length, 0, 'no task token, no heartbeat');
      const recheck = callsOf(run, 'recheck_prev_command')[0];
      assert.deepEqual(recheck.input.callsRunning, { cause: JSON.parse(cause) as Json });
      assert.equal(recheck.input.pk, INPUT.pk);
    });

    it('an unexpected value (3) → wait_prev_command (Default)', async () => {
      const run = await runDefinition(definition, INPUT, { doubles: doubles(3) });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path.slice(0, 3), ['check_version', 'check_version_result', 'wait_prev_command']);
    });
  });

  describe('wait_prev_command never resumed', () => {
    it('times out on HeartbeatSeconds into recheck_prev_command, which continues when it returns 0', async () => {
      const run = await runDefinition(definition, INPUT, { doubles: doubles(1, { wait_prev_command: () => never() }) });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path, [
        'check_version',
        'check_version_result',
        'wait_prev_command',
        'recheck_prev_command',
        'recheck_prev_command_result',
        ...TAIL,
      ]);
      const recheck = callsOf(run, 'recheck_prev_command')[0];
      assert.deepEqual((recheck.input.waitTimeout as JsonRecord).Error, 'States.HeartbeatTimeout');
      assert.equal(recheck.input.pk, INPUT.pk, 'the timeout catcher keeps the command key');
      assert.ok(run.elapsedMs >= 950, `heartbeat fired after ${run.elapsedMs} ms, expected ~1000`);
    });

    it("times out on the interpreter's own TimeoutSeconds when the waiter heartbeats but nobody resumes it", async () => {
      const wait: LambdaDouble = (_input, call) => {
        call.keepHeartbeating();
        return never();
      };
      const run = await runDefinition(definition, INPUT, { doubles: doubles(1, { wait_prev_command: wait }) });
      assert.equal(run.status, 'SUCCEEDED');
      const recheck = callsOf(run, 'recheck_prev_command')[0];
      assert.deepEqual((recheck.input.waitTimeout as JsonRecord).Error, 'States.Timeout');
      assert.ok(run.elapsedMs >= 1950, `timeout fired after ${run.elapsedMs} ms, expected ~2000`);
    });

    it('ends in fail after mark_failed when recheck_prev_command gives up (-1)', async () => {
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(1, {
          wait_prev_command: () => never(),
          recheck_prev_command: (input) => ({ ...input, result: -1, reason: 'waited too long' }),
        }),
      });
      assert.equal(run.status, 'FAILED');
      assert.equal(run.error?.name, 'CommandFailed');
      assert.deepEqual(run.path, [
        'check_version',
        'check_version_result',
        'wait_prev_command',
        'recheck_prev_command',
        'recheck_prev_command_result',
        ...FAILED_TAIL,
      ]);
      assert.equal(callsOf(run, 'mark_failed')[0].input.reason, 'waited too long');
    });

    it('waits again when recheck_prev_command returns 1, then continues once resumed', async () => {
      let waits = 0;
      const wait: LambdaDouble = () => (++waits === 1 ? never() : { resumed: true });
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(1, { wait_prev_command: wait, recheck_prev_command: withResult(1) }),
      });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path.slice(2, 7), [
        'wait_prev_command',
        'recheck_prev_command',
        'recheck_prev_command_result',
        'wait_prev_command',
        'set_ttl_command',
      ]);
    });

    it('PredecessorCallsRunning from a releaser → calls_running → wait_calls_end → recheck_prev_command, well before HeartbeatSeconds', async () => {
      const callsEndBy = new Date(Date.now() + 200).toISOString();
      const cause = JSON.stringify({ callsEndBy, waitingOn: 1, reason: 'calls may still run' });
      const def = buildCommandDefinition({ ...OPTIONS, waitTimeoutSeconds: 600, waitHeartbeatSeconds: 300 });
      const run = await runDefinition(def, INPUT, {
        doubles: doubles(1, {
          wait_prev_command: () => Promise.reject(lambdaError('PredecessorCallsRunning', cause)),
        }),
      });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path, [
        'check_version',
        'check_version_result',
        'wait_prev_command',
        'calls_running',
        'wait_calls_end',
        'recheck_prev_command',
        'recheck_prev_command_result',
        ...TAIL,
      ]);
      const recheck = callsOf(run, 'recheck_prev_command')[0];
      assert.deepEqual(recheck.input.callsRunning, { cause: JSON.parse(cause) as Json });
      assert.equal(recheck.input.waitTimeout, undefined, 'no heartbeat fired');
    });

    it('recheck_prev_command returning 2 waits out callsEndBy again, then goes on', async () => {
      let rechecks = 0;
      const cause = JSON.stringify({ callsEndBy: new Date(Date.now() + 100).toISOString(), waitingOn: 1, reason: 'x' });
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(1, {
          wait_prev_command: () => never(),
          recheck_prev_command: (input) =>
            ++rechecks === 1
              ? { ...input, result: 2, callsRunning: { Error: 'PredecessorCallsRunning', Cause: cause } }
              : { ...input, result: 0 },
        }),
      });
      assert.equal(run.status, 'SUCCEEDED');
      assert.deepEqual(run.path.slice(2, 10), [
        'wait_prev_command',
        'recheck_prev_command',
        'recheck_prev_command_result',
        'calls_running',
        'wait_calls_end',
        'recheck_prev_command',
        'recheck_prev_command_result',
        'set_ttl_command',
      ]);
    });

    it("goes to mark_failed when the predecessor's resumer reports a failure (SendTaskFailure)", async () => {
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(1, { wait_prev_command: () => Promise.reject(lambdaError('PreviousVersionFailed')) }),
      });
      assert.equal(run.status, 'FAILED');
      assert.deepEqual(run.path.slice(-3), ['wait_prev_command', ...FAILED_TAIL]);
      assert.equal((callsOf(run, 'mark_failed')[0].input.error as JsonRecord).Error, 'PreviousVersionFailed');
    });
  });

  describe('sync_data_all', () => {
    const targets = Array.from({ length: 9 }, (_, i) => ({ name: `t${i}`, functionArn: functionArn(`t${i}`) }));
    const tenTargets = [{ target: 'data' }, ...targets.map((t) => ({ target: t.name }))];

    for (const maxConcurrency of [1, 3, 10]) {
      it(`never runs more than MaxConcurrency ${maxConcurrency} of 10 targets at once`, async () => {
        const probe = new ConcurrencyProbe();
        const syncDoubles: Record<string, LambdaDouble> = { sync_data: probe.wrap(syncDone, 25) };
        for (const t of targets) syncDoubles[`sync_${t.name}`] = probe.wrap(syncDone, 25);
        const def = buildCommandDefinition({ ...OPTIONS, syncTargets: targets, syncMaxConcurrency: maxConcurrency });
        const run = await runDefinition(def, INPUT, {
          doubles: doubles(0, { transform_data: (input) => ({ ...input, targets: tenTargets }), ...syncDoubles }),
        });
        assert.equal(run.status, 'SUCCEEDED');
        assert.equal((callsOf(run, 'finish')[0].input.sync as Json[]).length, 10);
        assert.ok(probe.peak <= maxConcurrency, `peak ${probe.peak} > MaxConcurrency ${maxConcurrency}`);
        if (maxConcurrency > 1) assert.ok(probe.peak > 1, `peak ${probe.peak}: the targets did not run in parallel`);
      });
    }

    it('a failing sync target does not stop the others: every item ends, then finish → mark_failed → fail', async () => {
      let dataCalls = 0;
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, {
          sync_search: () => Promise.reject(lambdaError('SearchIndexDown', 'index unavailable')),
          sync_data: async (input) => {
            await new Promise((r) => setTimeout(r, 200)); // still running when search fails
            dataCalls++;
            return syncDone(input, undefined as never);
          },
        }),
      });
      assert.equal(run.status, 'FAILED');
      assert.deepEqual(run.path.slice(-5), ['transform_data', 'sync_data_all', 'finish', ...FAILED_TAIL]);
      assert.equal(dataCalls, 1, 'the data item ran to its end');
      const failedInput = callsOf(run, 'sync_failed')[0].input;
      assert.equal((failedInput.error as JsonRecord).Error, 'SearchIndexDown');
      const mark = callsOf(run, 'mark_failed')[0].input;
      assert.equal((mark.error as JsonRecord).Error, 'SyncTargetFailed');
      assert.deepEqual(mark.sync, [
        { target: 'data', status: 'FINISHED' },
        { status: 'FAILED', error: 'SearchIndexDown: index unavailable' },
      ]);
    });

    it('a sync call is retried only when throttled; a service error after which it may still run is not retried', async () => {
      let throttled = 0;
      let lost = 0;
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, {
          sync_data: (input) => {
            if (++throttled < 3) throw lambdaError('Lambda.TooManyRequestsException');
            return syncDone(input, undefined as never);
          },
          sync_search: () => {
            lost++;
            throw lambdaError('Lambda.SdkClientException', 'connection reset');
          },
        }),
        retryIntervalOverrides: { sync_data: 0, sync_search: 0 },
      });
      assert.equal(run.status, 'FAILED');
      assert.equal(throttled, 3);
      assert.equal(lost, 1, 'never called twice while the first call may still run');
      assert.deepEqual((callsOf(run, 'mark_failed')[0].input.sync as JsonRecord[])[1], {
        status: 'FAILED',
        error: 'Lambda.SdkClientException: connection reset',
        mayStillRun: true,
      });
    });

    it('when sync_failed itself fails, the item still ends FAILED (and may still run)', async () => {
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, {
          sync_search: () => Promise.reject(lambdaError('SearchIndexDown', 'index unavailable')),
          sync_failed: () => Promise.reject(lambdaError('Error', 'broken')),
        }),
      });
      assert.equal(run.status, 'FAILED');
      assert.deepEqual((callsOf(run, 'mark_failed')[0].input.sync as JsonRecord[])[1], {
        status: 'FAILED',
        mayStillRun: true,
        error: 'SearchIndexDown',
      });
    });

    it('a target nobody registered fails its item (sync_unknown_target) and so the command', async () => {
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, {
          transform_data: (input) => ({ ...input, targets: [{ target: 'data' }, { target: 'nobody' }] }),
        }),
      });
      assert.equal(run.status, 'FAILED');
      const item = (callsOf(run, 'mark_failed')[0].input.sync as JsonRecord[])[1];
      assert.equal(item.status, 'FAILED');
      assert.match(String(item.error), /^UnknownSyncTarget/);
    });
  });

  describe('retries and failure handling', () => {
    it('retries a transient Lambda error (Lambda.TooManyRequestsException) and carries on', async () => {
      let attempts = 0;
      const flaky: LambdaDouble = (input) => {
        if (++attempts < 3) throw lambdaError('Lambda.TooManyRequestsException');
        return input;
      };
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, { history_copy: flaky }),
        retryIntervalOverrides: { history_copy: 0 },
      });
      assert.equal(run.status, 'SUCCEEDED');
      assert.equal(callsOf(run, 'history_copy').length, 3);
    });

    it('gives up after MaxAttempts 3 retries into mark_failed', async () => {
      const down: LambdaDouble = () => {
        throw lambdaError('Lambda.ServiceException');
      };
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(0, { history_copy: down }),
        retryIntervalOverrides: { history_copy: 0 },
      });
      assert.equal(run.status, 'FAILED');
      assert.equal(callsOf(run, 'history_copy').length, 4);
      assert.deepEqual(run.path.slice(-3), ['history_copy', ...FAILED_TAIL]);
    });

    it('does not retry a handler error: one call, then mark_failed → fail', async () => {
      const broken: LambdaDouble = () => {
        throw lambdaError('Error', 'bug in the handler');
      };
      const run = await runDefinition(definition, INPUT, { doubles: doubles(0, { transform_data: broken }) });
      assert.equal(run.status, 'FAILED');
      assert.equal(callsOf(run, 'transform_data').length, 1);
      assert.deepEqual(run.path.slice(-3), ['transform_data', ...FAILED_TAIL]);
    });

    it('ends in fail even when mark_failed itself fails', async () => {
      const run = await runDefinition(definition, INPUT, {
        doubles: doubles(-1, {
          mark_failed: () => {
            throw lambdaError('Error', 'alarm topic unreachable');
          },
        }),
      });
      assert.equal(run.status, 'FAILED');
      assert.equal(run.error?.name, 'CommandFailed');
      assert.deepEqual(run.path.slice(-2), FAILED_TAIL);
    });
  });
});
