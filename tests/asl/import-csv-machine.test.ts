/**
 * The Distributed Map cannot run locally: aws-local-stepfunctions 3.0.0 ignores
 * ItemReader, ItemBatcher, ResultWriter, ProcessorConfig, ToleratedFailurePercentage
 * and Label, and iterates the state input like an inline Map (pinned by the
 * "characterization" test below). So this file checks the Map's shape, runs the
 * parent's catch path and its no-rows path, and runs the child ItemProcessor on its own
 * with the batches Step Functions would build — reading the staged JSON Lines and
 * batching are simulated here, the definition's own BatchInput template is evaluated by
 * the interpreter.
 */
import assert from 'node:assert/strict';
import { StateMachine } from 'aws-local-stepfunctions';
import type { MapState, StateMachineDefinition } from '../../components/asl';
import { buildImportCsvDefinition, type ImportCsvDefinitionOptions } from '../../components/workflows';
import { IMPORT_CSV_STEP_ARN } from './fixtures';
import { callsOf, lambdaError, runDefinition, type Json, type JsonRecord, type LambdaDouble } from './harness';

const OPTIONS: ImportCsvDefinitionOptions = {
  importCsvStepArn: IMPORT_CSV_STEP_ARN,
  resultBucket: 'cqrs-test-import-123456789012',
  maxItemsPerBatch: 10,
  toleratedFailurePercentage: 5,
};
const INPUT = { pk: 'TENANT#t1', sk: 'CSV#job1', bucket: 'cqrs-test-import-123456789012', key: 'uploads/products.csv' };

function importRows(definition: StateMachineDefinition): MapState {
  const state = definition.States.import_rows;
  assert.ok(state.Type === 'Map', 'import_rows is a Map');
  return state;
}

/** Runs a one-state helper machine with the interpreter and returns its output. */
async function evaluate(definition: StateMachineDefinition, input: Json): Promise<Json> {
  return await new StateMachine(JSON.parse(JSON.stringify(definition))).run(input).result;
}

/** What the JSONL ItemReader hands over (no ItemSelector): one staged row object per line, as csv_loader wrote it. */
function selectedItems(map: MapState, jsonl: string): JsonRecord[] {
  assert.equal(map.ItemSelector, undefined, 'the staged rows are the items');
  return jsonl
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as JsonRecord);
}

/** The batches ItemBatcher would build: BatchInput evaluated against the Map's input, MaxItemsPerBatch items each. */
async function batches(map: MapState, mapInput: JsonRecord, items: JsonRecord[]): Promise<JsonRecord[]> {
  const batcher = map.ItemBatcher;
  assert.ok(batcher?.MaxItemsPerBatch && batcher.BatchInput);
  const batchInput = await evaluate(
    { StartAt: 'b', States: { b: { Type: 'Pass', Parameters: batcher.BatchInput, End: true } } },
    mapInput,
  );
  const out: JsonRecord[] = [];
  for (let i = 0; i < items.length; i += batcher.MaxItemsPerBatch) {
    out.push({ BatchInput: batchInput, Items: items.slice(i, i + batcher.MaxItemsPerBatch) });
  }
  return out;
}

function childDefinition(map: MapState): StateMachineDefinition {
  assert.ok(map.ItemProcessor);
  const { StartAt, States } = map.ItemProcessor;
  return { StartAt, States };
}

const STAGED = Array.from({ length: 25 }, (_, i) =>
  JSON.stringify({
    index: i,
    line: i + 2,
    command: { pk: 'T', code: `SKU-${i}`, attributes: { price: (i + 1) * 100 } },
  }),
).join('\n');
const STAGED_AT = { bucket: 'cqrs-test-import-123456789012', key: 'staged/job/rows.jsonl' };

describe('import-csv machine', function () {
  this.timeout(20_000);
  const definition = buildImportCsvDefinition(OPTIONS);

  it('declares the Distributed Map of the contract (staged JSONL reader, batcher, writer, EXPRESS children)', () => {
    const map = importRows(definition);
    // csv_loader's staged rows, not the CSV: the Map's own CSV reader would alter rows (issue 9 item 4)
    assert.deepEqual(map.ItemReader, {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { 'Bucket.$': '$.staged.bucket', 'Key.$': '$.staged.key' },
    });
    assert.equal(map.ItemSelector, undefined);
    // MaxItemsPerBatch, not the seed's MaxInputBytesPerBatch: 10; the byte bound keeps a
    // batch (carried twice in the child's Lambda payload) inside the 256 KiB state limit.
    assert.deepEqual(map.ItemBatcher, {
      MaxItemsPerBatch: 10,
      MaxInputBytesPerBatch: 122880,
      BatchInput: { 'pk.$': '$.pk', 'sk.$': '$.sk' },
    });
    assert.deepEqual(map.ResultWriter, {
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: { Bucket: OPTIONS.resultBucket, Prefix: 'import-results/' },
    });
    assert.deepEqual(map.ItemProcessor?.ProcessorConfig, { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    assert.deepEqual(Object.keys(map.ItemProcessor?.States ?? {}), ['csv_rows_handler']);
    assert.equal(map.MaxConcurrency, 50);
    assert.equal(map.ToleratedFailurePercentage, 5);
    assert.equal(map.Label, 'import_rows');
    assert.deepEqual(map.Catch, [{ ErrorEquals: ['States.ALL'], Next: 'finalize_parent_job', ResultPath: '$.error' }]);
    assert.equal(map.Next, 'finalize_parent_job');
  });

  it('characterization: the interpreter ignores ItemReader, so the parent cannot run import_rows locally', async () => {
    // If this starts failing, aws-local-stepfunctions has learnt to read items:
    // replace the simulated reader/batcher below with a real parent run.
    const run = await runDefinition(definition, INPUT, {
      doubles: {
        csv_loader: (input) => ({ ...input, totalRows: 25, staged: STAGED_AT }),
        csv_rows_handler: () => null,
        finalize_parent_job: (input) => input,
      },
    });
    assert.equal(run.status, 'FAILED');
    assert.deepEqual(run.error, {
      name: 'States.Runtime',
      cause: 'Input of Map state must be an array or ItemsPath property must point to an array',
    });
    assert.deepEqual(run.path, ['csv_loader', 'rows_to_import', 'import_rows']);
  });

  it('a file without rows skips the Map (nothing was staged)', async () => {
    const run = await runDefinition(definition, INPUT, {
      doubles: {
        csv_loader: (input) => ({ ...input, totalRows: 0 }),
        finalize_parent_job: (input) => ({ ...input, status: 'COMPLETED' }),
      },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['csv_loader', 'rows_to_import', 'finalize_parent_job', 'success']);
  });

  it('csv_rows_handler receives { BatchInput: { pk, sk }, Items: [staged rows] } batches of MaxItemsPerBatch rows', async () => {
    const map = importRows(definition);
    const items = selectedItems(map, STAGED);
    const inputs = await batches(map, { ...INPUT, totalRows: 25, staged: STAGED_AT }, items);
    assert.deepEqual(
      inputs.map((b) => (b.Items as Json[]).length),
      [10, 10, 5],
    );

    const handler: LambdaDouble = (input) => ({ processed: (input.Items as Json[]).length });
    const seen: JsonRecord[] = [];
    for (const batch of inputs) {
      const run = await runDefinition(childDefinition(map), batch, { doubles: { csv_rows_handler: handler } });
      assert.equal(run.status, 'SUCCEEDED');
      // OutputPath $.Payload: the child's output is the handler's return value.
      assert.deepEqual(run.output, { processed: (batch.Items as Json[]).length });
      seen.push(callsOf(run, 'csv_rows_handler')[0].input);
    }
    assert.deepEqual(seen[0].BatchInput, { pk: INPUT.pk, sk: INPUT.sk });
    assert.deepEqual((seen[0].Items as Json[])[0], {
      index: 0,
      line: 2,
      command: { pk: 'T', code: 'SKU-0', attributes: { price: 100 } },
    });
    assert.deepEqual(
      seen.flatMap((b) => (b.Items as JsonRecord[]).map((item) => item.index)),
      Array.from({ length: 25 }, (_, i) => i),
      'every record once, 0-based, in order',
    );
  });

  it('a child batch retries transient Lambda errors and fails on a handler error without retrying it', async () => {
    const map = importRows(definition);
    const [batch] = await batches(map, INPUT, selectedItems(map, STAGED));
    let attempts = 0;
    const flaky: LambdaDouble = () => {
      if (++attempts === 1) throw lambdaError('Lambda.SdkClientException');
      return { processed: 10 };
    };
    const retried = await runDefinition(childDefinition(map), batch, {
      doubles: { csv_rows_handler: flaky },
      retryIntervalOverrides: { csv_rows_handler: 0 },
    });
    assert.equal(retried.status, 'SUCCEEDED');
    assert.equal(attempts, 2);

    const broken: LambdaDouble = () => {
      throw lambdaError('Error', 'table missing');
    };
    const failed = await runDefinition(childDefinition(map), batch, { doubles: { csv_rows_handler: broken } });
    assert.equal(failed.status, 'FAILED');
    assert.equal(callsOf(failed, 'csv_rows_handler').length, 1);
  });

  it('a csv_loader failure goes to finalize_parent_job with $.error', async () => {
    const run = await runDefinition(definition, INPUT, {
      doubles: {
        csv_loader: () => {
          throw lambdaError('CsvHeaderMissing');
        },
        finalize_parent_job: (input) => ({ ...input, status: 'FAILED' }),
      },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['csv_loader', 'finalize_parent_job', 'success']);
    const finalize = callsOf(run, 'finalize_parent_job')[0].input;
    assert.equal((finalize.error as JsonRecord).Error, 'CsvHeaderMissing');
    assert.equal(finalize.pk, INPUT.pk);
  });
});
