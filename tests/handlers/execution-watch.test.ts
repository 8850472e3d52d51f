import { strict as assert } from 'node:assert';
import { DescribeExecutionCommand, SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { handler as executionWatchHandler } from '../../handlers/execution-watch';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as csvStep } from '../../handlers/import-csv-step';
import { errorsPk, rowsPk } from '../../handlers/import/model';
import { subTaskSk } from '../../core/keys';
import {
  handleExecutionEvent,
  machineOf,
  parseExecutionEvent,
  UnknownStateMachineError,
} from '../../handlers/triggers/execution-watch';
import { ARN, BUCKET, getItem, putItem, queryPk, stepEvent, uniq, useHandlerEnv } from './_support/env';
import { stagedRows } from './_support/imports';

type Row = Record<string, unknown>;

const executionArn = (machineArn: string, name: string): string =>
  `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** An EventBridge "Step Functions Execution Status Change" event as the rule delivers it. */
function statusEvent(machineArn: string, name: string, status: string, input: unknown, extra: Row = {}): Row {
  return {
    version: '0',
    id: `evt-${name}-${status}`,
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [executionArn(machineArn, name)],
    detail: {
      executionArn: executionArn(machineArn, name),
      stateMachineArn: machineArn,
      name,
      status,
      startDate: Date.now() - 60000,
      stopDate: Date.now(),
      input: input === undefined ? null : JSON.stringify(input),
      inputDetails: { included: input !== undefined },
      output: null,
      outputDetails: null,
      error: null,
      cause: null,
      ...extra,
    },
  };
}

const sqs = (...bodies: Array<[string, unknown]>) => ({
  Records: bodies.map(([messageId, body]) => ({
    messageId,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })),
});

describe('execution-watch (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();

  const watchAlarms = () =>
    env.mocks.published.filter((p) => p.topic === ARN.alarmTopic && p.body.kind === 'execution-ended');

  describe('task machine', () => {
    async function taskWithMixedSubTasks(): Promise<{ pk: string; sk: string; subs: string[] }> {
      const pk = uniq('TENANT');
      const sk = `TASK#${pk.replace(/[^A-Za-z0-9]/g, '')}`;
      const statuses = ['COMPLETED', 'FAILED', 'PROCESSING', 'CREATED', 'CREATED'];
      await putItem(env.tables.tasks, {
        pk,
        sk,
        type: 'TASK',
        taskType: 'square',
        status: 'PROCESSING',
        subTasksCreated: true,
        total: statuses.length,
        succeeded: 1,
        failed: 1,
      });
      const subs: string[] = [];
      for (const [index, status] of statuses.entries()) {
        const s = subTaskSk(sk, index);
        subs.push(s);
        await putItem(env.tables.tasks, {
          pk,
          sk: s,
          type: 'SUB_TASK',
          parentPk: pk,
          parentSk: sk,
          index,
          taskType: 'square',
          input: index,
          status,
          ...(status === 'FAILED' ? { error: 'Error: executor said no' } : {}),
        });
      }
      return { pk, sk, subs };
    }

    it('TIMED_OUT with a PROCESSING parent → parent FAILED, open sub-tasks FAILED with the reason, counters right, one alarm', async () => {
      const t = await taskWithMixedSubTasks();
      const event = statusEvent(ARN.task, 'tasks-run-1', 'TIMED_OUT', {
        pk: t.pk,
        sk: t.sk,
        subTasks: t.subs.map((sk) => ({ pk: t.pk, sk })),
      });
      const res = await executionWatchHandler(sqs(['m1', event]));
      assert.deepEqual(res.batchItemFailures, []);

      const parent = (await getItem(env.tables.tasks, t.pk, t.sk))!;
      assert.equal(parent.status, 'FAILED');
      assert.deepEqual([parent.total, parent.succeeded, parent.failed], [5, 1, 4]);
      assert.match(
        String(parent.error),
        /ExecutionTimedOut: execution tasks-run-1 of the task machine ended TIMED_OUT/,
      );
      const subs = (await queryPk(env.tables.tasks, t.pk)).filter((r) => r.type === 'SUB_TASK');
      assert.deepEqual(
        subs.map((s) => s.status),
        ['COMPLETED', 'FAILED', 'FAILED', 'FAILED', 'FAILED'],
      );
      assert.equal(subs[1].error, 'Error: executor said no', 'a sub-task that had already failed keeps its own reason');
      for (const s of subs.slice(2))
        assert.match(String(s.error), /not processed: task machine failed \(ExecutionTimedOut: .*TIMED_OUT/);

      const alarms = watchAlarms();
      assert.equal(alarms.length, 1);
      assert.equal(alarms[0].action, 'sfn-alarm');
      assert.deepEqual(
        [
          alarms[0].body.machine,
          alarms[0].body.executionArn,
          alarms[0].body.status,
          alarms[0].body.pk,
          alarms[0].body.sk,
          alarms[0].body.rowStatus,
        ],
        ['task', executionArn(ARN.task, 'tasks-run-1'), 'TIMED_OUT', t.pk, t.sk, 'FAILED'],
      );
      assert.ok(
        env.mocks.published.some(
          (p) =>
            p.topic === ARN.mainTopic && p.action === 'task-status' && p.body.sk === t.sk && p.body.status === 'FAILED',
        ),
        'the usual task-status event',
      );
    });

    it('the same event twice → the second does nothing', async () => {
      const t = await taskWithMixedSubTasks();
      const event = statusEvent(ARN.task, 'tasks-run-2', 'TIMED_OUT', { pk: t.pk, sk: t.sk });
      assert.deepEqual((await executionWatchHandler(sqs(['a', event]))).batchItemFailures, []);
      const after1 = await getItem(env.tables.tasks, t.pk, t.sk);
      const subs1 = await queryPk(env.tables.tasks, t.pk);
      const published = env.mocks.sns.commandCalls(PublishCommand).length;

      const res = await executionWatchHandler(sqs(['b', event]));
      assert.deepEqual(res.batchItemFailures, []);
      assert.deepEqual(await getItem(env.tables.tasks, t.pk, t.sk), after1, 'parent untouched');
      assert.deepEqual(await queryPk(env.tables.tasks, t.pk), subs1, 'sub-tasks untouched');
      assert.equal(env.mocks.sns.commandCalls(PublishCommand).length, published, 'no second alarm or status event');
      assert.equal(watchAlarms().length, 1);
      assert.deepEqual(await handleExecutionEvent(event), {
        kind: 'already-terminal',
        machine: 'task',
        key: { pk: t.pk, sk: t.sk },
        rowStatus: 'FAILED',
      });
    });

    it('input left out of the event (too large) → read with DescribeExecution', async () => {
      const t = await taskWithMixedSubTasks();
      env.mocks.sfn
        .on(DescribeExecutionCommand)
        .resolves({ input: JSON.stringify({ pk: t.pk, sk: t.sk, subTasks: [] }) });
      const event = statusEvent(ARN.task, 'tasks-big', 'ABORTED', undefined);
      const out = await handleExecutionEvent(event);
      assert.equal(out.kind, 'failed');
      assert.deepEqual(
        env.mocks.sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn),
        [executionArn(ARN.task, 'tasks-big')],
      );
      assert.equal((await getItem(env.tables.tasks, t.pk, t.sk))?.status, 'FAILED');
    });
  });

  describe('command machine', () => {
    const call = (state: string, input: Row, taskToken?: string) =>
      commandStep(stepEvent(state, input, { taskToken })) as Promise<Row>;

    it('ABORTED while version N+1 waits with a token → N FAILED with the reason, N+1 released (SendTaskSuccess)', async () => {
      const pk = uniq();
      await putItem(env.tables.commands, {
        pk,
        sk: 'A@1',
        code: 'A',
        version: 1,
        attributes: { v: 1 },
        status: 'sync_data:STARTED',
      });
      await putItem(env.tables.commands, { pk, sk: 'A@2', code: 'A', version: 2, attributes: { v: 2 } });
      assert.equal((await call('check_version', { pk, sk: 'A@2' })).result, 1);
      await call('wait_prev_command', { pk, sk: 'A@2', result: 1 }, 'token-2');
      assert.equal(env.mocks.sfn.commandCalls(SendTaskSuccessCommand).length, 0, 'N+1 waits');

      const event = statusEvent(
        ARN.command,
        'commands-A-1',
        'ABORTED',
        { pk, sk: 'A@1' },
        { cause: 'stopped by operator' },
      );
      const res = await executionWatchHandler(sqs(['c1', event]));
      assert.deepEqual(res.batchItemFailures, []);

      const n = (await getItem(env.tables.commands, pk, 'A@1'))!;
      assert.equal(n.result, 'FAILED');
      assert.equal(n.status, 'FAILED');
      assert.match(
        String(n.failedReason),
        /ExecutionAborted: execution commands-A-1 of the command machine ended ABORTED \(stopped by operator\)/,
      );
      const sent = env.mocks.sfn.commandCalls(SendTaskSuccessCommand);
      assert.equal(sent.length, 1);
      assert.equal(sent[0].args[0].input.taskToken, 'token-2');
      const next = (await getItem(env.tables.commands, pk, 'A@2'))!;
      assert.equal(next.taskToken, undefined);
      assert.equal(next.resumedBy, 'mark_failed:1');

      const alarms = watchAlarms();
      assert.equal(alarms.length, 1);
      assert.deepEqual(
        [alarms[0].body.machine, alarms[0].body.status, alarms[0].body.executionArn],
        ['command', 'ABORTED', executionArn(ARN.command, 'commands-A-1')],
      );
      assert.ok(
        env.mocks.published.some(
          (p) => p.body.kind === 'command-failed' && p.body.executionArn === executionArn(ARN.command, 'commands-A-1'),
        ),
        "mark_failed's own alarm",
      );

      // redelivery: N already FAILED → nothing
      const before = env.mocks.sns.commandCalls(PublishCommand).length;
      assert.deepEqual((await executionWatchHandler(sqs(['c2', event]))).batchItemFailures, []);
      assert.equal(env.mocks.sns.commandCalls(PublishCommand).length, before);
      assert.equal(env.mocks.sfn.commandCalls(SendTaskSuccessCommand).length, 1);
    });

    it('FAILED after mark_failed already ran → nothing', async () => {
      const pk = uniq();
      await putItem(env.tables.commands, {
        pk,
        sk: 'A@1',
        code: 'A',
        version: 1,
        status: 'FAILED',
        result: 'FAILED',
        failedReason: 'Boom',
      });
      const out = await handleExecutionEvent(
        statusEvent(ARN.command, 'c', 'FAILED', { pk, sk: 'A@1' }, { error: 'CommandFailed', cause: 'Boom' }),
      );
      assert.equal(out.kind, 'already-terminal');
      assert.equal((await getItem(env.tables.commands, pk, 'A@1'))?.failedReason, 'Boom');
      assert.equal(env.mocks.published.length, 0);
    });
  });

  describe('the command machine a commandPath switch deleted', () => {
    const call = (state: string, input: Row, taskToken?: string) =>
      commandStep(stepEvent(state, input, { taskToken })) as Promise<Row>;
    const WAIT_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command-wait';
    const EXPRESS_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command-express';
    const DELETED = 'State machine cqrs-test-command has been deleted.';

    /** The environment of execution-watch on `path`, for the duration of `body`. */
    async function onPath(path: 'EXPRESS' | 'STANDARD', body: () => Promise<void>): Promise<void> {
      const names = ['COMMAND_PATH', 'COMMAND_STATE_MACHINE_ARN', 'COMMAND_WAIT_STATE_MACHINE_ARN'] as const;
      const saved = [...names, 'RETIRED_COMMAND_STATE_MACHINE_ARN'].map((n) => [n, process.env[n]] as const);
      Object.assign(
        process.env,
        path === 'EXPRESS'
          ? {
              COMMAND_PATH: 'EXPRESS',
              COMMAND_STATE_MACHINE_ARN: EXPRESS_ARN,
              COMMAND_WAIT_STATE_MACHINE_ARN: WAIT_ARN,
              RETIRED_COMMAND_STATE_MACHINE_ARN: ARN.command,
            }
          : {
              COMMAND_PATH: 'STANDARD',
              COMMAND_STATE_MACHINE_ARN: ARN.command,
              RETIRED_COMMAND_STATE_MACHINE_ARN: WAIT_ARN,
            },
      );
      if (path === 'STANDARD') delete process.env.COMMAND_WAIT_STATE_MACHINE_ARN;
      try {
        await body();
      } finally {
        for (const [n, v] of saved) {
          if (v === undefined) delete process.env[n];
          else process.env[n] = v;
        }
      }
    }

    it('upgraded to EXPRESS: an execution of the deleted STANDARD machine ends FAILED → its version FAILED with the reason, the version waiting on it released', async () => {
      await onPath('EXPRESS', async () => {
        const pk = uniq();
        await putItem(env.tables.commands, { pk, sk: 'A@1', code: 'A', version: 1, attributes: { v: 1 } });
        await putItem(env.tables.commands, { pk, sk: 'A@2', code: 'A', version: 2, attributes: { v: 2 } });
        // A@2 arrived after the switch: it waits in command-wait for A@1, which the old machine ran
        await call('wait_prev_command', { pk, sk: 'A@2', result: 1, waited: true }, 'token-2');
        const event = statusEvent(
          ARN.command,
          'commands-A-1',
          'FAILED',
          { pk, sk: 'A@1' },
          { error: 'States.Runtime', cause: DELETED },
        );
        assert.equal(machineOf(ARN.command), 'command');
        assert.deepEqual((await executionWatchHandler(sqs(['r1', event]))).batchItemFailures, []);

        const n = (await getItem(env.tables.commands, pk, 'A@1'))!;
        assert.equal(n.result, 'FAILED');
        assert.match(
          String(n.failedReason),
          /ExecutionFailed: execution commands-A-1 of the command machine ended FAILED: States\.Runtime \(State machine cqrs-test-command has been deleted\.\)/,
        );
        const sent = env.mocks.sfn.commandCalls(SendTaskSuccessCommand);
        assert.deepEqual(
          sent.map((c) => c.args[0].input.taskToken),
          ['token-2'],
        );
        assert.equal((await getItem(env.tables.commands, pk, 'A@2'))!.resumedBy, 'mark_failed:1');
      });
    });

    it('switched to STANDARD: an execution of the deleted command-wait machine ends FAILED → its version FAILED; without the retired ARN the event would be refused', async () => {
      await onPath('STANDARD', async () => {
        const pk = uniq();
        await putItem(env.tables.commands, { pk, sk: 'A@1', code: 'A', version: 1, attributes: { v: 1 } });
        const event = statusEvent(
          WAIT_ARN,
          'commands-A-1',
          'FAILED',
          { pk, sk: 'A@1' },
          { error: 'States.Runtime', cause: DELETED },
        );
        assert.equal(machineOf(WAIT_ARN), 'command-wait');
        const out = await handleExecutionEvent(event);
        assert.equal(out.kind, 'failed');
        assert.equal((await getItem(env.tables.commands, pk, 'A@1'))!.result, 'FAILED');
        delete process.env.RETIRED_COMMAND_STATE_MACHINE_ARN;
        assert.throws(() => machineOf(WAIT_ARN), UnknownStateMachineError);
      });
    });
  });

  describe('import machines', () => {
    const CSV = ['pk,code,name', 'T1,A,alpha', 'T1,B,beta', 'T1,C,gamma', 'T1,D,delta', 'T1,E,eps'].join('\n');

    async function zipWithChildCsv(): Promise<{ zip: { pk: string; sk: string }; child: { pk: string; sk: string } }> {
      const pk = uniq('IMPORT');
      const jobId = pk.replace(/[^A-Za-z0-9]/g, '');
      const zip = { pk, sk: `ZIP_JOB#${jobId}` };
      await putItem(env.tables.importTmp, {
        ...zip,
        type: 'ZIP_JOB',
        jobId,
        bucket: BUCKET,
        key: `uploads/${jobId}.zip`,
        status: 'PROCESSING',
        mode: 'STEP_FUNCTION',
        createdAt: new Date().toISOString(),
      });
      const child = { pk, sk: `CSV_JOB#${jobId}-abc` };
      await putItem(env.tables.importTmp, {
        ...child,
        type: 'CSV_JOB',
        jobId: `${jobId}-abc`,
        bucket: BUCKET,
        key: `unzipped/${jobId}/a.csv`,
        mode: 'STEP_FUNCTION',
        status: 'CREATED',
        totalRows: 0,
        processedRows: 0,
        succeededRows: 0,
        failedRows: 0,
        parentPk: zip.pk,
        parentSk: zip.sk,
        taskToken: 'zip-token',
        createdAt: new Date().toISOString(),
      });
      return { zip, child };
    }

    it('import-csv child job TIMED_OUT holding a ZIP token → job FAILED, unreported rows recorded, SendTaskFailure on the token', async () => {
      const { zip, child } = await zipWithChildCsv();
      env.mocks.s3Store.put(BUCKET, `unzipped/${zip.sk.slice(8)}/a.csv`, CSV);
      const input = { pk: child.pk, sk: child.sk, bucket: BUCKET, key: `unzipped/${zip.sk.slice(8)}/a.csv` };
      assert.equal(((await csvStep(stepEvent('csv_loader', input))) as Row).totalRows, 5);
      // the rows csv_loader staged for the Distributed Map
      const items = stagedRows(env.mocks.s3Store, child);
      await csvStep(
        stepEvent('csv_rows_handler', { BatchInput: { pk: child.pk, sk: child.sk }, Items: items.slice(0, 2) }),
      );
      // ... and then the machine hit its TimeoutSeconds: finalize_parent_job never ran

      const res = await executionWatchHandler(
        sqs(['i1', statusEvent(ARN.importCsv, 'import_tmp-child', 'TIMED_OUT', input)]),
      );
      assert.deepEqual(res.batchItemFailures, []);

      const job = (await getItem(env.tables.importTmp, child.pk, child.sk))!;
      assert.equal(job.status, 'FAILED');
      assert.match(
        String(job.error),
        /ExecutionTimedOut: execution import_tmp-child of the import-csv machine ended TIMED_OUT/,
      );
      assert.deepEqual([job.totalRows, job.processedRows, job.succeededRows, job.failedRows], [5, 5, 2, 3]);
      assert.equal(job.taskToken, undefined);
      const errors = await queryPk(env.tables.importTmp, errorsPk(child));
      assert.deepEqual(
        errors.map((e) => e.index),
        [2, 3, 4],
      );
      for (const e of errors)
        assert.match(String(e.reason), /not processed: the import failed \(ExecutionTimedOut: .*TIMED_OUT/);
      const rowKeys = await queryPk(env.tables.importTmp, rowsPk(child));
      assert.equal(rowKeys.filter((r) => r.type === 'IMPORT_ROW').length, 2);
      assert.deepEqual(
        rowKeys.filter((r) => r.type === 'IMPORT_ROW_VOID').map((r) => r.index),
        [2, 3, 4],
        'unprocessed rows are fenced against a late batch',
      );

      const failures = env.mocks.sfn.commandCalls(SendTaskFailureCommand);
      assert.equal(failures.length, 1);
      assert.equal(failures[0].args[0].input.taskToken, 'zip-token');
      assert.equal(failures[0].args[0].input.error, 'ImportJobFailed');
      assert.match(String(failures[0].args[0].input.cause), /"status":"FAILED"/);
      assert.equal(env.mocks.sfn.commandCalls(SendTaskSuccessCommand).length, 0);
      const alarms = watchAlarms();
      assert.equal(alarms.length, 1);
      assert.deepEqual(
        [alarms[0].body.machine, alarms[0].body.status, alarms[0].body.rowStatus],
        ['import-csv', 'TIMED_OUT', 'FAILED'],
      );
      assert.equal(
        (await getItem(env.tables.importTmp, zip.pk, zip.sk))?.status,
        'PROCESSING',
        'the ZIP job ends through its own machine (the token failure)',
      );

      // redelivered → nothing more
      const before = env.mocks.sns.commandCalls(PublishCommand).length;
      await executionWatchHandler(sqs(['i2', statusEvent(ARN.importCsv, 'import_tmp-child', 'TIMED_OUT', input)]));
      assert.equal(env.mocks.sfn.commandCalls(SendTaskFailureCommand).length, 1);
      assert.equal(env.mocks.sns.commandCalls(PublishCommand).length, before);
    });

    it('an already-COMPLETED job + a FAILED event → nothing', async () => {
      const pk = uniq('IMPORT');
      const sk = `CSV_JOB#${pk.replace(/[^A-Za-z0-9]/g, '')}`;
      const row = {
        pk,
        sk,
        type: 'CSV_JOB',
        bucket: BUCKET,
        key: 'imports/x.csv',
        status: 'COMPLETED',
        mode: 'STEP_FUNCTION',
        totalRows: 3,
        processedRows: 3,
        succeededRows: 3,
        failedRows: 0,
        summary: { totalRows: 3 },
      };
      await putItem(env.tables.importTmp, row);
      const res = await executionWatchHandler(
        sqs([
          'done',
          statusEvent(
            ARN.importCsv,
            'csv-done',
            'FAILED',
            { pk, sk, bucket: BUCKET, key: 'imports/x.csv' },
            { error: 'States.Runtime', cause: 'late' },
          ),
        ]),
      );
      assert.deepEqual(res.batchItemFailures, []);
      assert.deepEqual(await getItem(env.tables.importTmp, pk, sk), row);
      assert.equal(env.mocks.sns.commandCalls(PublishCommand).length, 0);
      assert.equal(env.mocks.sfn.calls().length, 0);
      assert.deepEqual(await queryPk(env.tables.importTmp, errorsPk({ pk, sk })), []);
    });

    it('import-zip ABORTED → ZIP job FAILED with the reason', async () => {
      const { zip } = await zipWithChildCsv();
      const out = await handleExecutionEvent(
        statusEvent(ARN.importZip, 'zip-run', 'ABORTED', { ...zip, bucket: BUCKET, key: 'uploads/x.zip' }),
      );
      assert.equal(out.kind, 'failed');
      const row = (await getItem(env.tables.importTmp, zip.pk, zip.sk))!;
      assert.equal(row.status, 'FAILED');
      assert.match(String(row.error), /ExecutionAborted: execution zip-run of the import-zip machine ended ABORTED/);
      assert.equal(watchAlarms().length, 1);
    });
  });

  describe('events it cannot act on', () => {
    it('unknown state machine or malformed event → batch item failure; the other records are still handled', async () => {
      const pk = uniq();
      await putItem(env.tables.commands, { pk, sk: 'A@1', code: 'A', version: 1 });
      const res = await executionWatchHandler(
        sqs(
          [
            'unknown',
            statusEvent('arn:aws:states:us-east-1:123456789012:stateMachine:someone-else', 'x', 'FAILED', {
              pk,
              sk: 'A@1',
            }),
          ],
          ['not-json', '{oops'],
          ['no-keys', statusEvent(ARN.command, 'y', 'FAILED', { foo: 1 })],
          ['wrong-type', { 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', detail: {} }],
          ['ok', statusEvent(ARN.command, 'z', 'TIMED_OUT', { pk, sk: 'A@1' })],
        ),
      );
      assert.deepEqual(
        res.batchItemFailures.map((f) => f.itemIdentifier),
        ['unknown', 'not-json', 'no-keys', 'wrong-type'],
      );
      assert.equal((await getItem(env.tables.commands, pk, 'A@1'))?.result, 'FAILED');
      assert.equal(watchAlarms().length, 1);
      assert.throws(
        () => machineOf('arn:aws:states:us-east-1:123456789012:stateMachine:nope'),
        UnknownStateMachineError,
      );
    });

    it('a status the rule should not forward (SUCCEEDED) is ignored; a missing row still alarms', async () => {
      const pk = uniq();
      assert.equal(
        (await handleExecutionEvent(statusEvent(ARN.task, 's', 'SUCCEEDED', { pk, sk: 'TASK#x' }))).kind,
        'ignored',
      );
      assert.equal(env.mocks.published.length, 0);
      const out = await handleExecutionEvent(statusEvent(ARN.task, 'gone', 'TIMED_OUT', { pk, sk: 'TASK#gone' }));
      assert.equal(out.kind, 'row-missing');
      assert.match(String(watchAlarms()[0]?.body.error), /does not exist/);
      assert.equal(parseExecutionEvent(statusEvent(ARN.task, 'n', 'FAILED', { pk, sk: 's' })).detail.name, 'n');
    });
  });
});
