/**
 * Issue 9, items 2 and 6: every key and every command row fits DynamoDB's limits by
 * construction — refused up front with the reason, or a failed import row with its line.
 */
import { strict as assert } from 'node:assert';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createTask, publishCommand, startCsvImport, startZipImport, type CqrsClientConfig } from '../../client';
import {
  COMMAND_BOOKKEEPING_RESERVE_BYTES,
  COMMAND_ROW_MAX_BYTES,
  DYNAMODB_ITEM_MAX_BYTES,
  dynamoItemBytes,
  LimitExceededError,
} from '../../core/limits';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { handler as streamRouter } from '../../handlers/stream-router';
import { errorsPk, rowsPk } from '../../handlers/import/model';
import { ARN, BUCKET, getItem, putItem, queryPk, uniq, useHandlerEnv } from './_support/env';
import { importCsvMessage, putCsvJob } from './_support/imports';
import { streamRecord } from './_support/stream-records';

type Row = Record<string, unknown>;

describe('write limits: keys and command rows (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();
  let config: CqrsClientConfig;
  beforeEach(() => {
    const T = env.tables;
    config = {
      tables: { commands: T.commands, data: T.data, tasks: T.tasks, importTmp: T.importTmp },
      importBucket: BUCKET,
      mainTopicArn: ARN.mainTopic,
      clients: { dynamodb: env.ctx.db.client, sfn: new SFNClient({}), sns: new SNSClient({}), s3: new S3Client({}) },
    };
  });

  const limitError = (re: RegExp) => (e: Error) => e instanceof LimitExceededError && re.test(e.message);

  describe('item 2: key sizes (pk ≤ 2,048 bytes, sk ≤ 1,024 bytes after the @<version> suffix)', () => {
    it('publishCommand refuses a sort key over 1,024 bytes, counting the longest version suffix when none is given', async () => {
      const pk = uniq('TENANT');
      // 1,010 bytes + "@1" fits, but version 10^15 would not: without a version the row is refused
      await assert.rejects(
        publishCommand(config, { pk, code: 'c'.repeat(1010), attributes: {} }),
        limitError(/sort key <code>@<version> is 1,027 bytes with the longest version suffix \(17 bytes\)/),
      );
      assert.equal((await publishCommand(config, { pk, code: 'c'.repeat(1010), version: 1 })).version, 1);
      // multi-byte characters count as bytes, not characters
      await assert.rejects(
        publishCommand(config, { pk, code: 'é'.repeat(512), version: 1 }),
        limitError(/sort key <code>@<version> is 1,026 bytes, over DynamoDB's 1,024-byte limit/),
      );
      await assert.rejects(
        publishCommand(config, { pk: 'p'.repeat(2049), code: 'A', version: 1 }),
        limitError(/pk is 2,049 bytes, over DynamoDB's 2,048-byte limit/),
      );
      assert.deepEqual(await queryPk(env.tables.commands, pk).then((r) => r.map((x) => x.version)), [1]);
    });

    it('createTask refuses a key whose sub-task sort keys would not fit', async () => {
      await assert.rejects(
        createTask(config, { pk: uniq('T'), sk: 's'.repeat(1014), taskType: 't', items: [1, 2] }),
        limitError(/sub-task sort key <sk>#SUB#<index> is 1,025 bytes/),
      );
      const ok = await createTask(config, { pk: uniq('T'), sk: 's'.repeat(1013), taskType: 't', items: [1, 2] });
      assert.equal(ok.total, 2);
    });

    it('startCsvImport / startZipImport refuse job keys that would not fit (job row, row partitions, ZIP children)', async () => {
      env.mocks.s3Store.put(BUCKET, 'imports/k.csv', 'pk,code\nA,B\n');
      await assert.rejects(
        startCsvImport(config, { key: 'imports/k.csv', jobId: 'j'.repeat(1017) }),
        limitError(/job sort key is 1,025 bytes/),
      );
      await assert.rejects(
        startCsvImport(config, { key: 'imports/k.csv', pk: 'p'.repeat(1900), jobId: 'j'.repeat(200) }),
        limitError(/row partitions <TYPE>#<pk>#<sk> would be 2,122 bytes/),
      );
      await assert.rejects(
        startZipImport(config, { key: 'imports/k.csv', jobId: 'j'.repeat(1004) }),
        limitError(/job sort key of its child CSV jobs is 1,025 bytes/),
      );
      assert.equal(env.mocks.published.length, 0, 'nothing was started');
    });

    it('a CSV row whose code makes the sort key too long is a failed row with its line and reason, never counted succeeded', async () => {
      const long = 'L'.repeat(1023);
      const csv = [
        'pk,code,version,name',
        'T1,OK,1,fine',
        `T1,${long},1,too long`,
        `T1,${long.slice(0, 1008)},,no version`,
      ].join('\n');
      const job = await putCsvJob(env, csv, { mode: 'DIRECT' });
      await importConsumer({ Records: [importCsvMessage(job)] });
      const row = (await getItem(env.tables.importTmp, job.pk, job.sk))!;
      assert.deepEqual([row.status, row.totalRows, row.succeededRows, row.failedRows], ['FAILED', 3, 1, 2]);
      const errors = await queryPk(env.tables.importTmp, errorsPk(job));
      assert.deepEqual(
        errors.map((e) => e.line),
        [3, 4],
      );
      assert.match(String(errors[0].reason), /sort key <code>@<version> is 1,025 bytes, over/);
      assert.match(
        String(errors[1].reason),
        /sort key <code>@<version> is 1,025 bytes with the longest version suffix/,
      );
      const rows = (await queryPk(env.tables.importTmp, rowsPk(job))).filter((r) => r.type === 'IMPORT_ROW');
      assert.deepEqual(
        rows.map((r) => (r.command as Row).code),
        ['OK'],
      );
    });

    it('the stream router records an IMPORT_ROW whose key cannot fit as FAILED with the reason instead of failing the shard', async () => {
      const jobPk = uniq('IMPORT');
      const row = {
        pk: `IMPORT_ROW#${jobPk}#CSV_JOB#j`,
        sk: '0000000000',
        type: 'IMPORT_ROW',
        jobPk,
        jobSk: 'CSV_JOB#j',
        index: 0,
        line: 2,
        command: { pk: uniq('T'), code: 'x'.repeat(1100), attributes: {} },
      };
      await putItem(env.tables.importTmp, row);
      const res = await streamRouter({ Records: [streamRecord(env.tables.importTmp, row, '1')] });
      assert.deepEqual(res.batchItemFailures, [], 'not retried into the stream DLQ');
      const stored = (await getItem(env.tables.importTmp, row.pk, row.sk))!;
      assert.equal(stored.status, 'FAILED');
      assert.match(String(stored.reason), /sort key <code>@<version> is 1,117 bytes/);
      assert.ok(env.mocks.published.some((p) => p.topic === ARN.alarmTopic && p.body.kind === 'import-row-rejected'));
    });
  });

  describe('item 6 (client/core side): a command row always leaves room for its bookkeeping', () => {
    it('the budget leaves the documented reserve below the 400 KB item limit', () => {
      assert.equal(COMMAND_ROW_MAX_BYTES + COMMAND_BOOKKEEPING_RESERVE_BYTES, DYNAMODB_ITEM_MAX_BYTES);
      // a: 1 + 3; n: 1 + (5 digits → 4); m: 1 + map 3 + (k: 1 + list 3 + (1 + 1) + (1 + 1) + 1)
      assert.equal(dynamoItemBytes({ a: 'xyz', n: 12345, m: { k: [true, null] } }), 4 + 5 + 13);
    });

    it('fields that would push the row past the budget are offloaded (fieldsRef); the row takes a full bookkeeping write', async () => {
      const pk = uniq('TENANT');
      const fields = { name: 'n'.repeat(409_504 - 10) };
      const c = await publishCommand(config, { pk, code: 'BIG', fields, attributes: { a: 1 } });
      const row = (await getItem(env.tables.commands, pk, c.sk))!;
      assert.ok(dynamoItemBytes(row) <= COMMAND_ROW_MAX_BYTES, `row is ${dynamoItemBytes(row)} bytes`);
      assert.equal(row.name, undefined);
      assert.match(String(row.fieldsRef), /^payloads\/commands\//);
      assert.deepEqual(JSON.parse(env.mocks.s3Store.get(BUCKET, String(row.fieldsRef))!.toString()), fields);
      assert.deepEqual(row.attributes, { a: 1 }, 'small attributes stay inline');
      // what the command workflow writes later fits: a token, a status, a long failure reason
      await env.ctx.doc.send(
        new UpdateCommand({
          TableName: env.tables.commands,
          Key: { pk, sk: c.sk },
          UpdateExpression: 'SET taskToken = :t, #s = :s, failedReason = :r',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':t': 't'.repeat(2048),
            ':s': 'mark_failed:FAILED',
            ':r': 'r'.repeat(COMMAND_BOOKKEEPING_RESERVE_BYTES - 4096),
          },
        }),
      );
    });

    it('refuses fields it cannot offload (no payload bucket) with a clear error, writing nothing', async () => {
      const pk = uniq('TENANT');
      await assert.rejects(
        publishCommand(
          { ...config, importBucket: undefined },
          { pk, code: 'BIG', fields: { name: 'n'.repeat(400_000) } },
        ),
        limitError(/command row .* would be \d[\d,]* bytes, over the 344,064-byte budget .* no payload bucket/),
      );
      assert.deepEqual(await queryPk(env.tables.commands, pk), []);
    });

    it('reserved names include every bookkeeping attribute the workflow writes', async () => {
      for (const f of ['failedReason', 'syncStatus', 'statusAt', 'fieldsRef', 'lastError']) {
        await assert.rejects(publishCommand(config, { pk: 'p', code: 'A', fields: { [f]: 'x' } }), /reserved/, f);
      }
    });
  });
});
