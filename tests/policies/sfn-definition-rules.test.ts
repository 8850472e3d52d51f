import { strict as assert } from 'assert';
import { distributedMapBatchBytes, expressNoWaitIntegrations, retryJitter } from '../../policies/rules';
import { distributedMap, inlineMap, lambdaTask, machine, messages, run, stateMachine } from './helpers';

const wait = {
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  TimeoutSeconds: 60,
  End: true,
};
const sync = { Type: 'Task', Resource: 'arn:aws:states:::states:startExecution.sync:2', End: true };
const ecsSync = { Type: 'Task', Resource: 'arn:aws:states:::ecs:runTask.sync', End: true };
const activity = {
  Type: 'Task',
  Resource: 'arn:aws:states:eu-west-1:123456789012:activity:a',
  TimeoutSeconds: 60,
  End: true,
};

describe('sfn-express-no-wait-integrations', () => {
  const policy = expressNoWaitIntegrations;
  const express = (def: unknown) => stateMachine(def, { type: 'EXPRESS' });

  it('is mandatory', () => assert.equal(policy.enforcementLevel, 'mandatory'));

  it('fails .waitForTaskToken, .sync, .sync:2 and activities in an EXPRESS machine', async () => {
    for (const t of [wait, sync, ecsSync, activity]) {
      assert.equal((await run(policy, express(machine({ t })))).violations.length, 1, t.Resource);
    }
  });

  it('finds them nested in Parallel and Map', async () => {
    const def = machine({
      p: { Type: 'Parallel', End: true, Branches: [machine({ m: inlineMap({ w: wait }, { MaxConcurrency: 2 }) })] },
    });
    const msgs = messages(await run(policy, express(def)));
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /"p\/Branches\[0\]\/m\/ItemProcessor\/w".*EXPRESS state machine/);
  });

  it('passes request-response tasks in EXPRESS, and callbacks in STANDARD (explicit or default)', async () => {
    assert.deepEqual((await run(policy, express(machine({ t: lambdaTask() })))).violations, []);
    assert.deepEqual((await run(policy, stateMachine(machine({ t: wait }), { type: 'STANDARD' }))).violations, []);
    assert.deepEqual((await run(policy, stateMachine(machine({ t: sync })))).violations, []);
  });

  it('checks EXPRESS children of a Distributed Map in a STANDARD machine', async () => {
    const bad = machine({ import_rows: distributedMap({ csv_rows_handler: wait }, { MaxConcurrency: 50 }, 'EXPRESS') });
    const msgs = messages(await run(policy, stateMachine(bad)));
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /import_rows\/ItemProcessor\/csv_rows_handler.*EXPRESS child workflow/);
    const ok = machine({ import_rows: distributedMap({ csv_rows_handler: wait }, { MaxConcurrency: 50 }, 'STANDARD') });
    assert.deepEqual((await run(policy, stateMachine(ok))).violations, []);
  });

  it('reports an unknown definition or type', async () => {
    assert.match(messages(await run(policy, stateMachine(undefined, { type: 'EXPRESS' })))[0], /unknown at preview/);
    assert.match(
      messages(
        await run(policy, stateMachine(machine({ t: lambdaTask() }), { type: '04da6b54-80e4-46f7-96ec-b56ff0331ba9' })),
      )[0],
      /type is unknown/,
    );
  });
});

describe('sfn-distributed-map-batch-bytes', () => {
  const policy = distributedMapBatchBytes;
  const withBatcher = (batcher: Record<string, unknown>) =>
    stateMachine(
      machine({ import_rows: distributedMap({ h: lambdaTask() }, { MaxConcurrency: 50, ItemBatcher: batcher }) }),
    );

  it('is mandatory with minInputBytesPerBatch default 1024', () => {
    assert.equal(policy.enforcementLevel, 'mandatory');
    assert.equal(policy.configSchema?.properties['minInputBytesPerBatch']?.default, 1024);
  });

  it("fails the seed's 10 bytes and values above 256 KiB", async () => {
    assert.match(
      messages(await run(policy, withBatcher({ MaxInputBytesPerBatch: 10 })))[0],
      /"import_rows".*10, below the minimum 1024/,
    );
    assert.match(
      messages(await run(policy, withBatcher({ MaxInputBytesPerBatch: 262145 })))[0],
      /above the AWS limit 262144/,
    );
    assert.equal((await run(policy, withBatcher({ MaxInputBytesPerBatch: 'big' }))).violations.length, 1);
  });

  it('passes sane values, MaxItemsPerBatch alone, paths and maps without a batcher', async () => {
    for (const b of [
      { MaxInputBytesPerBatch: 1024 },
      { MaxInputBytesPerBatch: 262144 },
      { MaxItemsPerBatch: 100 },
      { MaxInputBytesPerBatchPath: '$.bytes' },
    ]) {
      assert.deepEqual((await run(policy, withBatcher(b))).violations, [], JSON.stringify(b));
    }
    assert.deepEqual(
      (await run(policy, stateMachine(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 2 }) }))))
        .violations,
      [],
    );
  });

  it('honours a raised minimum from config', async () => {
    const r = withBatcher({ MaxInputBytesPerBatch: 2048 });
    assert.deepEqual((await run(policy, r)).violations, []);
    assert.match(
      messages(await run(policy, r, { 'sfn-distributed-map-batch-bytes': { minInputBytesPerBatch: 4096 } }))[0],
      /below the minimum 4096/,
    );
  });

  it('finds a nested Distributed Map', async () => {
    const def = machine({
      p: {
        Type: 'Parallel',
        End: true,
        Branches: [
          machine({
            d: distributedMap({ h: lambdaTask() }, { MaxConcurrency: 5, ItemBatcher: { MaxInputBytesPerBatch: 10 } }),
          }),
        ],
      },
    });
    assert.match(messages(await run(policy, stateMachine(def)))[0], /"p\/Branches\[0\]\/d"/);
  });

  it('reports an unknown definition', async () => {
    assert.equal((await run(policy, stateMachine(undefined))).violations.length, 1);
  });
});

describe('sfn-retry-jitter', () => {
  const policy = retryJitter;
  const withRetry = (retry: unknown[]) => stateMachine(machine({ t: lambdaTask(undefined, { Retry: retry }) }));

  it('is advisory', () => assert.equal(policy.enforcementLevel, 'advisory'));

  it('flags exponential backoff without FULL jitter (explicit or default BackoffRate)', async () => {
    const r = await run(
      policy,
      withRetry([{ ErrorEquals: ['Lambda.TooManyRequestsException'], BackoffRate: 2, MaxAttempts: 3 }]),
    );
    assert.equal(r.violations.length, 1);
    assert.equal(r.violations[0].enforcementLevel, 'advisory');
    assert.match(messages(r)[0], /"t" Retry\[0\] \(Lambda.TooManyRequestsException\)/);
    // Omitted, MaxAttempts is 3: the backoff applies.
    assert.equal((await run(policy, withRetry([{ ErrorEquals: ['States.ALL'] }]))).violations.length, 1);
    assert.equal(
      (await run(policy, withRetry([{ ErrorEquals: ['States.ALL'], MaxAttempts: 2, BackoffRate: 2 }]))).violations
        .length,
      1,
    );
  });

  it('passes FULL jitter, linear retries, disabled retriers and single retries (no backoff happens)', async () => {
    for (const r of [
      { ErrorEquals: ['States.ALL'], BackoffRate: 2, JitterStrategy: 'FULL' },
      { ErrorEquals: ['States.ALL'], BackoffRate: 1 },
      { ErrorEquals: ['States.ALL'], MaxAttempts: 0 },
      { ErrorEquals: ['States.ALL'], MaxAttempts: 1, BackoffRate: 2 },
      { ErrorEquals: ['States.ALL'], MaxAttempts: 1 },
    ]) {
      assert.deepEqual((await run(policy, withRetry([r]))).violations, [], JSON.stringify(r));
    }
  });

  it('finds retriers in nested states', async () => {
    const def = machine({
      m: inlineMap(
        { inner: lambdaTask(undefined, { Retry: [{ ErrorEquals: ['States.ALL'], BackoffRate: 1.5 }] }) },
        { MaxConcurrency: 2 },
      ),
    });
    assert.match(messages(await run(policy, stateMachine(def)))[0], /"m\/ItemProcessor\/inner"/);
  });

  it('can be made mandatory through config', async () => {
    const r = await run(policy, withRetry([{ ErrorEquals: ['States.ALL'] }]), { 'sfn-retry-jitter': 'mandatory' });
    assert.equal(r.violations[0].enforcementLevel, 'mandatory');
  });
});
