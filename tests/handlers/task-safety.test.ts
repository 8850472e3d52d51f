/**
 * Issue 9, items 7 and 13 on the task handlers (DynamoDB Local): a task whose sub-task cannot
 * be written ends FAILED with the reason, and a task finalized while an iterator still runs
 * keeps `total = succeeded + failed` with every sub-task ended.
 */
import { strict as assert } from 'node:assert';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { finalizeHooks } from '../../handlers/task/finalize';
import { createTask } from '../../client';
import { BUCKET, getItem, queryPk, stepEvent, uniq, useHandlerEnv } from './_support/env';
import { S3Client } from '@aws-sdk/client-s3';
import { insertRecord } from './_support/stream-records';
import { until } from './_support/wait';

describe('task safety (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();
  afterEach(() => {
    unregisterTaskExecutor('gated');
    delete finalizeHooks.afterSubTasksRead;
  });
  const config = () => ({
    tables: { tasks: env.tables.tasks },
    importBucket: BUCKET,
    clients: { dynamodb: env.ctx.doc, s3: new S3Client({ region: 'us-east-1' }) },
  });
  const subTasks = async (pk: string) => (await queryPk(env.tables.tasks, pk)).filter((r) => r.type === 'SUB_TASK');

  it('item 7: a sub-task that cannot be written (a 450 KiB item) → the task ends FAILED with the reason, nothing left open', async () => {
    const pk = uniq('TENANT');
    const task = await createTask(config(), {
      pk,
      taskType: 'gated',
      items: [{ n: 1 }, { blob: 'x'.repeat(450 * 1024) }, { n: 3 }],
    });
    const image = (await getItem(env.tables.tasks, task.pk, task.sk))!;
    assert.ok(image.inputRef, 'the large input went to S3');
    const res = await streamRouter({ Records: [insertRecord(env.tables.tasks, image, '1')] });
    assert.deepEqual(res.batchItemFailures, [], 'nothing for the stream to retry into its DLQ');
    const parent = await getItem(env.tables.tasks, task.pk, task.sk);
    assert.equal(parent?.status, 'FAILED');
    assert.match(String(parent?.error), /sub-task 1 .*bytes/);
    assert.equal(env.mocks.started.length, 0, 'no execution started');
    for (const s of await subTasks(pk)) assert.equal(s.status, 'FAILED', String(s.sk));
    assert.equal(Number(parent?.succeeded) + Number(parent?.failed), Number(parent?.total));
  });

  it('item 13: finalized (stopped task) while an iterator still runs — every sub-task ends and total = succeeded + failed', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    registerTaskExecutor('gated', async ({ index }) => {
      if (index === 1) await new Promise(() => undefined); // this iterator's Lambda dies: it never ends the sub-task
      await gate;
      return 'done';
    });
    const pk = uniq('TENANT');
    const task = await createTask(config(), { pk, taskType: 'gated', items: [0, 1, 2, 3] });
    await streamRouter({
      Records: [insertRecord(env.tables.tasks, (await getItem(env.tables.tasks, task.pk, task.sk))!, '1')],
    });
    const input = env.mocks.started[0].input as { pk: string; sk: string; subTasks: Array<Record<string, unknown>> };
    const iterators: Array<Promise<unknown>> = [];
    const status = async (i: number) =>
      (await getItem(env.tables.tasks, String(input.subTasks[i].pk), String(input.subTasks[i].sk)))?.status;
    iterators.push(taskStep(stepEvent('iterator', input.subTasks[0]))); // PROCESSING, blocked
    await until('sub-task 0 to be PROCESSING', async () => (await status(0)) === 'PROCESSING');
    // the iterator of sub-task 1 moves CREATED → PROCESSING right after finalize read it as CREATED
    finalizeHooks.afterSubTasksRead = async () => {
      delete finalizeHooks.afterSubTasksRead;
      iterators.push(taskStep(stepEvent('iterator', input.subTasks[1])));
      await until('sub-task 1 to be PROCESSING', async () => (await status(1)) === 'PROCESSING');
    };
    await taskStep(stepEvent('finalize_task', { ...input, error: { Error: 'States.Timeout', Cause: 'stopped' } }));
    open(); // the still-running iterator of sub-task 0 now ends
    await iterators[0];
    const subs = await subTasks(pk);
    for (const s of subs)
      assert.ok(s.status === 'COMPLETED' || s.status === 'FAILED', `${String(s.sk)} ${String(s.status)}`);
    const parent = (await getItem(env.tables.tasks, task.pk, task.sk))!;
    const completed = subs.filter((s) => s.status === 'COMPLETED').length;
    const failed = subs.filter((s) => s.status === 'FAILED').length;
    assert.equal(parent.status, 'FAILED');
    assert.deepEqual(
      [parent.total, parent.succeeded, parent.failed],
      [4, completed, failed],
      'the counters are the sub-tasks as they ended',
    );
  });
});
