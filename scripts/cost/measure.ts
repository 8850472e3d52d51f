/**
 * The cost benchmark's scenarios, run on the real stream router, definitions and handlers
 * (SimulatedStack: aws-local-stepfunctions, the Lambda runtime, DynamoDB Local):
 * - one command on each command path with 0, 1 and 3 registered sync targets: a version of an
 *   entity whose previous version has completed (a steady-state update: it also expires its
 *   predecessor), the command row written by the application beforehand (not counted);
 * - a version that must wait for its predecessor: both versions minus two commands;
 * - a CSV import: the job, a batch and a row (the command it becomes included), measured on
 *   small files and scaled to a million rows of 200 bytes, with as many rows per Distributed
 *   Map child as the import-csv definition's ItemBatcher lets into one batch.
 * Everything is counted, nothing timed: the counts are the same on every run.
 */
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createCqrsClient } from '../../client';
import { CONFIG_SCHEMA } from '../../components/stack-config';
import type { MapState } from '../../components/asl';
import { buildImportCsvDefinition } from '../../components/workflows/import-csv-definition';
import { publishCommandWith } from '../../core/commands';
import { COMMAND_RUN_TIMEOUT_SECONDS } from '../../core/limits';
import { CommandPath } from '../../core/status';
import { ddb, resetDynamoDbClient } from '../../handlers/shared/aws/dynamodb';
import { handler as importConsumer } from '../../handlers/import-action-consumer';
import { handler as importCsvStep } from '../../handlers/import-csv-step';
import { rowsPk } from '../../handlers/import/model';
import { expressPath } from '../../tests/chaos/express-path';
import { standardPath } from '../../tests/chaos/standard-path';
import type { ChaosTables, ChaosTarget, CommandPath as PathModule } from '../../tests/chaos/harness/chaos';
import type { FunctionSpec } from '../../tests/chaos/harness/runtime';
import { SimulatedStack } from '../../tests/chaos/harness/stack';
import { until } from '../../tests/handlers/_support/wait';
import { SNSClient } from '@aws-sdk/client-sns';
import { S3Client } from '@aws-sdk/client-s3';
import { add, expressBilledMs, lambdaMs, scale, subtract, ZERO, type Counts } from './counts';
import { CostMeter, mapStatesOf } from './meter';

export const TARGET_COUNTS = [0, 1, 3] as const;
/** Bytes of one CSV row of the import scenario (the size the import-csv definition's batch bound is stated for). */
export const CSV_ROW_BYTES = 200;
/** Rows the import's per-1M figure is for. */
export const CSV_ROWS = 1_000_000;

export interface CommandCost {
  path: CommandPath;
  targets: number;
  counts: Counts;
}

export interface CsvCost {
  maxItemsPerBatch: number;
  maxInputBytesPerBatch: number;
  /** Rows of CSV_ROW_BYTES that fit one batch under both bounds. */
  rowsPerBatch: number;
  batchesPerMillion: number;
  perJob: Counts;
  perBatch: Counts;
  perRow: Counts;
  /** A million rows: one job, its batches and its rows. */
  perMillion: Counts;
}

export interface CostReport {
  commands: CommandCost[];
  /** What a version that waits for its predecessor costs more than one that does not (EXPRESS path). */
  waiting: Counts;
  csv: CsvCost;
}

const ACCOUNT = '123456789012';
const IMPORT_CSV_STEP_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:cost-import-csv-step`;
const IMPORT_CONSUMER_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:cost-import-action-consumer`;
const IMPORT_CSV_MACHINE_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:cost-import-csv`;

function targetsOf(n: number): ChaosTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `t${i + 1}`,
    functionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:cost-target-${i + 1}`,
    timeoutSeconds: 30,
  }));
}

/** A command of about CSV_ROW_BYTES of data. */
const ATTRIBUTES = { name: 'n'.repeat(120), price: 1234.5, active: true, category: 'c'.repeat(30) };

interface Rig {
  stack: SimulatedStack;
  meter: CostMeter;
  mapStates: Set<string>;
  path: PathModule;
}

class Scenarios {
  private seq = 0;
  /** Same length on every run: item sizes (and so request units) do not depend on the clock. */
  private readonly run = Date.now().toString(36).padStart(9, '0').slice(-9);

  constructor(
    private readonly tables: ChaosTables,
    private readonly db: DynamoDBDocumentClient,
  ) {}

  entity(): { pk: string; code: string } {
    this.seq++;
    return { pk: `COST#${this.run}#${String(this.seq).padStart(6, '0')}`, code: 'ITEM' };
  }

  /** The stack on `commandPath` with `targets` consumer targets (answering at once), metered. */
  rig(commandPath: CommandPath, targets: number, extra: Record<string, FunctionSpec> = {}, hooks = {}): Rig {
    const ts = targetsOf(targets);
    // the stack's defaults: no re-check fires while a scenario runs
    const settings = {
      waitTimeoutSeconds: CONFIG_SCHEMA.commandWaitTimeoutSeconds.default,
      waitHeartbeatSeconds: CONFIG_SCHEMA.commandWaitHeartbeatSeconds.default,
      runTimeoutSeconds: COMMAND_RUN_TIMEOUT_SECONDS,
    };
    const path = commandPath === CommandPath.EXPRESS ? expressPath(ts, settings) : standardPath(ts, settings);
    const functions: Record<string, FunctionSpec> = { ...path.functions, ...extra };
    for (const t of ts)
      functions[t.functionArn] = { timeoutMs: t.timeoutSeconds * 1000, handler: () => Promise.resolve({ ok: true }) };
    resetDynamoDbClient();
    const meter = new CostMeter(this.db);
    meter.install(ddb());
    const stack = new SimulatedStack(
      path,
      functions,
      { ...meter.hooks(), ...hooks },
      { streamMaxRetryAttempts: 3, stable: (text) => text.split(this.run).join('RUN'), entryTimeoutMs: 900_000 },
    );
    const express = (path.expressMachines ?? []).map((arn) => path.machines[arn]);
    return { stack, meter, mapStates: mapStatesOf(express), path };
  }

  async release(rig: Rig): Promise<void> {
    await rig.stack.restore();
    resetDynamoDbClient();
  }

  /** The application writes version `version` of `e`; its stream record reaches the router; all settles. */
  async command(rig: Rig, e: { pk: string; code: string }, version: number, settle = true): Promise<void> {
    const image = await this.publish(e, version);
    await rig.stack.deliver(this.tables.commands, [image], `${e.pk}@${version}`);
    if (settle) await this.settle(rig);
  }

  async publish(e: { pk: string; code: string }, version: number): Promise<Record<string, unknown>> {
    const published = await publishCommandWith(
      { dynamodb: this.db, commandsTable: this.tables.commands, dataTable: this.tables.data },
      { pk: e.pk, code: e.code, version, attributes: ATTRIBUTES },
    );
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.commands,
        Key: { pk: published.pk, sk: published.sk },
        ConsistentRead: true,
      }),
    );
    return res.Item!;
  }

  async settle(rig: Rig): Promise<void> {
    if (!(await rig.stack.settle(Date.now() + 120_000, 50))) throw new Error('the stack did not come to rest');
  }

  /** One steady-state command: version 2 of an entity whose version 1 has completed. */
  async commandCost(commandPath: CommandPath, targets: number): Promise<Counts> {
    const rig = this.rig(commandPath, targets);
    try {
      const e = this.entity();
      await this.command(rig, e, 1);
      const from = rig.meter.mark(rig.stack);
      await this.command(rig, e, 2);
      const counts = rig.meter.countsSince(rig.stack, from, rig.mapStates);
      await this.assertEnded(e, [1, 2]);
      return counts;
    } finally {
      await this.release(rig);
    }
  }

  /** Versions 2 and 3 of an entity, 3 first: it waits in the command-wait machine until 2 has ended. */
  async waitingPair(): Promise<Counts> {
    const rig = this.rig(CommandPath.EXPRESS, 0);
    try {
      const e = this.entity();
      await this.command(rig, e, 1);
      const image2 = await this.publish(e, 2);
      const image3 = await this.publish(e, 3);
      const from = rig.meter.mark(rig.stack);
      await rig.stack.deliver(this.tables.commands, [image3], `${e.pk}@3`);
      await until('version 3 waiting for version 2', async () => (await this.row(e, 3))?.taskToken !== undefined);
      await rig.stack.deliver(this.tables.commands, [image2], `${e.pk}@2`);
      await this.settle(rig);
      const counts = rig.meter.countsSince(rig.stack, from, rig.mapStates);
      await this.assertEnded(e, [1, 2, 3]);
      return counts;
    } finally {
      await this.release(rig);
    }
  }

  private async row(e: { pk: string; code: string }, version: number): Promise<Record<string, unknown> | undefined> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.tables.commands,
        Key: { pk: e.pk, sk: `${e.code}@${version}` },
        ConsistentRead: true,
      }),
    );
    return res.Item;
  }

  private async assertEnded(e: { pk: string; code: string }, versions: number[]): Promise<void> {
    for (const v of versions) {
      const r = await this.row(e, v);
      if (r?.result !== 'COMPLETED')
        throw new Error(`cost scenario: ${e.pk} version ${v} ended ${String(r?.result)} (${String(r?.failedReason)})`);
    }
  }

  // ------------------------------------------------------------------ CSV import

  /**
   * One STEP_FUNCTION import of `rows` rows split into `batches` batches: the client starts it,
   * the import-action consumer starts the import-csv machine, whose steps run here as the
   * machine runs them (csv_loader, one csv_rows_handler per batch, finalize_parent_job; the
   * Distributed Map's ItemReader and batching are Step Functions' own work), then every
   * IMPORT_ROW reaches the router and becomes a command, which runs. The emulated parent and
   * children are priced by csvCost from the definition, so only the Lambdas, DynamoDB and
   * messaging are counted here.
   */
  async csvImport(
    rows: number,
    batches: number,
  ): Promise<{ counts: Counts; handlerCalls: number[]; itemBytes: number }> {
    let started: { name: string; input: string } | undefined;
    const rig = this.rig(
      CommandPath.EXPRESS,
      0,
      {
        [IMPORT_CSV_STEP_ARN]: { timeoutMs: 300_000, handler: (e) => importCsvStep(e as never) },
        [IMPORT_CONSUMER_ARN]: { timeoutMs: 900_000, handler: (e) => importConsumer(e as never) },
      },
      {
        startExecution: (input: { stateMachineArn: string; name: string; input: string }) => {
          if (input.stateMachineArn !== IMPORT_CSV_MACHINE_ARN) return undefined;
          started = { name: input.name, input: input.input };
          return { executionArn: `${IMPORT_CSV_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${input.name}` };
        },
      },
    );
    const env = {
      IMPORT_CSV_STATE_MACHINE_ARN: IMPORT_CSV_MACHINE_ARN,
      DIRECT_IMPORT_MAX_BYTES: '0',
      MAX_RECEIVE_COUNT: '5',
      IMPORT_RECORD_TTL_SECONDS: String(30 * 86400),
    };
    const previous = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
      const bucket = String(process.env.IMPORT_BUCKET);
      const entities = Array.from({ length: rows }, () => this.entity());
      const csv = ['pk,code,name,price:number,active:boolean,category', ...entities.map((e) => csvRow(e))].join('\n');
      const key = `imports/${entities[0].pk.replace(/[^A-Za-z0-9]/g, '')}.csv`;
      rig.stack.s3Store.put(bucket, key, csv);
      const client = createCqrsClient({
        tables: {
          commands: this.tables.commands,
          data: this.tables.data,
          tasks: this.tables.tasks,
          importTmp: this.tables.importTmp,
        },
        importBucket: bucket,
        mainTopicArn: String(process.env.MAIN_TOPIC_ARN),
        directImportMaxBytes: 0,
        clients: { dynamodb: this.db, s3: new S3Client({}), sns: new SNSClient({}) },
      });
      const from = rig.meter.mark(rig.stack);
      const job = await client.startCsvImport({ key, pk: `IMPORT#${this.run}` });
      // the import-action queue delivers the client's message to its consumer
      await rig.stack.runtime.invoke(IMPORT_CONSUMER_ARN, 'import-action-consumer', {
        Records: [
          {
            messageId: `m-${job.jobId}`,
            body: JSON.stringify({ pk: job.pk, sk: job.sk, action: 'import-csv' }),
            messageAttributes: { action: { stringValue: 'import-csv', dataType: 'String' } },
            attributes: { ApproximateReceiveCount: '1' },
          },
        ],
      });
      if (!started) throw new Error('the import-action consumer did not start the import-csv machine');
      const execution = started;
      const step = async (state: string, input: unknown, executionName = execution.name) =>
        rig.stack.runtime.invoke(IMPORT_CSV_STEP_ARN, `${executionName}/${state}`, {
          source: 'step-function',
          context: {
            Execution: {
              Id: `${IMPORT_CSV_MACHINE_ARN}:${executionName}`,
              Name: executionName,
              Input: JSON.parse(execution.input) as unknown,
            },
            State: { Name: state },
          },
          input,
        });
      const loaded = (await step('csv_loader', JSON.parse(execution.input))) as {
        staged?: { bucket: string; key: string };
      };
      if (!loaded.staged) throw new Error('csv_loader staged no rows');
      const staged = String(rig.stack.s3Store.get(loaded.staged.bucket, loaded.staged.key))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const size = Math.ceil(staged.length / batches);
      const handlerCalls: number[] = [];
      for (let b = 0; b < batches; b++) {
        const items = staged.slice(b * size, (b + 1) * size);
        const before = rig.stack.runtime.invocations.length;
        await step(
          'csv_rows_handler',
          { BatchInput: { pk: job.pk, sk: job.sk }, Items: items },
          `${execution.name}-child-${b}`,
        );
        handlerCalls.push(rig.meter.callsOf(rig.stack.runtime.invocations[before]));
      }
      await step('finalize_parent_job', { ...(loaded as object) });
      // every IMPORT_ROW reaches the router (import_tmp stream), becomes a command, which runs (commands stream)
      const importRows = await this.query(this.tables.importTmp, rowsPk({ pk: job.pk, sk: job.sk }));
      for (const r of importRows.filter((x) => x.type === 'IMPORT_ROW'))
        await rig.stack.deliver(this.tables.importTmp, [r], `row-${String(r.sk)}`);
      for (const e of entities) {
        const [command] = await this.query(this.tables.commands, e.pk);
        if (!command) throw new Error(`row of ${e.pk} published no command`);
        await rig.stack.deliver(this.tables.commands, [command], `${e.pk}@1`);
      }
      await this.settle(rig);
      const counts = rig.meter.countsSince(rig.stack, from, rig.mapStates);
      for (const e of entities) await this.assertEnded(e, [1]);
      return { counts, handlerCalls, itemBytes: Buffer.byteLength(JSON.stringify(staged[0]), 'utf8') };
    } finally {
      for (const [k, v] of Object.entries(previous)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await this.release(rig);
    }
  }

  private async query(table: string, pk: string): Promise<Array<Record<string, unknown>>> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
      }),
    );
    return res.Items ?? [];
  }

  /**
   * The import's parts, solved from three small imports (1 row in 1 batch, 2 rows in 1 batch,
   * 2 rows in 2 batches: every cost is a job part plus a part per batch plus a part per row),
   * then a million rows in batches as the import-csv definition's ItemBatcher forms them.
   */
  async csvCost(): Promise<CsvCost> {
    const a = await this.csvImport(1, 1);
    const b = await this.csvImport(2, 1);
    const c = await this.csvImport(2, 2);
    const perRow = subtract(b.counts, a.counts);
    const perBatchLambdas = subtract(c.counts, b.counts);
    const perJobLambdas = subtract(subtract(a.counts, perBatchLambdas), perRow);

    // the batch bound as the stack builds the definition with its default settings
    const definition = buildImportCsvDefinition({
      importCsvStepArn: IMPORT_CSV_STEP_ARN,
      resultBucket: 'cost-import-bucket',
      maxItemsPerBatch: CONFIG_SCHEMA.importMaxItemsPerBatch.default,
      toleratedFailurePercentage: CONFIG_SCHEMA.importToleratedFailurePercentage.default,
    });
    const batcher = (definition.States.import_rows as MapState).ItemBatcher;
    if (!batcher?.MaxItemsPerBatch || !batcher.MaxInputBytesPerBatch)
      throw new Error('the import-csv definition has no ItemBatcher bounds on import_rows');
    const rowsPerBatch = rowsFitting(batcher.MaxItemsPerBatch, batcher.MaxInputBytesPerBatch, a.itemBytes);
    const batchesPerMillion = Math.ceil(CSV_ROWS / rowsPerBatch);
    // csv_rows_handler's calls grow with its rows: a full batch's child run lasts that long
    const handlerCallsPerRow = b.handlerCalls[0] - a.handlerCalls[0];
    const fullBatchCalls = a.handlerCalls[0] + (rowsPerBatch - 1) * handlerCallsPerRow;
    // the parent (STANDARD): csv_loader, rows_to_import, import_rows, finalize_parent_job, success,
    // and one transition per child execution the Distributed Map starts
    const perJob: Counts = { ...perJobLambdas, standardTransitions: perJobLambdas.standardTransitions + 5 };
    const perBatch: Counts = {
      ...perBatchLambdas,
      standardTransitions: perBatchLambdas.standardTransitions + 1,
      expressRuns: perBatchLambdas.expressRuns + 1,
    };
    const childMs = expressBilledMs(lambdaMs(fullBatchCalls));
    const perMillion = add(perJob, scale(perBatch, batchesPerMillion), scale(perRow, CSV_ROWS), {
      ...ZERO,
      expressMs: childMs * batchesPerMillion,
    });
    return {
      maxItemsPerBatch: batcher.MaxItemsPerBatch,
      maxInputBytesPerBatch: batcher.MaxInputBytesPerBatch,
      rowsPerBatch,
      batchesPerMillion,
      perJob,
      perBatch: { ...perBatch, expressMs: perBatch.expressMs + childMs },
      perRow,
      perMillion,
    };
  }
}

/** A CSV row of CSV_ROW_BYTES for entity `e`. */
function csvRow(e: { pk: string; code: string }): string {
  const head = `${e.pk},${e.code},`;
  const tail = ',1234.5,true,electronics';
  return `${head}${'n'.repeat(Math.max(1, CSV_ROW_BYTES - head.length - tail.length))}${tail}`;
}

/**
 * Items of `itemBytes` in one batch under ItemBatcher's bounds: at most `maxItems`, and the
 * batch input (`{"Items":[…],"BatchInput":{…}}`) at most `maxBytes`.
 */
export function rowsFitting(maxItems: number, maxBytes: number, itemBytes: number): number {
  const envelope = Buffer.byteLength(
    JSON.stringify({ Items: [], BatchInput: { pk: 'IMPORT#xxxxxxxxx', sk: `CSV_JOB#${'x'.repeat(36)}` } }),
  );
  return Math.max(1, Math.min(maxItems, Math.floor((maxBytes - envelope + 1) / (itemBytes + 1))));
}

/** Every scenario, in order. */
export async function measureCosts(tables: ChaosTables, db: DynamoDBDocumentClient): Promise<CostReport> {
  const s = new Scenarios(tables, db);
  const commands: CommandCost[] = [];
  for (const path of [CommandPath.EXPRESS, CommandPath.STANDARD])
    for (const targets of TARGET_COUNTS) commands.push({ path, targets, counts: await s.commandCost(path, targets) });
  const single = commands.find((c) => c.path === CommandPath.EXPRESS && c.targets === 0)!.counts;
  const waiting = subtract(await s.waitingPair(), scale(single, 2));
  const csv = await s.csvCost();
  return { commands, waiting, csv };
}
