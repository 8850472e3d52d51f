/**
 * The business metrics the operations dashboard charts, read from the handlers' own log
 * output (Embedded Metric Format lines on stdout) while the real handlers run against
 * DynamoDB Local: each documented metric is emitted once by the call that changed the row,
 * not again on a retry or a redelivery.
 */
import { strict as assert } from 'node:assert';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import { BUSINESS_NAMESPACE, BusinessMetric, STACK_DIMENSION } from '../../core/metrics';
import { executionName } from '../../core/keys';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { putMetrics, secondsSince } from '../../handlers/shared/metrics';
import { createTask } from '../../client';
import {
  BUCKET,
  getItem,
  installMocks,
  putItem,
  setupHandlerEnv,
  stepEvent,
  uniq,
  type Ctx,
  type Mocks,
} from './_support/env';
import { LocalSfn } from './_support/local-sfn';
import { insertRecord } from './_support/stream-records';
import { until } from './_support/wait';
import { captureLogs, metricNames, metricSum, metricValues, TEST_STACK } from './_support/metrics';

type Row = Record<string, unknown>;
const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';

describe('business metrics in the handlers’ log output (EMF, DynamoDB Local)', function () {
  this.timeout(90000);
  let ctx: Ctx;
  let mocks: Mocks;
  let T: Ctx['db']['tables'];
  let sfn: LocalSfn;

  before(async () => {
    ctx = await setupHandlerEnv();
    T = ctx.db.tables;
  });
  beforeEach(() => {
    process.env.SYNC_TARGETS = '[]';
    process.env.COMMAND_MAX_WAIT_SECONDS = '3600';
    // a long heartbeat: the callback is what resumes here, not a re-check
    const definition = buildCommandDefinition({
      commandStepArn: COMMAND_STEP_ARN,
      syncTargets: [],
      waitTimeoutSeconds: 60,
      waitHeartbeatSeconds: 30,
      syncMaxConcurrency: 2,
    }) as unknown as StateMachineDefinition;
    sfn = new LocalSfn(definition, (fn) => {
      if (fn === COMMAND_STEP_ARN) return (payload) => commandStep(payload as never);
      throw new Error(`no local function for ${fn}`);
    });
    mocks = installMocks({
      onTaskSuccess: (token, output) => sfn.succeed(token, output),
      onTaskFailure: (token, error, cause) => sfn.fail(token, error, cause),
    });
  });
  afterEach(() => mocks.restore());

  async function publish(pk: string, code: string, version: number, extra: Row = {}) {
    const key = { pk, sk: `${code}@${version}` };
    await putItem(T.commands, { ...key, code, version, attributes: { v: version }, ...extra });
    return key;
  }
  const start = (key: { pk: string; sk: string }) =>
    sfn.run({ pk: key.pk, sk: key.sk }, executionName('commands', key.pk, key.sk)).result;

  describe('command workflow', () => {
    it('an applied version: CommandsApplied 1; its retried finish counts nothing more', async () => {
      const pk = uniq('TENANT');
      const k1 = await publish(pk, 'ORDER', 1);
      const { emf } = await captureLogs(() => start(k1));
      assert.equal(metricSum(emf, BusinessMetric.COMMANDS_APPLIED), 1);
      assert.deepEqual(metricNames(emf), [BusinessMetric.COMMANDS_APPLIED]);
      const retry = await captureLogs(() => commandStep(stepEvent('finish', k1) as never));
      assert.deepEqual(retry.emf, [], 'a retried finish of a COMPLETED version emits no metric');
    });

    it('version 2 before 1: VersionsWaiting 1, one VersionWaitTime when it is resumed, CommandsApplied 2', async () => {
      const pk = uniq('TENANT');
      const k2 = await publish(pk, 'ORDER', 2);
      const { emf, lines } = await captureLogs(async () => {
        const run2 = start(k2);
        await until('v2 to store its token', async () => (await getItem(T.commands, k2.pk, k2.sk))?.taskToken);
        const k1 = await publish(pk, 'ORDER', 1);
        await start(k1);
        await run2;
      });
      assert.equal(metricSum(emf, BusinessMetric.VERSIONS_WAITING), 1);
      const waits = metricValues(emf, BusinessMetric.VERSION_WAIT_TIME);
      assert.equal(waits.length, 1, 'one wait ended');
      assert.ok(Number.isInteger(waits[0]) && waits[0] >= 0, `wait seconds ${waits[0]}`);
      assert.equal(metricSum(emf, BusinessMetric.COMMANDS_APPLIED), 2);
      assert.equal(metricSum(emf, BusinessMetric.COMMANDS_FAILED), 0);
      assert.ok(
        lines.some((l) => l.includes('"waiting command resumed"')),
        'ordinary logs are in the same output',
      );
    });

    it('a conflict: CommandsFailed 1 and nothing applied; mark_failed again counts nothing more', async () => {
      const pk = uniq('TENANT');
      await putItem(T.data, { pk, sk: 'ORDER', version: 5 });
      const k3 = await publish(pk, 'ORDER', 3);
      const { emf } = await captureLogs(() => start(k3).catch(() => 'failed'));
      assert.equal(metricSum(emf, BusinessMetric.COMMANDS_FAILED), 1);
      assert.equal(metricSum(emf, BusinessMetric.COMMANDS_APPLIED), 0);
      const again = await captureLogs(() => commandStep(stepEvent('mark_failed', { ...k3, result: -1 }) as never));
      assert.deepEqual(again.emf, []);
    });

    it('a wait that ends in a re-check records the whole wait since the version first waited', async () => {
      const pk = uniq('TENANT');
      await putItem(T.data, { pk, sk: 'ORDER', version: 1 });
      await publish(pk, 'ORDER', 1, { result: 'COMPLETED' });
      const since = new Date(Date.now() - 7200_000).toISOString();
      const k2 = await publish(pk, 'ORDER', 2, { waitingSince: since });
      const { emf, result } = await captureLogs(
        () => commandStep(stepEvent('recheck_prev_command', k2) as never) as Promise<Row>,
      );
      assert.equal(result.result, 0, 'the predecessor has ended');
      const [seconds] = metricValues(emf, BusinessMetric.VERSION_WAIT_TIME);
      // two hours, plus however long this step took on a loaded machine
      assert.ok(seconds >= 7200 && seconds < 7200 + 600, `wait seconds ${seconds}`);
    });
  });

  describe('task workflow', () => {
    afterEach(() => unregisterTaskExecutor('metric-square'));

    async function runTask(items: Array<{ n: number }>) {
      const pk = uniq('TENANT');
      const config = {
        tables: { tasks: T.tasks },
        importBucket: BUCKET,
        clients: { dynamodb: ctx.doc, s3: undefined },
      };
      const task = await createTask(config, { pk, taskType: 'metric-square', items });
      const image = (await getItem(T.tasks, task.pk, task.sk))!;
      await streamRouter({ Records: [insertRecord(T.tasks, image, '1')] });
      const started = mocks.started.find((s) => (s.input as { pk: string }).pk === pk);
      const { subTasks } = started!.input as { subTasks: Array<{ pk: string; sk: string }> };
      for (const k of subTasks) await taskStep(stepEvent('iterator', k));
      return captureLogs(() => taskStep(stepEvent('finalize_task', { pk: task.pk, sk: task.sk })) as Promise<Row>);
    }

    it('TasksCompleted when every sub-task succeeded, TasksFailed when one failed; a retried finalize counts nothing', async () => {
      registerTaskExecutor('metric-square', async ({ input }) => {
        const n = (input as { n: number }).n;
        if (n < 0) throw new Error('negative');
        return { square: n * n };
      });
      const ok = await runTask([{ n: 1 }, { n: 2 }]);
      assert.equal(ok.result.status, 'COMPLETED');
      assert.equal(metricSum(ok.emf, BusinessMetric.TASKS_COMPLETED), 1);
      assert.deepEqual(metricNames(ok.emf), [BusinessMetric.TASKS_COMPLETED]);

      const bad = await runTask([{ n: 1 }, { n: -1 }]);
      assert.equal(bad.result.status, 'FAILED');
      assert.equal(metricSum(bad.emf, BusinessMetric.TASKS_FAILED), 1);
      assert.equal(metricSum(bad.emf, BusinessMetric.TASKS_COMPLETED), 0);

      const key = { pk: String(ok.result.pk), sk: String(ok.result.sk) };
      const retry = await captureLogs(() => taskStep(stepEvent('finalize_task', key)));
      assert.deepEqual(retry.emf, [], 'the task had already ended');
    });
  });

  describe('CSV import (DIRECT)', () => {
    async function directImport(csv: string) {
      const pk = uniq('IMPORT');
      const key = `imports/${pk}.csv`;
      mocks.s3Store.put(BUCKET, key, csv);
      const sk = `CSV_JOB#${pk.replace(/[^A-Za-z0-9]/g, '')}`;
      await putItem(T.importTmp, {
        pk,
        sk,
        type: 'CSV_JOB',
        jobId: sk.slice(8),
        bucket: BUCKET,
        key,
        mode: 'DIRECT',
        status: 'CREATED',
        totalRows: 0,
        processedRows: 0,
        succeededRows: 0,
        failedRows: 0,
        createdAt: new Date().toISOString(),
      });
      const message = {
        Records: [
          {
            messageId: pk,
            body: JSON.stringify({
              Type: 'Notification',
              Message: JSON.stringify({ pk, sk }),
              MessageAttributes: { action: { Type: 'String', Value: 'import-csv' } },
            }),
          },
        ],
      };
      const first = await captureLogs(() => importConsumer(message));
      const redelivered = await captureLogs(() => importConsumer(message));
      return { first, redelivered, job: (await getItem(T.importTmp, pk, sk))! };
    }

    it('a clean file: ImportJobsCompleted 1 and every row succeeded', async () => {
      const { first, redelivered, job } = await directImport('pk,code\nT1,A\nT1,B\nT1,C\n');
      assert.equal(job.status, 'COMPLETED');
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_JOBS_COMPLETED), 1);
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_ROWS_SUCCEEDED), 3);
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_ROWS_FAILED), 0);
      assert.deepEqual(redelivered.emf, [], 'a redelivered message of an ended job counts nothing');
    });

    it('a file with bad rows: ImportJobsFailed 1, rows succeeded and failed as the job records them', async () => {
      const { first, job } = await directImport('pk,code,version\nT1,A,1\nT1,,1\nT1,B,x\nT1,C,2\n');
      assert.equal(job.status, 'FAILED');
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_JOBS_FAILED), 1);
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_ROWS_SUCCEEDED), Number(job.succeededRows));
      assert.equal(metricSum(first.emf, BusinessMetric.IMPORT_ROWS_FAILED), Number(job.failedRows));
      assert.deepEqual([job.succeededRows, job.failedRows], [2, 2]);
    });
  });

  describe('the EMF writer', () => {
    it('writes one document per call, with the stack dimension, units and extra properties', async () => {
      const { emf, lines } = await captureLogs(async () => {
        putMetrics(
          { [BusinessMetric.IMPORT_ROWS_SUCCEEDED]: 4, [BusinessMetric.IMPORT_ROWS_FAILED]: 1 },
          { jobType: 'CSV_JOB' },
        );
      });
      assert.equal(lines.length, 1);
      assert.equal(emf.length, 1);
      assert.equal(emf[0]._aws.CloudWatchMetrics[0].Namespace, BUSINESS_NAMESPACE);
      assert.equal(emf[0][STACK_DIMENSION], TEST_STACK);
      assert.equal(emf[0].jobType, 'CSV_JOB');
      assert.deepEqual(emf[0]._aws.CloudWatchMetrics[0].Metrics, [
        { Name: 'ImportRowsSucceeded', Unit: 'Count' },
        { Name: 'ImportRowsFailed', Unit: 'Count' },
      ]);
    });

    it('without the stack variable publishes dimensionless metrics; drops values that are not numbers; never throws', async () => {
      const { emf, lines } = await captureLogs(async () => {
        putMetrics({ [BusinessMetric.COMMANDS_APPLIED]: 1, [BusinessMetric.COMMANDS_FAILED]: Number.NaN });
        putMetrics({ [BusinessMetric.COMMANDS_FAILED]: Number.POSITIVE_INFINITY });
      }, null);
      assert.equal(lines.length, 1, 'a call with no finite value writes nothing');
      assert.deepEqual(emf[0]._aws.CloudWatchMetrics[0].Dimensions, [[]]);
      assert.deepEqual(
        emf[0]._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name),
        [BusinessMetric.COMMANDS_APPLIED],
      );
      assert.equal(secondsSince('not a date'), undefined);
      assert.equal(secondsSince('2026-01-01T00:00:00.000Z', Date.parse('2026-01-01T00:01:30.400Z')), 90);
    });
  });
});
