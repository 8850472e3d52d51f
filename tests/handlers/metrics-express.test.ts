/**
 * The business metrics on the EXPRESS command path (the default `commandPath`), read from the
 * handlers' own log output while the real stream router, EXPRESS and command-wait definitions
 * and handlers run a waiting pair end to end (the chaos harness's stack without faults,
 * DynamoDB Local): the same figures as on the STANDARD path, each once per version, not again
 * when a record is redelivered and its version runs a second time.
 */
import { strict as assert } from 'node:assert';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CONFIG_SCHEMA } from '../../components/stack-config';
import { publishCommandWith } from '../../core/commands';
import { COMMAND_RUN_TIMEOUT_SECONDS } from '../../core/limits';
import { BusinessMetric } from '../../core/metrics';
import { resetDynamoDbClient } from '../../handlers/shared/aws/dynamodb';
import { expressPath } from '../chaos/express-path';
import { SimulatedStack } from '../chaos/harness/stack';
import { setupHandlerEnv, uniq, type Ctx } from './_support/env';
import { captureLogs, metricSum, metricValues } from './_support/metrics';
import { until } from './_support/wait';

type Row = Record<string, unknown>;

describe('business metrics on the EXPRESS command path, end to end (EMF, DynamoDB Local)', function () {
  this.timeout(300_000);
  let ctx: Ctx;
  let stack: SimulatedStack;
  let syncRuns: string[];

  before(async () => {
    ctx = await setupHandlerEnv();
  });
  beforeEach(() => {
    resetDynamoDbClient();
    // the stack's defaults: no re-check fires while the pair runs
    const path = expressPath([], {
      waitTimeoutSeconds: CONFIG_SCHEMA.commandWaitTimeoutSeconds.default,
      waitHeartbeatSeconds: CONFIG_SCHEMA.commandWaitHeartbeatSeconds.default,
      runTimeoutSeconds: COMMAND_RUN_TIMEOUT_SECONDS,
    });
    syncRuns = [];
    stack = new SimulatedStack(
      path,
      path.functions,
      { onSyncRun: (name) => syncRuns.push(name) },
      { streamMaxRetryAttempts: 3, stable: (t) => t },
    );
  });
  afterEach(async () => {
    await stack.restore();
    resetDynamoDbClient();
  });

  const row = async (pk: string, version: number): Promise<Row | undefined> =>
    (
      await ctx.doc.send(
        new GetCommand({ TableName: ctx.db.tables.commands, Key: { pk, sk: `ITEM@${version}` }, ConsistentRead: true }),
      )
    ).Item;
  async function publish(pk: string, version: number): Promise<Row> {
    await publishCommandWith(
      { dynamodb: ctx.doc, commandsTable: ctx.db.tables.commands, dataTable: ctx.db.tables.data },
      { pk, code: 'ITEM', version, attributes: { v: version } },
    );
    const image = await row(pk, version);
    assert.ok(image);
    return image;
  }
  async function settle(): Promise<void> {
    assert.ok(await stack.settle(Date.now() + 120_000, 50), 'the stack did not come to rest');
  }

  it('version 2 before 1: VersionsWaiting 1 and one VersionWaitTime (command-wait), CommandsApplied 2 (EXPRESS runs)', async () => {
    const pk = uniq('METRICS');
    const image1 = await publish(pk, 1);
    const image2 = await publish(pk, 2);
    const { emf } = await captureLogs(async () => {
      await stack.deliver(ctx.db.tables.commands, [image2], `${pk}@2`);
      await until('version 2 to wait in command-wait', async () => (await row(pk, 2))?.taskToken !== undefined);
      await stack.deliver(ctx.db.tables.commands, [image1], `${pk}@1`);
      await settle();
    });
    for (const v of [1, 2]) assert.equal((await row(pk, v))?.result, 'COMPLETED', `version ${v}`);
    assert.equal(metricSum(emf, BusinessMetric.VERSIONS_WAITING), 1);
    const waits = metricValues(emf, BusinessMetric.VERSION_WAIT_TIME);
    assert.equal(waits.length, 1, 'one wait ended');
    assert.ok(Number.isInteger(waits[0]) && waits[0] >= 0, `wait seconds ${waits[0]}`);
    assert.equal(metricSum(emf, BusinessMetric.COMMANDS_APPLIED), 2);
    assert.equal(metricSum(emf, BusinessMetric.COMMANDS_FAILED), 0);

    // The stream redelivers both records: each version runs again and finds itself ended.
    const before = syncRuns.length;
    const again = await captureLogs(async () => {
      await stack.deliver(ctx.db.tables.commands, [image1, image2], `${pk}@1+2 again`);
      await settle();
    });
    assert.equal(syncRuns.length - before, 2, 'both versions ran again');
    assert.deepEqual(again.emf, [], 'a second run of an ended version emits no metric');
  });

  it('a conflict: CommandsFailed 1 from the EXPRESS run (mark_failed), nothing applied', async () => {
    const pk = uniq('METRICS');
    // the data row is already at version 5: version 3 can never apply
    await ctx.doc.send(new PutCommand({ TableName: ctx.db.tables.data, Item: { pk, sk: 'ITEM', version: 5 } }));
    const image3 = { pk, sk: 'ITEM@3', code: 'ITEM', version: 3, attributes: { v: 3 } };
    await ctx.doc.send(new PutCommand({ TableName: ctx.db.tables.commands, Item: image3 }));
    const { emf } = await captureLogs(async () => {
      await stack.deliver(ctx.db.tables.commands, [image3], `${pk}@3`);
      await settle();
    });
    assert.equal((await row(pk, 3))?.result, 'FAILED');
    assert.equal(metricSum(emf, BusinessMetric.COMMANDS_FAILED), 1);
    assert.equal(metricSum(emf, BusinessMetric.COMMANDS_APPLIED), 0);
  });
});
