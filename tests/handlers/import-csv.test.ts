import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { handler as csvStep } from '../../handlers/import-csv-step';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { batchPutAll, UnprocessedItemsError } from '../../core/dynamo';
import { closeJob, commitBatch, requireJob, rowsPk, errorsPk } from '../../handlers/import/model';
import { recordUnprocessed } from '../../handlers/import/rows';
import { ARN, BUCKET, getItem, queryPk, stepEvent, uniq, useHandlerEnv } from './_support/env';
import { putCsvJob, stagedRows } from './_support/imports';

type Row = Record<string, unknown>;

/** 9 data rows: 3 valid, the others each broken in one documented way. */
export const MIXED_CSV = [
  'pk,code,version,name,price:number,active:boolean',
  'T1,A,1,Alpha,10.5,true', // 0 valid
  'T1,B,,Beta,3,false', // 1 valid (no version: next version)
  'T1,C,1,Gamma,abc,true', // 2 bad number
  'T1,,1,Delta,1,true', // 3 empty required code
  'T1,D,1,Eps,1', // 4 wrong column count
  'T1,A,1,Dup,2,true', // 5 duplicate of line 2
  'T1,E,x,Zeta,1,true', // 6 bad version
  ',F,1,Eta,1,yes', // 7 empty pk
  'T1,G,2,Theta,7,no', // 8 valid
].join('\n');

export const EXPECTED_REASONS: Record<number, RegExp> = {
  2: /invalid number in column "price": "abc"/,
  3: /empty required field "code"/,
  4: /wrong column count: expected 6, got 5/,
  5: /duplicate key \(pk=T1, code=A, version=1\) already on line 2/,
  6: /invalid integer in column "version": "x"/,
  7: /empty required field "pk"/,
};

describe('CSV import (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();

  const job = (csv: string, extra: Row = {}) => putCsvJob(env, csv, extra);
  const step = (state: string, input: unknown, executionInput?: unknown) =>
    csvStep(stepEvent(state, input, { executionInput })) as Promise<Row>;

  /** What the Distributed Map's JSONL ItemReader hands to csv_rows_handler: the rows csv_loader staged. */
  const mapItems = (j: { pk: string; sk: string }) => stagedRows(env.mocks.s3Store, j);

  async function assertAccounted(j: { pk: string; sk: string }) {
    const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
    const errors = await queryPk(env.tables.importTmp, errorsPk(j));
    // the rows partition also holds the finalizer's IMPORT_ROW_VOID fences
    const rows = (await queryPk(env.tables.importTmp, rowsPk(j))).filter((r) => r.type === 'IMPORT_ROW');
    assert.equal(
      Number(row.succeededRows) + Number(row.failedRows),
      Number(row.totalRows),
      'succeeded + failed = total',
    );
    assert.equal(Number(row.processedRows), Number(row.totalRows));
    assert.equal(errors.length, Number(row.failedRows), 'one IMPORT_ERROR per failed row');
    assert.equal(rows.length, Number(row.succeededRows), 'one IMPORT_ROW per succeeded row');
    for (const e of errors) assert.ok(String(e.reason).length > 0, 'every failure has its reason');
    return { row, errors, rows };
  }

  it('STEP_FUNCTION: csv_loader → csv_rows_handler batches (+ a retried batch) → finalize_parent_job with a ResultWriter manifest', async () => {
    const j = await job(MIXED_CSV);
    const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
    const loaded = await step('csv_loader', input);
    assert.equal(loaded.totalRows, 9);
    const items = mapItems(j);
    const batches = [items.slice(0, 4), items.slice(4, 8), items.slice(8)];
    const r1 = await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: batches[0] });
    assert.deepEqual([r1.processed, r1.succeeded, r1.failed, r1.counted], [4, 2, 2, true]);
    const r2 = await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: batches[1] });
    assert.deepEqual([r2.processed, r2.succeeded, r2.failed], [4, 0, 4]);
    const again = await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: batches[1] });
    assert.equal(again.counted, false, 'a retried batch is not counted twice');
    // the third batch's child execution failed: it is only in the manifest
    const resultKey = `import-results/${j.pk}/abc/FAILED_0.json`;
    env.mocks.s3Store.put(
      BUCKET,
      resultKey,
      JSON.stringify([
        {
          ExecutionArn: 'arn:x',
          Input: JSON.stringify({ BatchInput: { pk: j.pk, sk: j.sk }, Items: batches[2] }),
          Status: 'FAILED',
          Error: 'Lambda.TooManyRequestsException',
          Cause: 'Rate exceeded',
        },
      ]),
    );
    const manifestKey = `import-results/${j.pk}/abc/manifest.json`;
    env.mocks.s3Store.put(
      BUCKET,
      manifestKey,
      JSON.stringify({
        DestinationBucket: BUCKET,
        MapRunArn: 'arn:maprun',
        ResultFiles: { FAILED: [{ Key: resultKey, Size: 1 }], PENDING: [], SUCCEEDED: [] },
      }),
    );
    const out = await step(
      'finalize_parent_job',
      { MapRunArn: 'arn:maprun', ResultWriterDetails: { Bucket: BUCKET, Key: manifestKey } },
      input,
    );
    assert.equal(out.status, 'FAILED');
    assert.deepEqual([out.totalRows, out.succeededRows, out.failedRows], [9, 2, 7]);

    const { row, errors } = await assertAccounted(j);
    assert.equal(row.status, 'FAILED');
    const byIndex = new Map(errors.map((e) => [Number(e.index), e]));
    for (const [i, re] of Object.entries(EXPECTED_REASONS))
      assert.match(String(byIndex.get(Number(i))?.reason), re, `row ${i}`);
    assert.match(String(byIndex.get(8)?.reason), /batch failed: Lambda.TooManyRequestsException: Rate exceeded/);
    assert.equal(byIndex.get(2)?.line, 4, 'line number = record index + 2 (header is line 1)');
    const event = env.mocks.published.find((p) => p.action === 'import-status' && p.body.sk === j.sk);
    assert.equal(event?.body.status, 'FAILED');
    assert.ok(env.mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.kind === 'import-failed'));
    const imported = (await queryPk(env.tables.importTmp, rowsPk(j))).filter((r) => r.type === 'IMPORT_ROW');
    assert.deepEqual(
      imported.map((r) => r.command),
      [
        { pk: 'T1', code: 'A', version: 1, attributes: { name: 'Alpha', price: 10.5, active: true } },
        { pk: 'T1', code: 'B', attributes: { name: 'Beta', price: 3, active: false } },
      ],
    );
  });

  it('STEP_FUNCTION: a Map that died midway → finalize records every unreported row with the machine error', async () => {
    const j = await job(MIXED_CSV);
    const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
    await step('csv_loader', input);
    await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: mapItems(j).slice(0, 2) });
    const out = await step('finalize_parent_job', {
      ...input,
      error: { Error: 'States.ExceedToleratedFailureThreshold', Cause: 'too many failures' },
    });
    assert.equal(out.status, 'FAILED');
    const { errors } = await assertAccounted(j);
    assert.equal(errors.length, 7);
    assert.ok(errors.every((e) => /the import failed \(States.ExceedToleratedFailureThreshold/.test(String(e.reason))));
  });

  it('STEP_FUNCTION: a child batch still running after the finalizer ended the job writes and counts nothing', async () => {
    const j = await job(MIXED_CSV);
    const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
    await step('csv_loader', input);
    const items = mapItems(j);
    await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: items.slice(0, 4) });
    const ended = await step('finalize_parent_job', {
      ...input,
      error: { Error: 'States.Runtime', Cause: 'map run aborted' },
    });
    assert.deepEqual([ended.status, ended.totalRows, ended.succeededRows, ended.failedRows], ['FAILED', 9, 2, 7]);
    // the EXPRESS child holding rows 6..8 (8 is valid) was still running and now gets to write
    const late = await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: items.slice(6) });
    assert.deepEqual([late.counted, late.late, late.processed], [false, true, 0]);
    const { row, errors } = await assertAccounted(j);
    assert.deepEqual(
      [row.totalRows, row.processedRows, row.succeededRows, row.failedRows],
      [9, 9, 2, 7],
      'nothing counted twice',
    );
    assert.equal(
      await getItem(env.tables.importTmp, rowsPk(j), '0000000008').then((r) => r?.type),
      'IMPORT_ROW_VOID',
      'no IMPORT_ROW (no command) for row 8',
    );
    for (const e of errors.filter((x) => Number(x.index) >= 4))
      assert.match(
        String(e.reason),
        /not processed: the import failed \(States.Runtime/,
        "the finalizer's record stands",
      );
  });

  it('STEP_FUNCTION: a batch racing the finalizer stops at the first row the finalizer already recorded', async () => {
    const j = await job(MIXED_CSV);
    const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
    await step('csv_loader', input);
    const items = mapItems(j);
    await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: items.slice(0, 4) });
    // the finalizer records rows 4..8 between the batch's job check and its writes
    await recordUnprocessed(
      await requireJob(j),
      items.slice(4).map((it) => ({ index: it.index, line: it.line, raw: it.command ?? it.raw })),
      'not processed: the import failed (test)',
    );
    // (its first index differs from the finalizer's chunk, so no marker tells it it is done)
    const racing = await step('csv_rows_handler', { BatchInput: { pk: j.pk, sk: j.sk }, Items: items.slice(5) });
    assert.deepEqual([racing.counted, racing.late], [false, true]);
    const rows = (await queryPk(env.tables.importTmp, rowsPk(j))).filter((r) => r.type === 'IMPORT_ROW');
    assert.deepEqual(
      rows.map((r) => r.index),
      [0, 1],
      'row 8 was recorded as not processed: it is not published',
    );
    const job8 = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
    assert.deepEqual([job8.processedRows, job8.succeededRows, job8.failedRows], [9, 2, 7]);
  });

  it('a batch whose rows were written before the finalizer closed the job cannot count them after', async () => {
    const j = await job(MIXED_CSV);
    await step('csv_loader', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
    const stale = await requireJob(j);
    await closeJob(j);
    const counts = { firstIndex: 0, lastIndex: 3, processed: 4, succeeded: 2, failed: 2 };
    assert.equal(await commitBatch(stale, counts), 'closed', 'the finalizer counts these rows from what is written');
    assert.equal((await getItem(env.tables.importTmp, j.pk, j.sk))?.processedRows, 0);
    assert.equal(await commitBatch(stale, counts, { finalizer: true }), 'counted');
    assert.equal(await commitBatch(stale, counts, { finalizer: true }), 'duplicate');
  });

  it('STEP_FUNCTION: a header without "pk" fails csv_loader; every row is recorded with that reason', async () => {
    const csv = 'id,code\n1,A\n2,B\n';
    const j = await job(csv);
    const input = { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key };
    await assert.rejects(
      step('csv_loader', input),
      (e: Error) => e.name === 'InvalidHeader' && /missing required column "pk"/.test(e.message),
    );
    const out = await step('finalize_parent_job', {
      ...input,
      error: { Error: 'InvalidHeader', Cause: 'missing required column "pk"' },
    });
    assert.equal(out.status, 'FAILED');
    const { errors } = await assertAccounted(j);
    assert.equal(errors.length, 2);
  });

  it('header-only file: 0 rows, COMPLETED (both modes)', async () => {
    const csv = 'pk,code,name\n';
    const a = await job(csv);
    const input = { pk: a.pk, sk: a.sk, bucket: BUCKET, key: a.key };
    assert.equal((await step('csv_loader', input)).totalRows, 0);
    assert.equal((await step('finalize_parent_job', input)).status, 'COMPLETED');
    await assertAccounted(a);
    const b = await job(csv, { mode: 'DIRECT' });
    await importConsumer({
      Records: [{ messageId: 'm1', body: JSON.stringify({ action: 'import-csv', pk: b.pk, sk: b.sk }) }],
    });
    const { row } = await assertAccounted(b);
    assert.equal(row.status, 'COMPLETED');
    assert.equal(row.totalRows, 0);
  });

  it('DIRECT: same validation in one Lambda (exact column counts and file line numbers)', async () => {
    const j = await job(MIXED_CSV, { mode: 'DIRECT' });
    const res = await importConsumer({
      Records: [
        {
          messageId: 'm1',
          body: JSON.stringify({
            Type: 'Notification',
            Message: JSON.stringify({ pk: j.pk, sk: j.sk }),
            MessageAttributes: { action: { Type: 'String', Value: 'import-csv' } },
          }),
        },
      ],
    });
    assert.deepEqual(res.batchItemFailures, []);
    assert.equal(env.mocks.started.length, 0, 'DIRECT does not start a state machine');
    const { row, errors } = await assertAccounted(j);
    assert.equal(row.mode, 'DIRECT');
    assert.equal(row.status, 'FAILED');
    assert.deepEqual([row.totalRows, row.succeededRows, row.failedRows], [9, 3, 6]);
    const byIndex = new Map(errors.map((e) => [Number(e.index), e]));
    for (const [i, re] of Object.entries(EXPECTED_REASONS))
      assert.match(String(byIndex.get(Number(i))?.reason), re, `row ${i}`);
    assert.equal(byIndex.get(4)?.line, 6);
  });

  it('DIRECT: multi-chunk file (250 rows), every row accounted, COMPLETED', async () => {
    const lines = ['pk,code,qty:integer'];
    for (let i = 0; i < 250; i++) lines.push(`P${i % 7},C${i},${i}`);
    const j = await job(lines.join('\r\n') + '\r\n', { mode: 'DIRECT' });
    await importConsumer({
      Records: [{ messageId: 'm1', body: JSON.stringify({ action: 'import-csv', pk: j.pk, sk: j.sk }) }],
    });
    const { row, rows } = await assertAccounted(j);
    assert.equal(row.status, 'COMPLETED');
    assert.equal(rows.length, 250);
    assert.equal(
      (await queryPk(env.tables.importTmp, `IMPORT_BATCH#${j.pk}#${j.sk}`)).length,
      3,
      '3 chunks of ≤ 100 rows, each counted once',
    );
    // redelivery of the same message does not count anything twice
    await importConsumer({
      Records: [{ messageId: 'm2', body: JSON.stringify({ action: 'import-csv', pk: j.pk, sk: j.sk }) }],
    });
    assert.equal((await getItem(env.tables.importTmp, j.pk, j.sk))?.succeededRows, 250);
  });

  it('DIRECT: a read error part-way → FAILED, "not fully read" with where it stopped; the partial count is not the total', async () => {
    const lines = ['pk,code,qty:integer'];
    for (let i = 0; i < 250; i++) lines.push(`P${i % 7},C${i},${i}`);
    const csv = lines.join('\n') + '\n';
    const j = await job(csv, { mode: 'DIRECT' });
    // the object stream dies after 60 % of the file (e.g. a reset connection): it hands over
    // that part, and fails on the next read — no timer, so the point is the same on any machine
    const cut = Math.floor(csv.length * 0.6);
    env.mocks.s3.on(GetObjectCommand, { Bucket: BUCKET, Key: j.key }).callsFake(async () => {
      let sent = false;
      const body = new Readable({
        read() {
          if (sent) this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
          else {
            sent = true;
            this.push(Buffer.from(csv.slice(0, cut)));
          }
        },
      });
      return { Body: body };
    });
    await importConsumer({
      Records: [{ messageId: 'm1', body: JSON.stringify({ action: 'import-csv', pk: j.pk, sk: j.sk }) }],
    });
    const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
    assert.equal(row.status, 'FAILED');
    assert.equal(row.totalRows, null, "the file's total is unknown, not the rows read so far");
    // every complete line before the cut was read (the reader keeps no rows back)
    const rowsRead = Number(row.rowsRead);
    assert.equal(rowsRead, csv.slice(0, cut).split('\n').length - 2);
    const readLines = rowsRead + 1; // header included
    assert.equal(row.unreadRemainder, true);
    const bytesRead = Buffer.byteLength(lines.slice(0, readLines).join('\n') + '\n');
    assert.deepEqual(row.readStoppedAt, { line: readLines, byte: bytesRead });
    assert.match(
      String(row.error),
      new RegExp(
        `the file was not fully read: reading stopped after line ${readLines} \\(byte ${bytesRead}\\) with ${rowsRead} data rows read; the rest of the file was neither counted nor imported.*socket hang up`,
      ),
    );
    assert.equal(Number(row.processedRows), rowsRead, 'every row read is accounted for');
    assert.equal(Number(row.succeededRows) + Number(row.failedRows), rowsRead);
    const summary = row.summary as Row;
    assert.deepEqual([summary.totalRows, summary.unreadRemainder, summary.rowsRead], [null, true, rowsRead]);
    const event = env.mocks.published.find((p) => p.action === 'import-status' && p.body.sk === j.sk);
    assert.deepEqual([event?.body.status, event?.body.totalRows, event?.body.unreadRemainder], ['FAILED', null, true]);
    assert.ok(
      env.mocks.published.some((p) => p.topic === ARN.alarmTopic && /not fully read/.test(String(p.body.error))),
    );
  });

  it('DIRECT: empty object → FAILED with a reason; a job without mode gets one by size (STEP_FUNCTION starts the machine once)', async () => {
    const empty = await job('', { mode: 'DIRECT' });
    await importConsumer({
      Records: [{ messageId: 'm1', body: JSON.stringify({ action: 'import-csv', pk: empty.pk, sk: empty.sk }) }],
    });
    const row = await getItem(env.tables.importTmp, empty.pk, empty.sk);
    assert.equal(row?.status, 'FAILED');
    assert.match(String(row?.error), /EmptyFile/);

    process.env.DIRECT_IMPORT_MAX_BYTES = '10';
    try {
      const big = await job(MIXED_CSV);
      const msg = { messageId: 'm2', body: JSON.stringify({ action: 'import-csv', pk: big.pk, sk: big.sk }) };
      await importConsumer({ Records: [msg] });
      await importConsumer({ Records: [msg] });
      assert.equal(env.mocks.started.length, 1);
      assert.equal(env.mocks.started[0].stateMachineArn, ARN.importCsv);
      assert.deepEqual(env.mocks.started[0].input, { pk: big.pk, sk: big.sk, bucket: BUCKET, key: big.key });
      assert.equal((await getItem(env.tables.importTmp, big.pk, big.sk))?.mode, 'STEP_FUNCTION');
    } finally {
      process.env.DIRECT_IMPORT_MAX_BYTES = '1048576';
    }
  });

  it('import-action consumer reports partial batch failures', async () => {
    const good = await job('pk,code\nX,Y\n', { mode: 'DIRECT' });
    const res = await importConsumer({
      Records: [
        { messageId: 'ok', body: JSON.stringify({ action: 'import-csv', pk: good.pk, sk: good.sk }) },
        { messageId: 'missing', body: JSON.stringify({ action: 'import-csv', pk: 'nope', sk: 'CSV_JOB#nope' }) },
        { messageId: 'garbage', body: 'not json' },
        { messageId: 'wrong-action', body: JSON.stringify({ action: 'task-start', pk: good.pk, sk: good.sk }) },
      ],
    });
    assert.deepEqual(
      res.batchItemFailures.map((f) => f.itemIdentifier),
      ['missing', 'garbage', 'wrong-action'],
    );
    assert.equal((await getItem(env.tables.importTmp, good.pk, good.sk))?.status, 'COMPLETED');
  });

  it('BatchWriteItem: chunks of 25, UnprocessedItems retried with backoff, never dropped', async () => {
    const table = env.tables.importTmp;
    const pk = uniq('BW');
    const real = env.ctx.doc;
    let calls = 0;
    const sizes: number[] = [];
    // a proxy in front of the real DynamoDB Local that throttles half of each first attempt
    const flaky = {
      send: async (cmd: BatchWriteCommand) => {
        calls++;
        const reqs = cmd.input.RequestItems![table];
        sizes.push(reqs.length);
        if (calls % 2 === 1 && reqs.length > 1) {
          const half = Math.floor(reqs.length / 2);
          await real.send(new BatchWriteCommand({ RequestItems: { [table]: reqs.slice(0, half) } }));
          return { UnprocessedItems: { [table]: reqs.slice(half) } };
        }
        return real.send(cmd);
      },
    } as unknown as DynamoDBDocumentClient;
    const items = Array.from({ length: 60 }, (_, i) => ({ pk, sk: String(i).padStart(3, '0'), n: i }));
    const stats = await batchPutAll(flaky, table, items, { baseDelayMs: 1 });
    assert.ok(sizes.every((s) => s <= 25));
    assert.ok(stats.retries >= 3);
    assert.equal((await queryPk(table, pk)).length, 60);

    const never = {
      send: async (cmd: BatchWriteCommand) => ({ UnprocessedItems: cmd.input.RequestItems }),
    } as unknown as DynamoDBDocumentClient;
    await assert.rejects(
      batchPutAll(never, table, items.slice(0, 3), { maxRetries: 2, baseDelayMs: 1 }),
      (e: Error) => e instanceof UnprocessedItemsError && e.items.length === 3,
    );
  });
});
