/** Issue 9, item 17: an import's per-row items expire (DynamoDB TTL) after the configured retention. */
import { strict as assert } from 'node:assert';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { batchesPk, errorsPk, jobRef, rowsPk } from '../../handlers/import/model';
import { queryPk, useHandlerEnv } from './_support/env';
import { importCsvMessage, putCsvJob } from './_support/imports';

describe('import record retention (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();

  afterEach(() => delete process.env.IMPORT_RECORD_TTL_SECONDS);

  it('every IMPORT_ROW, IMPORT_ERROR and IMPORT_BATCH item expires IMPORT_RECORD_TTL_SECONDS after the job was created', async () => {
    process.env.IMPORT_RECORD_TTL_SECONDS = String(7 * 86400);
    const createdAt = '2030-01-02T03:04:05.000Z';
    const job = await putCsvJob(env, 'pk,code,n:number\nT,A,1\nT,B,x\nT,A,2\n', { mode: 'DIRECT', createdAt });
    await importConsumer({ Records: [importCsvMessage(job)] });
    const expected = Math.floor(Date.parse(createdAt) / 1000) + 7 * 86400;
    const items = [
      ...(await queryPk(env.tables.importTmp, rowsPk(job))),
      ...(await queryPk(env.tables.importTmp, errorsPk(job))),
      ...(await queryPk(env.tables.importTmp, batchesPk(job))),
    ];
    assert.deepEqual([...new Set(items.map((i) => i.type))].sort(), ['IMPORT_BATCH', 'IMPORT_ERROR', 'IMPORT_ROW']);
    // duplicates are decided while the file is read, in file order: no IMPORT_KEY claims any more
    assert.deepEqual(await queryPk(env.tables.importTmp, `IMPORT_KEY#${jobRef(job)}`), []);
    for (const i of items) assert.equal(i.ttl, expected, `${String(i.type)} ${String(i.sk)}`);
  });
});
