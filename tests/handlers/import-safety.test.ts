/**
 * Issue 9, items 3, 4, 5 and 8, end to end on the real import handlers and DynamoDB Local:
 * every row imported exactly as written or failed with its line and reason, in both modes;
 * the first line of a duplicate key wins whatever order batches run in; transient DynamoDB
 * errors are retried and a write error is not a read error; a DIRECT run that dies is resumed,
 * and its last delivery ends the job.
 */
import { strict as assert } from 'node:assert';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { withRetries } from '../../core/dynamo';
import { isTransientError } from '../../core/errors';
import { handler as csvStep } from '../../handlers/import-csv-step';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { errorsPk, rowsPk } from '../../handlers/import/model';
import { ARN, BUCKET, getItem, queryPk, stepEvent, useHandlerEnv } from './_support/env';
import { importCsvMessage, putCsvJob, stagedRows } from './_support/imports';
import { awsError, injectDynamoFaults, type FaultPlan } from './_support/faults';

type Row = Record<string, unknown>;
type Mode = 'DIRECT' | 'STEP_FUNCTION';

describe('import safety (issue 9; DynamoDB Local)', function () {
  this.timeout(120000);
  const env = useHandlerEnv();

  const job = (csv: string | Buffer, extra: Row = {}) => putCsvJob(env, csv, extra);
  const step = (state: string, input: unknown) => csvStep(stepEvent(state, input)) as Promise<Row>;
  const message = importCsvMessage;

  /** The staged rows the Distributed Map would read, in batches, in the given order. */
  function stagedBatches(j: { pk: string; sk: string }, size: number): Row[][] {
    const rows = stagedRows(env.mocks.s3Store, j);
    const out: Row[][] = [];
    for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
    return out;
  }

  /** Run an import in either mode to its end; STEP_FUNCTION batches run in `order`. */
  async function runImport(
    csv: string | Buffer,
    mode: Mode,
    order: 'forward' | 'reverse' = 'forward',
  ): Promise<{ j: { pk: string; sk: string }; row: Row; errors: Row[]; imported: Row[] }> {
    const j = await job(csv, { mode });
    if (mode === 'DIRECT') {
      const res = await importConsumer({ Records: [message(j)] });
      const after = await getItem(env.tables.importTmp, j.pk, j.sk);
      assert.deepEqual(res.batchItemFailures, [], `the run failed: ${String(after?.lastRunError)}`);
    } else {
      const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
      const loaded = await step('csv_loader', input);
      if (Number(loaded.totalRows) > 0) {
        const batches = stagedBatches(j, 4);
        if (order === 'reverse') batches.reverse();
        for (const Items of batches) await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items });
      }
      await step('finalize_parent_job', loaded);
    }
    const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
    const errors = await queryPk(env.tables.importTmp, errorsPk(j));
    const imported = (await queryPk(env.tables.importTmp, rowsPk(j))).filter((r) => r.type === 'IMPORT_ROW');
    if (row.totalRows !== null) {
      assert.equal(
        Number(row.succeededRows) + Number(row.failedRows),
        Number(row.totalRows),
        'succeeded + failed = total',
      );
      assert.equal(imported.length, Number(row.succeededRows));
      assert.equal(errors.length, Number(row.failedRows));
    }
    return { j, row, errors, imported };
  }

  describe('item 4: rows imported exactly as written, or failed with their line and reason (both modes agree)', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `T,C${i},v${i}`);
    const endings = ['\r\n', '\n', '\r'];
    const MIXED_ENDINGS = 'pk,code,name\r\n' + lines.map((l, i) => l + endings[i % 3]).join('');

    for (const mode of ['DIRECT', 'STEP_FUNCTION'] as const) {
      it(`${mode}: a file mixing CRLF, LF and CR imports all 30 rows, with no \\r kept`, async () => {
        const { row, imported } = await runImport(MIXED_ENDINGS, mode);
        assert.deepEqual([row.status, row.totalRows, row.succeededRows], ['COMPLETED', 30, 30]);
        imported.forEach((r) => {
          const c = r.command as { code: string; attributes: { name: string } };
          assert.equal(c.attributes.name, `v${c.code.slice(1)}`);
          assert.equal(r.line, Number(c.code.slice(1)) + 2);
        });
      });

      it(`${mode}: bytes that are not UTF-8 fail their row (line and byte offset), never U+FFFD`, async () => {
        const csv = Buffer.concat([
          Buffer.from('pk,code,name\nT,A,ok\nT,B,caf'),
          Buffer.from([0xe9]),
          Buffer.from('\nT,C,"multi\nline"\nT,D,after\n'),
        ]);
        const { row, errors, imported } = await runImport(csv, mode);
        assert.deepEqual([row.status, row.totalRows, row.succeededRows, row.failedRows], ['FAILED', 4, 3, 1]);
        assert.deepEqual(
          errors.map((e) => [e.line, e.reason]),
          [[3, 'invalid UTF-8 at line 3, byte offset 27 (0xe9): the file must be UTF-8']],
        );
        assert.deepEqual(
          imported.map((r) => [r.line, (r.command as Row).code]),
          [
            [2, 'A'],
            [4, 'C'],
            [6, 'D'],
          ],
          'lines are file lines, through a multi-line value',
        );
        assert.ok(!JSON.stringify(imported).includes('\uFFFD'));
      });

      it(`${mode}: a stray quote fails its row on its real line; the rest of the file is imported`, async () => {
        const csv = 'pk,code,size\nT,A,5" screen\nT,B,"open\nT,C,fine\nT,D,"x"\n';
        const { row, errors, imported } = await runImport(csv, mode);
        assert.deepEqual([row.totalRows, row.succeededRows, row.failedRows], [4, 2, 2]);
        assert.deepEqual(
          errors.map((e) => e.line),
          [2, 3],
        );
        assert.match(String(errors[0].reason), /a quote inside an unquoted field at line 2/);
        assert.match(String(errors[1].reason), /the quote opened at line 3, byte offset 31 is only closed at line 5/);
        assert.deepEqual(
          imported.map((r) => [r.line, (r.command as Row).code]),
          [
            [4, 'C'],
            [5, 'D'],
          ],
        );
      });
    }

    it('STEP_FUNCTION: rows no batch reported are recorded on their real lines, read back from the staged rows', async () => {
      const csv = 'pk,code,note\n\nT,A,"two\nlines"\n\nT,B,x\nT,C,y\n';
      const j = await job(csv, { mode: 'STEP_FUNCTION' });
      const loaded = await step('csv_loader', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
      const [first] = stagedBatches(j, 1);
      await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: first });
      const out = await step('finalize_parent_job', {
        ...loaded,
        error: { Error: 'States.Runtime', Cause: 'map run aborted' },
      });
      assert.deepEqual([out.status, out.totalRows, out.succeededRows, out.failedRows], ['FAILED', 3, 1, 2]);
      const errors = await queryPk(env.tables.importTmp, errorsPk(j));
      assert.deepEqual(
        errors.map((e) => [e.line, JSON.parse(String(e.raw)).code]),
        [
          [6, 'B'],
          [7, 'C'],
        ],
      );
    });

    it('STEP_FUNCTION: an unusable header fails the job; every row is recorded on its real line', async () => {
      const j = await job('id,code\n\nT,A\nT,B\n', { mode: 'STEP_FUNCTION' });
      const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
      await assert.rejects(step('csv_loader', input), (e: Error) => e.name === 'InvalidHeader');
      await step('finalize_parent_job', {
        ...input,
        error: { Error: 'InvalidHeader', Cause: 'missing required column "pk"' },
      });
      const errors = await queryPk(env.tables.importTmp, errorsPk(j));
      assert.deepEqual(
        errors.map((e) => e.line),
        [3, 4],
      );
    });

    it('STEP_FUNCTION: a job that ends before its rows were counted reports totalRows unknown (null), not 0', async () => {
      const j = await job('pk,code\nT,A\n', { mode: 'STEP_FUNCTION' });
      const out = await step('finalize_parent_job', {
        pk: j.pk,
        sk: j.sk,
        error: { Error: 'States.Timeout', Cause: 'csv_loader timed out' },
      });
      assert.equal(out.status, 'FAILED');
      assert.equal(out.totalRows, null);
      const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.equal(row.totalRows, null);
      assert.match(String(row.error), /the rows of the file were never counted/);
    });
  });

  describe('item 5: the first line of a duplicate key wins in both modes, whatever order batches run in', () => {
    const csv = [
      'pk,code,version,name',
      'T,A,1,first', // line 2
      'T,B,1,b',
      'T,C,1,c',
      'T,D,1,d',
      'T,A,1,second', // line 6: a duplicate of line 2, in another batch
      'T,A,1,third', // line 7
    ].join('\n');
    for (const [mode, order] of [
      ['DIRECT', 'forward'],
      ['STEP_FUNCTION', 'forward'],
      ['STEP_FUNCTION', 'reverse'],
    ] as const) {
      it(`${mode} (${order} batches)`, async () => {
        const { row, errors, imported } = await runImport(csv, mode, order);
        assert.deepEqual([row.totalRows, row.succeededRows, row.failedRows], [6, 4, 2]);
        const a = imported.filter((r) => (r.command as Row).code === 'A');
        assert.deepEqual(
          a.map((r) => [r.line, ((r.command as Row).attributes as Row).name]),
          [[2, 'first']],
          'one command for A: the first line',
        );
        assert.deepEqual(
          errors.map((e) => [e.line, e.reason]),
          [
            [6, 'duplicate key (pk=T, code=A, version=1) already on line 2'],
            [7, 'duplicate key (pk=T, code=A, version=1) already on line 2'],
          ],
        );
      });
    }
  });

  describe('item 3: transient DynamoDB errors are retried; a write error is not a read error', () => {
    it('tells transient errors from the others', () => {
      const transient = [
        awsError('ProvisionedThroughputExceededException'),
        awsError('RequestLimitExceeded'),
        awsError('ThrottlingException'),
        awsError('InternalServerError', 'x', 500),
        awsError('SomethingNew', 'x', 503),
        Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
        Object.assign(new Error('x'), {
          name: 'TransactionCanceledException',
          CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
        }),
      ];
      for (const e of transient) assert.equal(isTransientError(e), true, e.name);
      const permanent = [
        awsError('ConditionalCheckFailedException'),
        awsError('ValidationException'),
        awsError('AccessDeniedException'),
        Object.assign(new Error('x'), {
          name: 'TransactionCanceledException',
          CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }],
        }),
      ];
      for (const e of permanent) assert.equal(isTransientError(e), false, e.name);
    });

    it('withRetries retries only transient errors, up to its attempts', async () => {
      let calls = 0;
      const flaky = () => (++calls < 3 ? Promise.reject(awsError('ThrottlingException')) : Promise.resolve('ok'));
      assert.equal(await withRetries(flaky, { baseDelayMs: 1 }), 'ok');
      assert.equal(calls, 3);
      calls = 0;
      await assert.rejects(
        withRetries(() => (++calls, Promise.reject(awsError('ValidationException'))), { baseDelayMs: 1 }),
        /ValidationException/,
      );
      assert.equal(calls, 1, 'not retried');
      calls = 0;
      await assert.rejects(
        withRetries(() => (++calls, Promise.reject(awsError('ThrottlingException'))), { attempts: 4, baseDelayMs: 1 }),
      );
      assert.equal(calls, 4);
    });

    const big = ['pk,code,qty:integer', ...Array.from({ length: 250 }, (_, i) => `P${i % 7},C${i},${i}`)].join('\n');

    it('DIRECT: throttling and lost responses on every kind of write do not fail the import or count anything twice', async () => {
      const throttled = awsError('ProvisionedThroughputExceededException', 'throughput exceeded');
      const lost = awsError('InternalServerError', 'internal error', 500);
      const plan: FaultPlan = ({ command, n }) => {
        if (command === 'PutItemCommand' && n % 40 === 3) return { when: 'before', error: throttled };
        if (command === 'PutItemCommand' && n % 40 === 17) return { when: 'after', error: lost };
        if (command === 'TransactWriteItemsCommand' && n === 2) return { when: 'after', error: lost };
        if (command === 'BatchWriteItemCommand' && n === 1) return { when: 'before', error: throttled };
        if (command === 'UpdateItemCommand' && n === 3) return { when: 'before', error: throttled };
        return undefined;
      };
      const faults = injectDynamoFaults(plan);
      let result: Awaited<ReturnType<typeof runImport>>;
      try {
        result = await runImport(big.replace('P3,C3,3', 'P3,C3,three'), 'DIRECT');
      } finally {
        faults.remove();
      }
      assert.ok(faults.thrown.length >= 8, `${faults.thrown.length} faults injected`);
      const { row, errors } = result;
      assert.deepEqual(
        [row.status, row.totalRows, row.processedRows, row.succeededRows, row.failedRows],
        ['FAILED', 250, 250, 249, 1],
      );
      assert.deepEqual(
        errors.map((e) => e.line),
        [5],
        'only the row that is truly invalid failed',
      );
    });

    it('STEP_FUNCTION: a batch retries a transient error in place and is counted once', async () => {
      const j = await job(big, { mode: 'STEP_FUNCTION' });
      const loaded = await step('csv_loader', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
      const faults = injectDynamoFaults(({ command, n }) =>
        command === 'TransactWriteItemsCommand' && n === 1
          ? { when: 'after', error: awsError('RequestLimitExceeded', 'account limit', 400) }
          : undefined,
      );
      try {
        for (const Items of stagedBatches(j, 50))
          await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items });
      } finally {
        faults.remove();
      }
      const out = await step('finalize_parent_job', loaded);
      assert.deepEqual([out.status, out.totalRows, out.succeededRows, out.failedRows], ['COMPLETED', 250, 250, 0]);
    });

    it('DIRECT: a write that keeps failing stops the run without ending the job; the redelivery resumes and completes it', async () => {
      const j = await job(big, { mode: 'DIRECT' });
      const denied = awsError('AccessDeniedException', 'not authorized to perform dynamodb:BatchWriteItem');
      // the second chunk's IMPORT_ROWs cannot be written
      const faults = injectDynamoFaults(({ command, input }) =>
        command === 'PutItemCommand' && JSON.stringify(input).includes('"0000000150"')
          ? { when: 'before', error: denied }
          : undefined,
      );
      let first;
      try {
        first = await importConsumer({ Records: [message(j, 'm', 1)] });
      } finally {
        faults.remove();
      }
      assert.deepEqual(first.batchItemFailures, [{ itemIdentifier: 'm' }], 'the message is delivered again');
      const stopped = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.equal(stopped.status, 'PROCESSING', 'not ended as "not fully read"');
      assert.equal(stopped.unreadRemainder, undefined);
      assert.match(String(stopped.lastRunError), /AccessDeniedException/);
      assert.equal(stopped.processedRows, 100, 'the first chunk was written and counted');
      assert.deepEqual(await queryPk(env.tables.importTmp, errorsPk(j)), [], 'no row recorded as failed');

      const second = await importConsumer({ Records: [message(j, 'm', 2)] });
      assert.deepEqual(second.batchItemFailures, []);
      const done = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.deepEqual(
        [done.status, done.totalRows, done.processedRows, done.succeededRows, done.failedRows],
        ['COMPLETED', 250, 250, 250, 0],
      );
    });
  });

  describe('item 8: a DIRECT import whose Lambda dies part-way still ends', () => {
    const csv = ['pk,code', ...Array.from({ length: 150 }, (_, i) => `T,K${i}`)].join('\n');

    it('a redelivery after the Lambda died resumes where the counted chunks end', async () => {
      const j = await job(csv, { mode: 'DIRECT' });
      // the first run wrote and counted its first chunk, then the Lambda was killed (timeout)
      const crash = injectDynamoFaults(({ command, n }) =>
        command === 'TransactWriteItemsCommand' && n === 2
          ? { when: 'before', error: new Error('Task timed out') }
          : undefined,
      );
      try {
        await importConsumer({ Records: [message(j, 'm', 1)] });
      } finally {
        crash.remove();
      }
      assert.equal((await getItem(env.tables.importTmp, j.pk, j.sk))?.processedRows, 100);
      await importConsumer({ Records: [message(j, 'm', 2)] });
      const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.deepEqual([row.status, row.totalRows, row.succeededRows], ['COMPLETED', 150, 150]);
      assert.equal((await queryPk(env.tables.importTmp, rowsPk(j))).length, 150, 'no row written twice');
    });

    it('a machine that cannot be started by the last delivery ends its job FAILED instead of leaving it CREATED', async () => {
      const j = await job(csv, { mode: 'STEP_FUNCTION' });
      env.mocks.sfn
        .on(StartExecutionCommand)
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      process.env.MAX_RECEIVE_COUNT = '3';
      try {
        const early = await importConsumer({ Records: [message(j, 'a', 2)] });
        assert.deepEqual(early.batchItemFailures, [{ itemIdentifier: 'a' }], 'before the last delivery: try again');
        assert.equal((await getItem(env.tables.importTmp, j.pk, j.sk))?.status, 'CREATED');
        const last = await importConsumer({ Records: [message(j, 'b', 3)] });
        assert.deepEqual(last.batchItemFailures, []);
      } finally {
        delete process.env.MAX_RECEIVE_COUNT;
      }
      const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.equal(row.status, 'FAILED');
      assert.equal(row.totalRows, null);
      assert.match(
        String(row.error),
        /could not start the import after 3 deliveries of its message: ThrottlingException: Rate exceeded/,
      );
    });

    it('an execution that runs on after its job was ended changes nothing (csv_loader refuses, the finalizer keeps the result)', async () => {
      const j = await job(csv, { mode: 'STEP_FUNCTION', status: 'FAILED', error: 'given up' });
      const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
      await assert.rejects(step('csv_loader', input), (e: Error) => e.name === 'JobEnded');
      const out = await step('finalize_parent_job', { ...input, error: { Error: 'JobEnded', Cause: 'x' } });
      assert.equal(out.status, 'FAILED');
      const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.deepEqual([row.status, row.error, row.totalRows], ['FAILED', 'given up', null]);
      assert.deepEqual(await queryPk(env.tables.importTmp, errorsPk(j)), []);
    });

    it("the queue's last delivery ends the job FAILED with its reason and an alarm naming it, instead of dying unseen", async () => {
      const j = await job(csv, { mode: 'DIRECT', status: 'PROCESSING', processedRows: 0 });
      // deliveries 1..4 died without a trace (out of memory): the job was left PROCESSING
      process.env.MAX_RECEIVE_COUNT = '5';
      try {
        const res = await importConsumer({ Records: [message(j, 'm', 5)] });
        assert.deepEqual(res.batchItemFailures, [], 'the message is done: it never reaches the DLQ unseen');
      } finally {
        delete process.env.MAX_RECEIVE_COUNT;
      }
      const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
      assert.equal(row.status, 'FAILED');
      assert.equal(row.totalRows, null, 'the file was never read to its end: its total is unknown');
      assert.match(
        String(row.error),
        /the DIRECT import did not finish in 4 deliveries of its message \(last: no error was recorded: the Lambda timed out or crashed\)/,
      );
      const alarm = env.mocks.published.find((p) => p.topic === ARN.alarmTopic && p.body.sk === j.sk);
      assert.equal(alarm?.body.kind, 'import-failed');
      assert.equal(alarm?.body.pk, j.pk);
    });
  });
});
