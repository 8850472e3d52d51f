import { strict as assert } from 'node:assert';
import { ZipFile } from 'yazl';
import { handler as zipStep } from '../../handlers/import-zip-step';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { childJobKey } from '../../handlers/import/zip-steps';
import { safeEntryPath } from '../../handlers/import/zip';
import { jobObjectPrefix } from '../../core/keys';
import { ZIP_HISTORY_EVENTS_PER_FILE, ZIP_HISTORY_FIXED_EVENTS, ZIP_MAX_FILES_HISTORY_BOUND } from '../../core/limits';
import { CONFIG_SCHEMA } from '../../components/stack-config';
import { buildImportZipDefinition } from '../../components/workflows';
import { rowsPk } from '../../handlers/import/model';
import { BUCKET, getItem, putItem, queryPk, stepEvent, uniq, useHandlerEnv } from './_support/env';

type Row = Record<string, unknown>;

function buildZip(files: Array<[string, string | Buffer]>, compress = true): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, body] of files) zip.addBuffer(Buffer.from(body), name, { compress });
  zip.end();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    zip.outputStream.on('data', (d: Buffer) => parts.push(d));
    zip.outputStream.on('end', () => resolve(Buffer.concat(parts)));
    zip.outputStream.on('error', reject);
  });
}

describe('ZIP import (DynamoDB Local, real zip built with yazl)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();

  const step = (state: string, input: unknown, taskToken?: string) =>
    zipStep(stepEvent(state, input, { taskToken })) as Promise<Row>;

  async function zipJob(
    buf: Buffer,
    who: { pk?: string; jobId?: string } = {},
  ): Promise<{ pk: string; sk: string; key: string; jobId: string }> {
    const pk = who.pk ?? uniq('IMPORT');
    const jobId = who.jobId ?? pk.replace(/[^A-Za-z0-9]/g, '');
    const key = `uploads/${uniq('Z').replace(/[^A-Za-z0-9]/g, '')}.zip`;
    env.mocks.s3Store.put(BUCKET, key, buf);
    const sk = `ZIP_JOB#${jobId}`;
    await putItem(env.tables.importTmp, {
      pk,
      sk,
      type: 'ZIP_JOB',
      jobId,
      bucket: BUCKET,
      key,
      status: 'CREATED',
      mode: 'STEP_FUNCTION',
      createdAt: new Date().toISOString(),
    });
    return { pk, sk, key, jobId };
  }

  const good = 'pk,code,name\nZ,A,alpha\nZ,B,beta\n';
  const bad = 'pk,code,qty:integer\nZ,C,notanumber\nZ,D,4\n';

  it('unzip streams each CSV entry to S3 over ranged GETs and returns sorted keys', async () => {
    const big = 'pk,code,blob\n' + Array.from({ length: 3000 }, (_, i) => `Z,K${i},${'x'.repeat(200)}`).join('\n');
    const buf = await buildZip([
      ['b.csv', bad],
      ['nested/a.csv', good],
      ['c/big.CSV', big],
      ['readme.txt', 'ignore me'],
      ['__MACOSX/._b.csv', 'resource fork'],
    ]);
    const j = await zipJob(buf);
    const out = await step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
    const prefix = jobObjectPrefix('unzipped/', j);
    assert.deepEqual(out.csvKeys, [`${prefix}b.csv`, `${prefix}c/big.CSV`, `${prefix}nested/a.csv`]);
    assert.equal(out.bucket, BUCKET);
    assert.equal(env.mocks.s3Store.get(BUCKET, `${prefix}nested/a.csv`)?.toString(), good);
    assert.equal(env.mocks.s3Store.get(BUCKET, `${prefix}c/big.CSV`)?.toString(), big);
    assert.ok(
      env.mocks.s3Store.ranges.length > 0 && env.mocks.s3Store.ranges.length <= 8,
      `few ranged GETs (${env.mocks.s3Store.ranges.length})`,
    );
    const row = await getItem(env.tables.importTmp, j.pk, j.sk);
    assert.equal(row?.files, 3);
    assert.equal(row?.status, 'PROCESSING');
  });

  it('entries that normalise to the same path: the first is imported, the others are skipped and recorded; the job FAILS', async () => {
    const first = 'pk,code,name\nZ,A,first\n';
    const buf = await buildZip([
      ['b.csv', first],
      ['./b.csv', 'pk,code,name\nZ,B,second\n'],
      ['a/b.csv', good],
      ['a//b.csv', 'pk,code,name\nZ,C,fourth\n'],
      ['b.csv', 'pk,code,name\nZ,D,again\n'],
    ]);
    const j = await zipJob(buf);
    const out = await step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
    const prefix = jobObjectPrefix('unzipped/', j);
    assert.deepEqual(out.csvKeys, [`${prefix}a/b.csv`, `${prefix}b.csv`]);
    assert.equal(
      env.mocks.s3Store.get(BUCKET, `${prefix}b.csv`)?.toString(),
      first,
      'not overwritten by a later entry',
    );
    assert.equal(env.mocks.s3Store.get(BUCKET, `${prefix}a/b.csv`)?.toString(), good);
    const row = (await getItem(env.tables.importTmp, j.pk, j.sk))!;
    assert.equal(row.files, 2);
    assert.equal(row.skippedEntryCount, 3);
    assert.deepEqual(row.skippedEntries, [
      { entry: './b.csv', reason: 'same path as the earlier entry "b.csv"' },
      { entry: 'a//b.csv', reason: 'same path as the earlier entry "a/b.csv"' },
      { entry: 'b.csv', reason: 'same path as the earlier entry "b.csv"' },
    ]);

    const csvKeys = out.csvKeys;
    for (const [i, k] of csvKeys.entries()) {
      await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: k }, `t${i}`);
      const child = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, k);
      await importConsumer({
        Records: [{ messageId: `m${i}`, body: JSON.stringify({ action: 'import-csv', pk: child.pk, sk: child.sk }) }],
      });
    }
    const end = await step('finalize_zip_job', { pk: j.pk, sk: j.sk, csvKeys });
    assert.equal(end.status, 'FAILED', 'every imported file completed, but three entries were not imported');
    assert.match(
      String(end.error),
      /3 archive entries were not imported: \.\/b\.csv \(same path as the earlier entry "b\.csv"\)/,
    );
    const summary = (await getItem(env.tables.importTmp, j.pk, j.sk))?.summary as Row;
    assert.equal(summary.skippedEntryCount, 3);
  });

  it('an entry with a ".." segment fails the archive instead of landing on another entry\'s path', async () => {
    // yazl refuses to write such a name: patch a same-length placeholder in both headers
    const buf = await buildZip([
      ['b.csv', good],
      ['a/xx/b.csv', bad],
    ]);
    const patched = Buffer.from(buf.toString('latin1').split('a/xx/b.csv').join('a/../b.csv'), 'latin1');
    const j = await zipJob(patched);
    await assert.rejects(
      step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key }),
      /invalid relative path: a\/\.\.\/b\.csv/,
    );
    assert.equal(
      env.mocks.s3Store.get(BUCKET, `${jobObjectPrefix('unzipped/', j)}b.csv`),
      undefined,
      'the central directory is read before anything is written: nothing was',
    );
    // and without relying on yauzl: such a name has no safe path (it is skipped and recorded)
    assert.equal(safeEntryPath('a/../b.csv'), undefined);
    assert.equal(safeEntryPath('a\\..\\b.csv'), undefined);
    assert.equal(safeEntryPath('/x/./y//z.csv'), 'x/y/z.csv');
  });

  it('trigger_single_csv_and_wait → child job with the token → its end sends SendTaskSuccess or SendTaskFailure; finalize_zip_job sums up', async () => {
    const buf = await buildZip([
      ['1-good.csv', good],
      ['2-bad.csv', bad],
    ]);
    const j = await zipJob(buf);
    const { csvKeys } = (await step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key })) as {
      csvKeys: string[];
    };

    // file 1: DIRECT child (small), completes → SendTaskSuccess
    await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[0] }, 'tok-1');
    const child1 = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, csvKeys[0]);
    const c1 = await getItem(env.tables.importTmp, child1.pk, child1.sk);
    assert.equal(c1?.taskToken, 'tok-1');
    assert.equal(c1?.mode, 'DIRECT');
    assert.equal(c1?.parentSk, j.sk);
    const start1 = env.mocks.published.find((p) => p.action === 'import-csv' && p.body.sk === child1.sk);
    assert.ok(start1, 'child started through the main topic');
    await importConsumer({ Records: [{ messageId: 'c1', body: JSON.stringify({ ...start1.body }) }] });
    assert.equal(env.mocks.successes.length, 1);
    assert.equal(env.mocks.successes[0].taskToken, 'tok-1');
    assert.deepEqual((env.mocks.successes[0].output as Row).status, 'COMPLETED');
    assert.equal((await getItem(env.tables.importTmp, child1.pk, child1.sk))?.taskToken, undefined);

    // file 2: has an invalid row → FAILED → SendTaskFailure
    await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[1] }, 'tok-2');
    const child2 = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, csvKeys[1]);
    await importConsumer({
      Records: [{ messageId: 'c2', body: JSON.stringify({ action: 'import-csv', pk: child2.pk, sk: child2.sk }) }],
    });
    assert.equal(env.mocks.failures.length, 1);
    assert.equal(env.mocks.failures[0].taskToken, 'tok-2');
    assert.equal(env.mocks.failures[0].error, 'ImportJobFailed');
    assert.match(String(env.mocks.failures[0].cause), /"failedRows":1/);

    // a retried trigger for an already-ended child delivers the outcome to the new token at once
    await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[1] }, 'tok-2-retry');
    assert.deepEqual(
      env.mocks.failures.map((f) => f.taskToken),
      ['tok-2', 'tok-2-retry'],
    );

    const out = await step('finalize_zip_job', {
      pk: j.pk,
      sk: j.sk,
      bucket: BUCKET,
      csvKeys,
      error: { Error: 'ImportJobFailed', Cause: 'child failed' },
    });
    assert.equal(out.status, 'FAILED');
    assert.deepEqual([out.totalRows, out.succeededRows, out.failedRows], [4, 3, 1]);
    const zip = await getItem(env.tables.importTmp, j.pk, j.sk);
    assert.equal(zip?.status, 'FAILED');
    const files = (zip?.summary as Row).files as Row[];
    assert.deepEqual(
      files.map((f) => f.status),
      ['COMPLETED', 'FAILED'],
    );
  });

  it('finalize_zip_job: all children COMPLETED → COMPLETED; files never started are reported', async () => {
    const buf = await buildZip([
      ['a.csv', good],
      ['b.csv', good],
    ]);
    const j = await zipJob(buf);
    const { csvKeys } = (await step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key })) as {
      csvKeys: string[];
    };
    await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[0] }, 't-a');
    const child = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, csvKeys[0]);
    await importConsumer({
      Records: [{ messageId: 'a', body: JSON.stringify({ action: 'import-csv', pk: child.pk, sk: child.sk }) }],
    });
    const partial = await step('finalize_zip_job', { pk: j.pk, sk: j.sk, csvKeys });
    assert.equal(partial.status, 'FAILED', 'b.csv never started');
    assert.match(String(partial.error), /NOT_STARTED/);
  });

  it('an archive with only CSVs, all imported, ends COMPLETED', async () => {
    const buf = await buildZip([['only.csv', good]], false);
    const j = await zipJob(buf);
    const { csvKeys } = (await step('unzip', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key })) as {
      csvKeys: string[];
    };
    await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[0] }, 't');
    const child = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, csvKeys[0]);
    await importConsumer({
      Records: [{ messageId: 'a', body: JSON.stringify({ action: 'import-csv', pk: child.pk, sk: child.sk }) }],
    });
    const out = await step('finalize_zip_job', { pk: j.pk, sk: j.sk, csvKeys });
    assert.equal(out.status, 'COMPLETED');
    assert.equal(out.succeededRows, 2);
  });

  it('issue 9 item 1: two jobs with the same jobId under different pks never share unzipped objects', async () => {
    const jobId = uniq('SAME').replace(/[^A-Za-z0-9]/g, '');
    const jobs = [] as Array<{ pk: string; sk: string; csv: string; keys: string[] }>;
    for (const tenant of ['A', 'B']) {
      const csv = `pk,code,name\nTENANT-${tenant},X,from ${tenant}\n`;
      const j = await zipJob(await buildZip([['orders.csv', csv]]), { pk: `TENANT#${tenant}#${jobId}`, jobId });
      jobs.push({ pk: j.pk, sk: j.sk, csv, keys: [] });
    }
    for (const j of jobs) j.keys = ((await step('unzip', { pk: j.pk, sk: j.sk })) as { csvKeys: string[] }).csvKeys;
    assert.notDeepEqual(jobs[0].keys, jobs[1].keys, 'each job has its own location');
    for (const j of jobs) {
      assert.equal(env.mocks.s3Store.get(BUCKET, j.keys[0])?.toString(), j.csv, "each job's file is its own");
      await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.keys[0] }, `t-${j.pk}`);
      const child = childJobKey({ pk: j.pk, sk: j.sk, jobId }, j.keys[0]);
      await importConsumer({
        Records: [{ messageId: j.pk, body: JSON.stringify({ action: 'import-csv', pk: child.pk, sk: child.sk }) }],
      });
      const rows = (await queryPk(env.tables.importTmp, rowsPk(child))).filter((r) => r.type === 'IMPORT_ROW');
      assert.deepEqual(
        rows.map((r) => (r.command as Row).pk),
        [j.pk.startsWith('TENANT#A') ? 'TENANT-A' : 'TENANT-B'],
      );
    }
  });

  it('issue 9 item 1: a jobId of dots or with a slash cannot leave its prefix', async () => {
    for (const jobId of ['..', '.', 'a/../b']) {
      const { pk } = await zipJob(await buildZip([['a.csv', good]]), { jobId });
      const out = (await step('unzip', { pk, sk: `ZIP_JOB#${jobId}` })) as { csvKeys: string[] };
      const segments = out.csvKeys[0].split('/');
      assert.equal(segments[0], 'unzipped');
      assert.ok(
        segments.every((seg) => seg !== '.' && seg !== '..' && seg !== ''),
        out.csvKeys[0],
      );
      assert.equal(segments.length, 3, 'unzipped/<job>/<entry>');
    }
  });

  it('issue 9 item 15: directImportMaxBytes 0 means never DIRECT (a child CSV job is STEP_FUNCTION, not a config error)', async () => {
    const j = await zipJob(await buildZip([['a.csv', good]]));
    const { csvKeys } = (await step('unzip', { pk: j.pk, sk: j.sk })) as { csvKeys: string[] };
    process.env.DIRECT_IMPORT_MAX_BYTES = '0';
    try {
      await step('trigger_single_csv_and_wait', { pk: j.pk, sk: j.sk, bucket: BUCKET, key: csvKeys[0] }, 't0');
    } finally {
      process.env.DIRECT_IMPORT_MAX_BYTES = '1048576';
    }
    const child = childJobKey({ pk: j.pk, sk: j.sk, jobId: j.jobId }, csvKeys[0]);
    assert.equal((await getItem(env.tables.importTmp, child.pk, child.sk))?.mode, 'STEP_FUNCTION');
  });

  describe('issue 9 item 9: archive bounds, checked on the central directory before anything is written', () => {
    const written = (j: { pk: string; sk: string }) =>
      [...env.mocks.s3Store.objects.keys()].filter((k) => k.startsWith(`${BUCKET}/${jobObjectPrefix('unzipped/', j)}`));
    const withEnv = async <T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> => {
      Object.assign(process.env, vars);
      try {
        return await fn();
      } finally {
        for (const k of Object.keys(vars)) delete process.env[k];
      }
    };
    const rejects = async (j: { pk: string; sk: string }, re: RegExp) => {
      await assert.rejects(
        step('unzip', { pk: j.pk, sk: j.sk }),
        (e: Error) => e.name === 'ZipLimitExceeded' && re.test(e.message),
      );
      assert.deepEqual(written(j), [], 'nothing was unzipped');
      // the machine's catch hands the error to finalize_zip_job: the job ends FAILED with it
      const end = await step('finalize_zip_job', {
        pk: j.pk,
        sk: j.sk,
        error: { Error: 'ZipLimitExceeded', Cause: 'x' },
      });
      assert.equal(end.status, 'FAILED');
    };

    it('too many entries (of any kind)', async () => {
      const files: Array<[string, string]> = Array.from({ length: 6 }, (_, i) => [`f${i}.txt`, 'x']);
      const j = await zipJob(await buildZip([['a.csv', good], ...files]));
      await withEnv({ ZIP_MAX_ENTRIES: '5' }, () => rejects(j, /has 7 entries, over the limit of 5/));
    });

    it('too many CSV files', async () => {
      const j = await zipJob(
        await buildZip([
          ['a.csv', good],
          ['b.csv', good],
          ['c.csv', good],
        ]),
      );
      await withEnv({ ZIP_MAX_FILES: '2' }, () => rejects(j, /has 3 CSV files, over the limit of 2/));
    });

    it('too many uncompressed bytes', async () => {
      const body = 'pk,code,pad\n' + Array.from({ length: 10 }, (_, i) => `Z,K${i},${'p'.repeat(50)}`).join('\n');
      const j = await zipJob(
        await buildZip(
          [
            ['a.csv', body],
            ['b.csv', body],
          ],
          false,
        ),
      );
      await withEnv({ ZIP_MAX_UNCOMPRESSED_BYTES: String(body.length + 10) }, () =>
        rejects(
          j,
          new RegExp(`CSV files hold ${2 * body.length} bytes uncompressed, over the limit of ${body.length + 10}`),
        ),
      );
    });

    it('a compression ratio over the bound (ZIP bomb) — the default bound is 100', async () => {
      const bomb = 'pk,code,pad\n' + `Z,A,${'a'.repeat(2_000_000)}\n`;
      const j = await zipJob(
        await buildZip([
          ['ok.csv', good],
          ['bomb.csv', bomb],
        ]),
      );
      await rejects(j, /entry bomb\.csv expands \d+ times \(\d+ → 2000017 bytes\), over the limit of 100/);
    });

    it('keeps the import-zip execution inside the 25,000-event history: the file bound follows from the events per file', () => {
      assert.equal(ZIP_MAX_FILES_HISTORY_BOUND, 1464);
      assert.ok(ZIP_MAX_FILES_HISTORY_BOUND * ZIP_HISTORY_EVENTS_PER_FILE + ZIP_HISTORY_FIXED_EVENTS <= 25_000);
      assert.equal(CONFIG_SCHEMA.zipMaxFiles.max, ZIP_MAX_FILES_HISTORY_BOUND);
      // the per-file count assumes at most 3 retries of the waiting task
      const def = buildImportZipDefinition({
        importZipStepArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
        childTimeoutSeconds: 60,
      });
      const map = def.States.import_csv_files as {
        ItemProcessor: { States: Record<string, { Retry?: { MaxAttempts?: number }[] }> };
      };
      const retries = (map.ItemProcessor.States.trigger_single_csv_and_wait.Retry ?? []).reduce(
        (n, r) => n + (r.MaxAttempts ?? 3),
        0,
      );
      assert.ok(8 + 3 * retries <= ZIP_HISTORY_EVENTS_PER_FILE, `${retries} retries`);
    });
  });

  it('import-zip action starts the ZIP machine once', async () => {
    const j = await zipJob(await buildZip([['a.csv', good]]));
    const msg = { messageId: 'z', body: JSON.stringify({ action: 'import-zip', pk: j.pk, sk: j.sk }) };
    await importConsumer({ Records: [msg, msg] });
    assert.equal(env.mocks.started.length, 1);
    assert.deepEqual(env.mocks.started[0].input, { pk: j.pk, sk: j.sk, bucket: BUCKET, key: j.key });
  });
});
