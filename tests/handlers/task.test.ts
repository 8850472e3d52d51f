import { strict as assert } from 'node:assert';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as taskConsumer } from '../../handlers/task-action-consumer';
import { createTask } from '../../client';
import { MAX_TASK_INPUT_BYTES } from '../../handlers/task/prepare';
import { SFN_MAX_PAYLOAD_BYTES } from '../../core/sfn';
import {
  ARN,
  BUCKET,
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
import { insertRecord } from './_support/stream-records';

type Row = Record<string, unknown>;

describe('task workflow (DynamoDB Local)', function () {
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
  });
  afterEach(() => {
    mocks.restore();
    unregisterTaskExecutor('square');
    unregisterTaskExecutor('remote');
    process.env.TASK_EXECUTORS = '{}';
  });

  const config = () => ({
    tables: { tasks: T.tasks },
    importBucket: BUCKET,
    clients: { dynamodb: ctx.doc, s3: undefined },
  });

  it('stream INSERT → sub-task rows + task machine started once (deterministic name)', async () => {
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'square', items: [{ n: 1 }, { n: 2 }, { n: 3 }] });
    const image = (await getItem(T.tasks, task.pk, task.sk))!;
    const rec = insertRecord(T.tasks, image, '100');
    const res = await streamRouter({ Records: [rec] });
    assert.deepEqual(res.batchItemFailures, []);
    await streamRouter({ Records: [rec] }); // redelivered
    assert.equal(mocks.started.length, 1);
    const started = mocks.started[0];
    assert.equal(started.stateMachineArn, ARN.task);
    assert.ok(started.name.length <= 80 && /^[A-Za-z0-9_-]+$/.test(started.name));
    const input = started.input as { pk: string; sk: string; subTasks: Array<{ pk: string; sk: string }> };
    assert.equal(input.subTasks.length, 3);
    const subs = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    assert.deepEqual(
      subs.map((s) => s.status),
      ['CREATED', 'CREATED', 'CREATED'],
    );
    assert.deepEqual(
      subs.map((s) => s.input),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
    const parent = await getItem(T.tasks, task.pk, task.sk);
    assert.equal(parent?.status, 'PROCESSING');
    assert.equal(parent?.total, 3);
    // sub-task INSERTs reaching the router are ignored
    const subRes = await streamRouter({ Records: [insertRecord(T.tasks, subs[0], '101')] });
    assert.deepEqual(subRes.batchItemFailures, []);
    assert.equal(mocks.started.length, 1);
  });

  it('iterator: some executors fail, the others complete; counters and final status are right', async () => {
    registerTaskExecutor('square', async ({ input }) => {
      const n = (input as { n: number }).n;
      if (n % 3 === 0) throw new Error(`cannot square ${n}`);
      return { square: n * n };
    });
    const pk = uniq('TENANT');
    const task = await createTask(config(), {
      pk,
      taskType: 'square',
      items: Array.from({ length: 7 }, (_, i) => ({ n: i + 1 })),
    });
    await streamRouter({ Records: [insertRecord(T.tasks, (await getItem(T.tasks, task.pk, task.sk))!, '1')] });
    const { subTasks } = mocks.started[0].input as { subTasks: Array<{ pk: string; sk: string }> };
    // the Map runs 2 at a time; run them concurrently in pairs like MaxConcurrency 2 would
    const outcomes: Row[] = [];
    for (let i = 0; i < subTasks.length; i += 2) {
      outcomes.push(
        ...((await Promise.all(subTasks.slice(i, i + 2).map((k) => taskStep(stepEvent('iterator', k))))) as Row[]),
      );
    }
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['COMPLETED', 'COMPLETED', 'FAILED', 'COMPLETED', 'COMPLETED', 'FAILED', 'COMPLETED'],
    );
    // re-running an ended sub-task (a retry) changes nothing
    await taskStep(stepEvent('iterator', subTasks[2]));
    let parent = (await getItem(T.tasks, task.pk, task.sk))!;
    assert.deepEqual([parent.succeeded, parent.failed], [5, 2]);

    const summary = (await taskStep(stepEvent('finalize_task', mocks.started[0].input))) as Row;
    assert.deepEqual(summary, { pk: task.pk, sk: task.sk, status: 'FAILED', total: 7, succeeded: 5, failed: 2 });
    parent = (await getItem(T.tasks, task.pk, task.sk))!;
    assert.equal(parent.status, 'FAILED');
    const subs = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    assert.deepEqual(subs[0].result, { square: 1 });
    assert.match(String(subs[2].error), /cannot square 3/);
    const events = mocks.published.filter((p) => p.action === 'task-status' && p.topic === ARN.mainTopic);
    assert.ok(events.some((e) => e.body.sk === subs[2].sk && e.body.status === 'FAILED'));
    assert.ok(events.some((e) => e.body.sk === subs[0].sk && e.body.status === 'PROCESSING'));
    assert.ok(events.some((e) => e.body.sk === task.sk && e.body.status === 'FAILED' && e.body.succeeded === 5));
  });

  it('TASK_EXECUTORS: Lambda executors invoked with client-lambda; FunctionError recorded; all succeed → COMPLETED', async () => {
    process.env.TASK_EXECUTORS = JSON.stringify({
      remote: 'arn:aws:lambda:us-east-1:123456789012:function:remote-exec',
    });
    const calls: Row[] = [];
    mocks.lambda.on(InvokeCommand).callsFake(async (input: { FunctionName: string; Payload: Uint8Array }) => {
      const req = JSON.parse(Buffer.from(input.Payload).toString()) as Row;
      calls.push({ fn: input.FunctionName, ...req });
      return { StatusCode: 200, Payload: Buffer.from(JSON.stringify({ ok: (req.input as Row).id })) };
    });
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'remote', items: [{ id: 'a' }, { id: 'b' }] });
    await streamRouter({ Records: [insertRecord(T.tasks, (await getItem(T.tasks, task.pk, task.sk))!, '1')] });
    const input = mocks.started[0].input as { subTasks: Array<{ pk: string; sk: string }> };
    for (const k of input.subTasks) await taskStep(stepEvent('iterator', k));
    assert.equal(calls.length, 2);
    assert.equal(calls[0].fn, 'arn:aws:lambda:us-east-1:123456789012:function:remote-exec');
    assert.deepEqual(calls[0].parent, { pk: task.pk, sk: task.sk });
    const done = (await taskStep(stepEvent('finalize_task', input))) as Row;
    assert.equal(done.status, 'COMPLETED');

    // FunctionError
    mocks.lambda.on(InvokeCommand).callsFake(async () => ({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: Buffer.from(JSON.stringify({ errorType: 'TypeError', errorMessage: 'x is undefined' })),
    }));
    const t2 = await createTask(config(), { pk, taskType: 'remote', items: [{ id: 'c' }] });
    await streamRouter({ Records: [insertRecord(T.tasks, (await getItem(T.tasks, t2.pk, t2.sk))!, '2')] });
    const in2 = mocks.started[1].input as { subTasks: Array<{ pk: string; sk: string }> };
    const o = (await taskStep(stepEvent('iterator', in2.subTasks[0]))) as Row;
    assert.equal(o.status, 'FAILED');
    assert.match(String(o.error), /TypeError: x is undefined/);
  });

  it('unknown task type: every sub-task FAILED with the reason (not thrown)', async () => {
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'nobody-home', items: [1, 2] });
    await streamRouter({ Records: [insertRecord(T.tasks, (await getItem(T.tasks, task.pk, task.sk))!, '1')] });
    const input = mocks.started[0].input as { subTasks: Array<{ pk: string; sk: string }> };
    for (const k of input.subTasks) {
      const o = (await taskStep(stepEvent('iterator', k))) as Row;
      assert.equal(o.status, 'FAILED');
      assert.match(String(o.error), /no executor registered for task type "nobody-home"/);
    }
  });

  it('finalize_task after a machine failure ends unprocessed sub-tasks FAILED with a reason and counts them', async () => {
    registerTaskExecutor('square', () => 'ok');
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'square', items: [1, 2, 3] });
    await streamRouter({ Records: [insertRecord(T.tasks, (await getItem(T.tasks, task.pk, task.sk))!, '1')] });
    const input = mocks.started[0].input as { subTasks: Array<{ pk: string; sk: string }> };
    await taskStep(stepEvent('iterator', input.subTasks[0]));
    const summary = (await taskStep(
      stepEvent('finalize_task', { ...input, error: { Error: 'States.Timeout', Cause: 'map timed out' } }),
    )) as Row;
    assert.deepEqual([summary.status, summary.succeeded, summary.failed], ['FAILED', 1, 2]);
    const subs = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    assert.match(String(subs[1].error), /not processed: task machine failed \(States.Timeout: map timed out\)/);
    assert.ok(mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.kind === 'task-failed'));
  });

  it('task-action consumer: task-start re-drive is idempotent; task-execute runs a sub-task and finalizes the parent after the last one', async () => {
    registerTaskExecutor('square', ({ input }) => (input as number) * 2);
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'square', items: [1, 2] });
    const start = { messageId: 's', body: JSON.stringify({ action: 'task-start', pk: task.pk, sk: task.sk }) };
    assert.deepEqual((await taskConsumer({ Records: [start, start] })).batchItemFailures, []);
    assert.equal(mocks.started.length, 1);
    const subs = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    const res = await taskConsumer({
      Records: [
        ...subs.map((s, i) => ({
          messageId: `e${i}`,
          body: JSON.stringify({ action: 'task-execute', pk: s.pk, sk: s.sk }),
        })),
        { messageId: 'bad', body: JSON.stringify({ action: 'task-execute', pk, sk: 'missing' }) },
      ],
    });
    assert.deepEqual(res.batchItemFailures, [{ itemIdentifier: 'bad' }]);
    const parent = await getItem(T.tasks, task.pk, task.sk);
    assert.equal(parent?.status, 'COMPLETED');
    assert.deepEqual([parent?.succeeded, parent?.failed], [2, 0]);
  });
  it('a task-start re-drive that still saw subTasksCreated unset never resets a sub-task the machine already ran', async () => {
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'square', items: [1, 2] });
    const image = (await getItem(T.tasks, task.pk, task.sk))!;
    assert.deepEqual((await streamRouter({ Records: [insertRecord(T.tasks, image, '300')] })).batchItemFailures, []);
    const [sub0, sub1] = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    // the machine has run sub-task 0 (and sub-task 1 is being processed)
    await putItem(T.tasks, { ...sub0, status: 'COMPLETED', result: 2, finishedAt: new Date().toISOString() });
    await putItem(T.tasks, { ...sub1, status: 'PROCESSING' });
    // the concurrent task-start read the parent before the stream invocation set the flag:
    // replay exactly that view (the parent as it was first inserted)
    const parent = (await getItem(T.tasks, task.pk, task.sk))!;
    await putItem(T.tasks, { ...image, succeeded: parent.succeeded, failed: parent.failed });
    const start = { messageId: 'redrive', body: JSON.stringify({ action: 'task-start', pk: task.pk, sk: task.sk }) };
    assert.deepEqual((await taskConsumer({ Records: [start] })).batchItemFailures, []);
    const subs = (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK');
    assert.deepEqual(
      subs.map((s) => s.status),
      ['COMPLETED', 'PROCESSING'],
      'existing sub-tasks are left alone',
    );
    assert.equal(subs[0].result, 2);
    assert.equal(mocks.started.length, 1, 'the second start finds the execution already there');
    assert.equal((await getItem(T.tasks, task.pk, task.sk))?.subTasksCreated, true);
  });

  it('sub-task keys that would not fit twice into a Lambda payload: the task FAILS with the reason, nothing started or created', async () => {
    // what finalize_task receives at the cap: $$ (with Execution.Input) + $ (the same keys) + a 32 KiB Cause
    const keysAtCap = { pk: 'p', sk: 's', subTasks: [{ pk: 'p', sk: 'x'.repeat(MAX_TASK_INPUT_BYTES - 60) }] };
    const payload = {
      source: 'step-function',
      context: {
        Execution: {
          Id: 'arn:aws:states:us-east-1:123456789012:execution:cqrs-prod-task:' + 'n'.repeat(80),
          Input: keysAtCap,
          Name: 'n'.repeat(80),
          RoleArn: 'arn:aws:iam::123456789012:role/' + 'r'.repeat(64),
          StartTime: new Date().toISOString(),
        },
        State: { Name: 'finalize_task', EnteredTime: new Date().toISOString(), RetryCount: 2 },
        StateMachine: {
          Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-prod-task',
          Name: 'cqrs-prod-task',
        },
      },
      input: { ...keysAtCap, error: { Error: 'States.TaskFailed', Cause: 'c'.repeat(32768) } },
    };
    assert.ok(
      Buffer.byteLength(JSON.stringify(payload)) < SFN_MAX_PAYLOAD_BYTES,
      'the cap leaves room for both copies and a caught error',
    );

    // 1000 sub-tasks with long keys: ~150 KB of keys, under the old 255 KiB check, over the cap
    const pk = uniq('TENANT') + '#' + 'p'.repeat(90);
    const task = await createTask(config(), {
      pk,
      taskType: 'square',
      items: Array.from({ length: 1000 }, (_, i) => i),
    });
    const bytes = Buffer.byteLength(
      JSON.stringify({
        pk: task.pk,
        sk: task.sk,
        subTasks: Array.from({ length: 1000 }, (_, i) => ({
          pk: task.pk,
          sk: `${task.sk}#SUB#${String(i).padStart(6, '0')}`,
        })),
      }),
    );
    assert.ok(bytes > SFN_MAX_PAYLOAD_BYTES / 2 && bytes < SFN_MAX_PAYLOAD_BYTES - 1024, `keys: ${bytes} bytes`);
    const image = (await getItem(T.tasks, task.pk, task.sk))!;
    assert.deepEqual((await streamRouter({ Records: [insertRecord(T.tasks, image, '400')] })).batchItemFailures, []);
    assert.equal(mocks.started.length, 0, 'no execution that would die with States.DataLimitExceeded');
    const row = await getItem(T.tasks, task.pk, task.sk);
    assert.equal(row?.status, 'FAILED');
    assert.match(
      String(row?.error),
      /1000 sub-tasks: their keys \(\d+ bytes\) exceed the 102400 bytes .*split it into several tasks/,
    );
    assert.equal(
      (await queryPk(T.tasks, pk)).filter((r) => r.type === 'SUB_TASK').length,
      0,
      'no orphan sub-task rows',
    );
    assert.ok(mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.kind === 'task-failed'));
  });
});
