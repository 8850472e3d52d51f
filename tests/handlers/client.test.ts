import { strict as assert } from 'node:assert';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import {
  ConfigError,
  createCqrsClient,
  createTask,
  failExecution,
  listImportErrors,
  publishCommand,
  resumeExecution,
  startCsvImport,
  startZipImport,
  TokenResult,
  VersionExistsError,
  type CqrsClientConfig,
} from '../../client';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import {
  ARN,
  BUCKET,
  getItem,
  installMocks,
  putItem,
  queryPk,
  setupHandlerEnv,
  uniq,
  type Ctx,
  type Mocks,
} from './_support/env';

describe('client API (DynamoDB Local)', function () {
  this.timeout(60000);
  let ctx: Ctx;
  let mocks: Mocks;
  let config: CqrsClientConfig;
  before(async () => {
    ctx = await setupHandlerEnv();
  });
  beforeEach(() => {
    mocks = installMocks();
    const T = ctx.db.tables;
    config = {
      tables: { commands: T.commands, data: T.data, tasks: T.tasks, importTmp: T.importTmp },
      importBucket: BUCKET,
      mainTopicArn: ARN.mainTopic,
      clients: { dynamodb: ctx.db.client, sfn: new SFNClient({}), sns: new SNSClient({}), s3: new S3Client({}) },
      directImportMaxBytes: 100,
      maxInlineBytes: 1024,
    };
  });
  afterEach(() => mocks.restore());

  describe('publishCommand', () => {
    it('writes version 1, then the next version after the highest of commands and data', async () => {
      const pk = uniq('TENANT');
      const c1 = await publishCommand(config, {
        pk,
        code: 'ORDER#1',
        attributes: { total: 10 },
        fields: { name: 'Order' },
      });
      assert.deepEqual(c1, { pk, sk: 'ORDER#1@1', code: 'ORDER#1', version: 1 });
      const row = await getItem(config.tables.commands!, pk, 'ORDER#1@1');
      assert.deepEqual(row?.attributes, { total: 10 });
      assert.equal(row?.name, 'Order');
      await putItem(config.tables.data!, { pk, sk: 'ORDER#1', version: 9 });
      assert.equal((await publishCommand(config, { pk, code: 'ORDER#1', attributes: {} })).version, 10);
      // versions 10 and 9 sort "wrong" as strings: the max is numeric
      assert.equal((await publishCommand(config, { pk, code: 'ORDER#1', attributes: {} })).version, 11);
      // a code that is a prefix of another is not confused with it
      assert.equal((await publishCommand(config, { pk, code: 'ORDER', attributes: {} })).version, 1);
    });

    it('two writers cannot create the same version (explicit: VersionExistsError; implicit: both get distinct versions)', async () => {
      const pk = uniq('TENANT');
      const results = await Promise.allSettled(
        [1, 2].map(() => publishCommand(config, { pk, code: 'X', version: 1, attributes: {} })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(rejected.reason instanceof VersionExistsError);
      const many = await Promise.all(
        Array.from({ length: 4 }, (_, i) => publishCommand(config, { pk, code: 'Y', attributes: { i } })),
      );
      assert.deepEqual(many.map((m) => m.version).sort(), [1, 2, 3, 4]);
      assert.equal((await queryPk(config.tables.commands!, pk)).length, 5);
    });

    it('offloads large attributes to S3 under payloads/ (attributesRef)', async () => {
      const pk = uniq('TENANT');
      const big = { text: 'z'.repeat(5000) };
      const c = await publishCommand(config, { pk, code: 'DOC', attributes: big });
      const row = await getItem(config.tables.commands!, pk, c.sk);
      assert.equal(row?.attributes, undefined);
      assert.match(String(row?.attributesRef), /^payloads\/commands\//);
      assert.deepEqual(JSON.parse(mocks.s3Store.get(BUCKET, String(row?.attributesRef))!.toString()), big);
      await assert.rejects(
        publishCommand({ ...config, importBucket: undefined }, { pk, code: 'DOC', attributes: big }),
        /no payload bucket/,
      );
    });

    it('validates input and config', async () => {
      await assert.rejects(publishCommand(config, { pk: '', code: 'A' }), /pk is required/);
      await assert.rejects(publishCommand(config, { pk: 'p', code: 'A', version: 0 }), /positive integer/);
      await assert.rejects(publishCommand(config, { pk: 'p', code: 'A', fields: { status: 'x' } }), /reserved/);
      await assert.rejects(publishCommand({ ...config, tables: {} }, { pk: 'p', code: 'A' }), ConfigError);
    });
  });

  describe('createTask', () => {
    it('writes a CREATED task row with counters; large inputs offloaded', async () => {
      const pk = uniq('TENANT');
      const t = await createTask(config, { pk, taskType: 'resize', items: [{ id: 1 }, { id: 2 }] });
      assert.match(t.sk, /^TASK#resize#/);
      const row = await getItem(config.tables.tasks!, pk, t.sk);
      assert.deepEqual([row?.type, row?.status, row?.total, row?.succeeded, row?.failed], ['TASK', 'CREATED', 2, 0, 0]);
      assert.deepEqual(row?.input, [{ id: 1 }, { id: 2 }]);
      const big = await createTask(config, {
        pk,
        taskType: 'resize',
        items: Array.from({ length: 100 }, (_, i) => ({ id: i, pad: 'p'.repeat(50) })),
      });
      const bigRow = await getItem(config.tables.tasks!, pk, big.sk);
      assert.equal(bigRow?.input, undefined);
      assert.match(String(bigRow?.inputRef), /^payloads\/tasks\//);
      await assert.rejects(
        createTask(config, { pk, sk: t.sk, taskType: 'resize', items: [] }),
        /ConditionalCheckFailed|conditional/i,
      );
    });
  });

  describe('imports', () => {
    it('startCsvImport: DIRECT vs STEP_FUNCTION by HeadObject size, job row created, import-csv published', async () => {
      mocks.s3Store.put(BUCKET, 'imports/small.csv', 'pk,code\nA,B\n');
      mocks.s3Store.put(BUCKET, 'imports/large.csv', 'pk,code\n' + 'A,B\n'.repeat(100));
      const small = await startCsvImport(config, { key: 'imports/small.csv', pk: 'TENANT#1' });
      const large = await startCsvImport(config, {
        key: 'imports/large.csv',
        pk: 'TENANT#1',
        jobId: uniq('J').replace(/#/g, '-'),
      });
      assert.equal(small.mode, 'DIRECT');
      assert.equal(large.mode, 'STEP_FUNCTION');
      assert.match(small.sk, /^CSV_JOB#/);
      const row = await getItem(config.tables.importTmp!, small.pk, small.sk);
      assert.deepEqual(
        [row?.type, row?.status, row?.mode, row?.bucket, row?.key],
        ['CSV_JOB', 'CREATED', 'DIRECT', BUCKET, 'imports/small.csv'],
      );
      const msgs = mocks.published.filter((p) => p.topic === ARN.mainTopic && p.action === 'import-csv');
      assert.deepEqual(
        msgs.map((m) => m.body.sk),
        [small.sk, large.sk],
      );
      // the consumer runs what the client started
      await importConsumer({
        Records: msgs.map((m, i) => ({
          messageId: `m${i}`,
          body: JSON.stringify(m.body),
          messageAttributes: { action: { stringValue: m.action } },
        })),
      });
      assert.equal((await getItem(config.tables.importTmp!, small.pk, small.sk))?.status, 'COMPLETED');
      assert.equal(mocks.started.length, 1);
      assert.equal(mocks.started[0].stateMachineArn, ARN.importCsv);
      assert.deepEqual(await listImportErrors(config, small), []);
    });

    it('refuses keys outside imports/ and other buckets: the import functions could not read them', async () => {
      await assert.rejects(startCsvImport(config, { key: 'uploads/x.csv' }), /key must be under imports\//);
      await assert.rejects(
        startCsvImport(config, { key: 'imports/x.csv', bucket: 'someone-elses-bucket' }),
        /can read only the import bucket/,
      );
    });

    it('issue 9 item 1: refuses jobIds that read as paths (dots only, slashes, empty)', async () => {
      mocks.s3Store.put(BUCKET, 'imports/p.csv', 'pk,code\nA,B\n');
      for (const jobId of ['..', '.', '...']) {
        await assert.rejects(
          startCsvImport(config, { key: 'imports/p.csv', jobId }),
          /jobId must not consist of dots only/,
        );
        await assert.rejects(startZipImport(config, { key: 'imports/p.csv', jobId }), /dots only/);
      }
      for (const jobId of ['a/b', '', 'a b'])
        await assert.rejects(startCsvImport(config, { key: 'imports/p.csv', jobId }), /jobId may only contain/);
      assert.equal(mocks.published.length, 0);
    });

    it('startCsvImport with the same jobId republishes a job that has not started, refuses another file', async () => {
      mocks.s3Store.put(BUCKET, 'imports/r.csv', 'pk,code\nA,B\n');
      mocks.s3Store.put(BUCKET, 'imports/other.csv', 'pk,code\nA,B\n');
      const jobId = uniq('J').replace(/#/g, '-');
      const a = await startCsvImport(config, { key: 'imports/r.csv', jobId });
      const b = await startCsvImport(config, { key: 'imports/r.csv', jobId });
      assert.deepEqual(b, a);
      assert.equal(mocks.published.filter((p) => p.body.sk === a.sk).length, 2);
      await assert.rejects(startCsvImport(config, { key: 'imports/other.csv', jobId }), /already exists/);
    });

    it('startZipImport publishes import-zip; listImportErrors returns reasons in file order', async () => {
      mocks.s3Store.put(BUCKET, 'imports/a.zip', Buffer.from('PK'));
      const z = await startZipImport(config, { key: 'imports/a.zip' });
      assert.equal(z.mode, 'STEP_FUNCTION');
      assert.match(z.sk, /^ZIP_JOB#/);
      assert.ok(mocks.published.some((p) => p.action === 'import-zip' && p.body.sk === z.sk));
      mocks.s3Store.put(BUCKET, 'imports/bad.csv', 'pk,code,n:number\nA,,1\nA,B,x\n');
      const bad = await startCsvImport(config, { key: 'imports/bad.csv', mode: 'DIRECT' });
      await importConsumer({
        Records: [{ messageId: 'x', body: JSON.stringify({ action: 'import-csv', pk: bad.pk, sk: bad.sk }) }],
      });
      const errors = await listImportErrors(config, bad);
      assert.deepEqual(
        errors.map((e) => e.line),
        [2, 3],
      );
      assert.match(errors[0].reason, /empty required field "code"/);
      assert.match(errors[1].reason, /invalid number/);
      await assert.rejects(startCsvImport(config, { key: 'imports/missing.csv' }), /NotFound/);
    });
  });

  describe('task tokens', () => {
    it('resumeExecution / failExecution send to Step Functions; a stale token is reported, not thrown', async () => {
      assert.equal(await resumeExecution(config, 'tok', { ok: true }), 'sent');
      assert.equal(await failExecution(config, 'tok2', 'Rejected', 'by a human'), 'sent');
      assert.deepEqual(mocks.successes, [{ taskToken: 'tok', output: { ok: true } }]);
      assert.deepEqual(mocks.failures, [{ taskToken: 'tok2', error: 'Rejected', cause: 'by a human' }]);
      mocks.sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
      assert.equal(await resumeExecution(config, 'old'), 'stale');
    });

    it('issue 9 item 16: a forged or malformed token is "invalid", one that no longer waits is "stale"', async () => {
      const forged = new InvalidToken({ message: 'Invalid Token', $metadata: {} });
      mocks.sfn.on(SendTaskSuccessCommand).rejects(forged);
      mocks.sfn.on(SendTaskFailureCommand).rejects(forged);
      assert.equal(await resumeExecution(config, 'forged'), TokenResult.INVALID);
      assert.equal(await failExecution(config, 'forged', 'Rejected'), 'invalid');
      mocks.sfn.on(SendTaskSuccessCommand).rejects(new TaskDoesNotExist({ message: 'gone', $metadata: {} }));
      mocks.sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: 'timed out', $metadata: {} }));
      assert.equal(await resumeExecution(config, 'ended'), TokenResult.STALE);
      assert.equal(await failExecution(config, 'ended', 'Rejected'), 'stale');
      // longer than Step Functions accepts: refused without a call
      const calls = mocks.sfn.calls().length;
      assert.equal(await resumeExecution(config, 'x'.repeat(2049)), 'invalid');
      assert.equal(mocks.sfn.calls().length, calls);
      // anything else is still thrown
      mocks.sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('boom'), { name: 'ThrottlingException' }));
      await assert.rejects(resumeExecution(config, 'tok'), /boom/);
    });

    it('createCqrsClient binds the config', async () => {
      const client = createCqrsClient({
        ...config,
        clients: { ...config.clients, dynamodb: new DynamoDBClient({ endpoint: ctx.db.endpoint }) },
      });
      const pk = uniq('TENANT');
      assert.equal((await client.publishCommand({ pk, code: 'A', attributes: {} })).sk, 'A@1');
      assert.equal(await client.resumeExecution('t'), 'sent');
    });
  });
});
