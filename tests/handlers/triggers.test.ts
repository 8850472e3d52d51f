import { strict as assert } from 'node:assert';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as notificationConsumer, addNotificationListener } from '../../handlers/notification-consumer';
import { executionName } from '../../core/keys';
import { decodeImage } from '../../handlers/shared/stream';
import { ARN, getItem, putItem, queryPk, uniq, useHandlerEnv } from './_support/env';
import { streamRecord } from './_support/stream-records';

type Row = Record<string, unknown>;

const record = streamRecord;

describe('triggers (DynamoDB Local)', function () {
  this.timeout(60000);
  const env = useHandlerEnv();

  describe('execution names', () => {
    it('are deterministic, ≤ 80 chars, only [A-Za-z0-9_-], and distinct for distinct keys', () => {
      const a = executionName('commands', 'TENANT#t1', 'ORDER#1@2');
      assert.equal(a, executionName('commands', 'TENANT#t1', 'ORDER#1@2'));
      assert.notEqual(
        a,
        executionName('commands', 'TENANT/t1', 'ORDER#1@2'),
        'sanitising cannot collide: a hash of the raw key is appended',
      );
      assert.notEqual(a, executionName('commands', 'TENANT#t1', 'ORDER#1@3'));
      const long = executionName('import_tmp', 'x'.repeat(300), 'CSV_JOB#' + 'y'.repeat(300));
      for (const n of [a, long, executionName('tasks', 'ä ö', '[]{}<>?*"#%\\^|~`$&,;:/')]) {
        assert.ok(n.length <= 80, n);
        assert.match(n, /^[A-Za-z0-9_-]+$/);
      }
      assert.match(
        executionName('commands', 'plain', 'key-1'),
        /^commands-plain-key-1-[0-9a-f]{20}$/,
        'readable prefix + hash',
      );
    });

    it('never collide when "-" inside a part moves between parts', () => {
      // the readable prefix of each pair is identical; only the hash of the exact parts tells them apart
      assert.notEqual(executionName('commands', 'T#a-b', 'c@1'), executionName('commands', 'T#a', 'b-c@1'));
      assert.notEqual(executionName('tasks', 't-1', 'job'), executionName('tasks', 't', '1-job'));
      assert.notEqual(executionName('tasks', 'a', ''), executionName('tasks', 'a-'));
    });

    it('the second of two ambiguous command keys still starts its own execution', async () => {
      const pk = uniq('T');
      for (const [p, sk] of [
        [`${pk}#a-b`, 'c@1'],
        [`${pk}#a`, 'b-c@1'],
      ]) {
        const res = await streamRouter({
          Records: [record(env.tables.commands, { pk: p, sk, code: sk.split('@')[0], version: 1 }, '1')],
        });
        assert.deepEqual(res.batchItemFailures, []);
      }
      assert.deepEqual(
        env.mocks.started.map((s) => (s.input as Row).sk),
        ['c@1', 'b-c@1'],
        'both versions run',
      );
      assert.notEqual(env.mocks.started[0].name, env.mocks.started[1].name);
    });
  });

  describe('stream router', () => {
    it('commands: the same stream record delivered twice starts one execution with { pk, sk } only', async () => {
      const pk = uniq('TENANT');
      const image = { pk, sk: 'ORDER#1@1', code: 'ORDER#1', version: 1, attributes: { big: 'x'.repeat(1000) } };
      const rec = record(env.tables.commands, image, '1');
      assert.deepEqual((await streamRouter({ Records: [rec] })).batchItemFailures, []);
      assert.deepEqual((await streamRouter({ Records: [rec] })).batchItemFailures, []);
      assert.equal(env.mocks.started.length, 1);
      assert.equal(env.mocks.started[0].stateMachineArn, ARN.command);
      assert.deepEqual(env.mocks.started[0].input, { pk, sk: 'ORDER#1@1' });
      assert.equal(env.mocks.started[0].name, executionName('commands', pk, 'ORDER#1@1'));
    });

    it('ignores MODIFY/REMOVE and non-workflow rows; reports the first failing record and stops there', async () => {
      const pk = uniq('TENANT');
      const res = await streamRouter({
        Records: [
          record(env.tables.commands, { pk, sk: 'A@1' }, '10', 'MODIFY'),
          record(env.tables.importTmp, { pk, sk: 'CSV_JOB#x', type: 'CSV_JOB' }, '11'),
          record(env.tables.commands, { pk, sk: 'A@1', code: 'A', version: 1 }, '12'),
          record('some-other-table', { pk, sk: 'A@2' }, '13'),
          record(env.tables.commands, { pk, sk: 'A@3', code: 'A', version: 3 }, '14'),
        ],
      });
      assert.deepEqual(res.batchItemFailures, [{ itemIdentifier: '13' }]);
      assert.deepEqual(
        env.mocks.started.map((s) => (s.input as Row).sk),
        ['A@1'],
        'records after the failure are left for the retry',
      );
    });

    it('import_tmp: an IMPORT_ROW becomes the next command version, exactly once even if redelivered', async () => {
      const target = uniq('TENANT');
      const jobPk = uniq('IMPORT');
      await putItem(env.tables.data, { pk: target, sk: 'SKU1', version: 3 });
      const row = {
        pk: `IMPORT_ROW#${jobPk}#CSV_JOB#j`,
        sk: '0000000000',
        type: 'IMPORT_ROW',
        jobPk,
        jobSk: 'CSV_JOB#j',
        index: 0,
        line: 2,
        command: { pk: target, code: 'SKU1', attributes: { qty: 4 } },
      };
      await putItem(env.tables.importTmp, row);
      const rec = record(env.tables.importTmp, row, '20');
      await streamRouter({ Records: [rec] });
      await streamRouter({ Records: [rec] });
      const cmds = await queryPk(env.tables.commands, target);
      assert.equal(cmds.length, 1, 'one command, not two');
      assert.equal(cmds[0].sk, 'SKU1@4', 'next version after the data row');
      assert.deepEqual(cmds[0].attributes, { qty: 4 });
      assert.deepEqual(cmds[0].importSource, { jobPk, jobSk: 'CSV_JOB#j', line: 2 });
      assert.ok((await getItem(env.tables.importTmp, row.pk, row.sk))?.publishedAt);
      // a second imported row of the same code gets the version after that
      const row2 = {
        ...row,
        sk: '0000000001',
        index: 1,
        line: 3,
        command: { pk: target, code: 'SKU1', attributes: { qty: 5 } },
      };
      await putItem(env.tables.importTmp, row2);
      await streamRouter({ Records: [record(env.tables.importTmp, row2, '21')] });
      assert.deepEqual((await queryPk(env.tables.commands, target)).map((c) => c.sk).sort(), ['SKU1@4', 'SKU1@5']);
    });

    it('import_tmp: a redelivered IMPORT_ROW with an explicit version is done, not a version clash', async () => {
      const target = uniq('TENANT');
      const jobPk = uniq('IMPORT');
      const row = {
        pk: `IMPORT_ROW#${jobPk}#CSV_JOB#j`,
        sk: '0000000000',
        type: 'IMPORT_ROW',
        jobPk,
        jobSk: 'CSV_JOB#j',
        index: 0,
        line: 2,
        command: { pk: target, code: 'SKU1', version: 1, attributes: { qty: 1 } },
      };
      await putItem(env.tables.importTmp, row);
      const rec = record(env.tables.importTmp, row, '30');
      assert.deepEqual((await streamRouter({ Records: [rec] })).batchItemFailures, []);
      // both transaction conditions fail now: version 1 exists and the row is marked published
      assert.deepEqual(
        (await streamRouter({ Records: [rec] })).batchItemFailures,
        [],
        'redelivery does not block the shard',
      );
      assert.deepEqual(
        (await queryPk(env.tables.commands, target)).map((c) => c.sk),
        ['SKU1@1'],
      );
      const stored = (await getItem(env.tables.importTmp, row.pk, row.sk))!;
      assert.ok(stored.publishedAt);
      assert.equal(stored.status, undefined, 'not recorded as a clash');
      assert.equal(env.mocks.published.filter((p) => p.topic === ARN.alarmTopic).length, 0);
    });

    it('import_tmp: an explicit version another writer already created is recorded on the row and alarmed, not thrown', async () => {
      const target = uniq('TENANT');
      const jobPk = uniq('IMPORT');
      await putItem(env.tables.commands, {
        pk: target,
        sk: 'SKU1@1',
        code: 'SKU1',
        version: 1,
        attributes: { qty: 9 },
      });
      const row = {
        pk: `IMPORT_ROW#${jobPk}#CSV_JOB#j`,
        sk: '0000000003',
        type: 'IMPORT_ROW',
        jobPk,
        jobSk: 'CSV_JOB#j',
        index: 3,
        line: 5,
        command: { pk: target, code: 'SKU1', version: 1, attributes: { qty: 1 } },
      };
      await putItem(env.tables.importTmp, row);
      const rec = record(env.tables.importTmp, row, '40');
      assert.deepEqual((await streamRouter({ Records: [rec] })).batchItemFailures, []);
      assert.deepEqual((await streamRouter({ Records: [rec] })).batchItemFailures, [], 'redelivered: still no failure');
      const cmds = await queryPk(env.tables.commands, target);
      assert.deepEqual(
        cmds.map((c) => c.attributes),
        [{ qty: 9 }],
        'the existing version is untouched',
      );
      const stored = (await getItem(env.tables.importTmp, row.pk, row.sk))!;
      assert.equal(stored.status, 'FAILED');
      assert.match(String(stored.reason), /version clash: .* \/ SKU1@1 already exists/);
      assert.equal(stored.publishedAt, undefined);
      const alarms = env.mocks.published.filter((p) => p.topic === ARN.alarmTopic);
      assert.equal(alarms.length, 1, 'one alarm, not one per delivery');
      assert.equal(alarms[0].body.kind, 'import-row-version-clash');
      assert.deepEqual([alarms[0].body.jobPk, alarms[0].body.line], [jobPk, 5]);
    });

    it('decodes every stream attribute type', () => {
      const img = decodeImage({
        s: { S: 'x' },
        n: { N: '12.5' },
        big: { N: '123456789012345678901' },
        b: { BOOL: true },
        z: { NULL: true },
        l: { L: [{ S: 'a' }, { N: '1' }] },
        m: { M: { k: { S: 'v' } } },
        ss: { SS: ['a', 'b'] },
        bin: { B: Buffer.from('hi').toString('base64') },
      });
      assert.deepEqual(
        { ...img, ss: [...(img.ss as Set<string>)], bin: String(img.bin) },
        {
          s: 'x',
          n: 12.5,
          big: '123456789012345678901',
          b: true,
          z: null,
          l: ['a', 1],
          m: { k: 'v' },
          ss: ['a', 'b'],
          bin: 'hi',
        },
      );
    });
  });

  describe('notification consumer', () => {
    it('handles status events (SNS envelope or raw), calls listeners, reports partial batch failures', async () => {
      const seen: Row[] = [];
      const off = addNotificationListener((e) => {
        if (e.sk === 'explode') throw new Error('listener failed');
        seen.push(e);
      });
      try {
        const res = await notificationConsumer({
          Records: [
            {
              messageId: 'a',
              body: JSON.stringify({
                Type: 'Notification',
                Message: JSON.stringify({ pk: 'p', sk: 's', status: 'COMPLETED' }),
                MessageAttributes: { action: { Type: 'String', Value: 'task-status' } },
              }),
            },
            {
              messageId: 'b',
              body: JSON.stringify({ pk: 'p', sk: 's2', status: 'FAILED' }),
              messageAttributes: { action: { stringValue: 'import-status', dataType: 'String' } },
            },
            { messageId: 'c', body: JSON.stringify({ action: 'task-status', pk: 'p', sk: 'explode' }) },
            { messageId: 'd', body: JSON.stringify({ action: 'task-status' }) },
          ],
        });
        assert.deepEqual(
          res.batchItemFailures.map((f) => f.itemIdentifier),
          ['c', 'd'],
        );
        assert.deepEqual(
          seen.map((e) => [e.action, e.sk, e.status]),
          [
            ['task-status', 's', 'COMPLETED'],
            ['import-status', 's2', 'FAILED'],
          ],
        );
      } finally {
        off();
      }
    });
  });
});
