import { catchAll, choiceState, integrationResource, lambdaTask, type StateMachineDefinition } from '../asl';
import { checkInteger, checkLambdaArn } from './option-checks';

const BUILDER = 'buildImportCsvDefinition';

/** Distributed Map's upper bound on concurrent child executions. */
const MAX_DISTRIBUTED_CONCURRENCY = 10_000;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export interface ImportCsvDefinitionOptions {
  /** ARN of the `import-csv-step` function (`csv_loader`, `csv_rows_handler`, `finalize_parent_job`). */
  importCsvStepArn: string;
  /** Bucket the ResultWriter writes the map run results to (the import bucket). */
  resultBucket: string;
  /** Key prefix of the result files. Non-empty, no leading `/`. Default: `import-results/`. */
  resultPrefix?: string;
  /**
   * ItemBatcher MaxItemsPerBatch: at most this many CSV rows per child execution.
   * Integer >= 1. Default: 1000, so that the byte bound below decides for rows of
   * ordinary size (about 400 rows of 200 bytes fit 120 KiB: ~2,500 child executions
   * per million rows instead of 100,000 with the old default of 10).
   */
  maxItemsPerBatch?: number;
  /** Child executions running at once. Integer 1..10000. Default: 50. */
  maxConcurrency?: number;
  /** Share of failed batches (percent) the map tolerates before failing. Integer 0..100. */
  toleratedFailurePercentage: number;
  /**
   * ItemBatcher MaxInputBytesPerBatch: the byte bound that keeps a batch inside the
   * 256 KiB state limit whatever MaxItemsPerBatch says. The child's Lambda payload
   * carries the batch twice (`$` and `$$.Execution.Input`), so the bound is under
   * half of it. Integer 1024..131072. Default: 120 KiB.
   */
  maxInputBytesPerBatch?: number;
}

export const IMPORT_CSV_DEFAULTS = {
  resultPrefix: 'import-results/',
  maxItemsPerBatch: 1000,
  maxConcurrency: 50,
  maxInputBytesPerBatch: 120 * 1024,
} as const;

function checkOptions(
  opts: ImportCsvDefinitionOptions,
  resultPrefix: string,
  maxConcurrency: number,
  maxInputBytesPerBatch: number,
  maxItemsPerBatch: number,
): void {
  checkLambdaArn(BUILDER, 'importCsvStepArn', opts.importCsvStepArn);
  if (typeof opts.resultBucket !== 'string' || !BUCKET_NAME.test(opts.resultBucket)) {
    throw new Error(
      `${BUILDER}: option "resultBucket" must be an S3 bucket name, got ${JSON.stringify(opts.resultBucket)}`,
    );
  }
  if (typeof resultPrefix !== 'string' || resultPrefix === '' || resultPrefix.startsWith('/')) {
    throw new Error(
      `${BUILDER}: option "resultPrefix" must be a non-empty key prefix without a leading "/", got ${JSON.stringify(resultPrefix)}`,
    );
  }
  checkInteger(BUILDER, 'maxItemsPerBatch', maxItemsPerBatch, 1);
  checkInteger(BUILDER, 'maxConcurrency', maxConcurrency, 1, MAX_DISTRIBUTED_CONCURRENCY);
  checkInteger(BUILDER, 'toleratedFailurePercentage', opts.toleratedFailurePercentage, 0, 100);
  checkInteger(BUILDER, 'maxInputBytesPerBatch', maxInputBytesPerBatch, 1024, 131_072);
}

/**
 * The CSV import machine (STANDARD parent, EXPRESS children): `csv_loader` reads the CSV once
 * and stages its rows, decided, as JSON Lines (`$.staged`); `rows_to_import` skips the Map for a
 * file without rows; a Distributed Map reads the staged rows in batches of `maxItemsPerBatch`
 * (the seed's `MaxInputBytesPerBatch: 10` is replaced) for the children to write; then
 * `finalize_parent_job`, which also receives every failure in `$.error`. The Map does not parse
 * the CSV itself: its CSV reader drops backslashes, pads or cuts rows to the header and numbers
 * items rather than lines, where csv_loader's reader (the one DIRECT uses) imports each row as
 * written or fails it with its line and reason.
 */
export function buildImportCsvDefinition(opts: ImportCsvDefinitionOptions): StateMachineDefinition {
  const resultPrefix = opts.resultPrefix ?? IMPORT_CSV_DEFAULTS.resultPrefix;
  const maxConcurrency = opts.maxConcurrency ?? IMPORT_CSV_DEFAULTS.maxConcurrency;
  const maxInputBytesPerBatch = opts.maxInputBytesPerBatch ?? IMPORT_CSV_DEFAULTS.maxInputBytesPerBatch;
  const maxItemsPerBatch = opts.maxItemsPerBatch ?? IMPORT_CSV_DEFAULTS.maxItemsPerBatch;
  checkOptions(opts, resultPrefix, maxConcurrency, maxInputBytesPerBatch, maxItemsPerBatch);
  const arn = opts.importCsvStepArn;
  const onFailure = catchAll('finalize_parent_job', '$.error');

  return {
    Comment: 'CQRS CSV import: count rows, process them in batches with a Distributed Map, finalize the job',
    StartAt: 'csv_loader',
    States: {
      csv_loader: lambdaTask(arn, { next: 'rows_to_import', catch: [onFailure] }),
      // a file with no rows has nothing staged: straight to the end
      rows_to_import: choiceState(
        [{ Variable: '$.totalRows', NumericGreaterThan: 0, Next: 'import_rows' }],
        'finalize_parent_job',
      ),
      import_rows: {
        Type: 'Map',
        Label: 'import_rows',
        // Each item is one staged row: { index, line, command } or { index, line, error, raw }.
        ItemReader: {
          Resource: integrationResource(arn, 's3:getObject'),
          ReaderConfig: { InputType: 'JSONL' },
          Parameters: { 'Bucket.$': '$.staged.bucket', 'Key.$': '$.staged.key' },
        },
        ItemBatcher: {
          MaxItemsPerBatch: maxItemsPerBatch,
          MaxInputBytesPerBatch: maxInputBytesPerBatch,
          BatchInput: { 'pk.$': '$.pk', 'sk.$': '$.sk' },
        },
        MaxConcurrency: maxConcurrency,
        ToleratedFailurePercentage: opts.toleratedFailurePercentage,
        ResultWriter: {
          Resource: integrationResource(arn, 's3:putObject'),
          Parameters: { Bucket: opts.resultBucket, Prefix: resultPrefix },
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
          StartAt: 'csv_rows_handler',
          States: { csv_rows_handler: lambdaTask(arn, { end: true }) },
        },
        // Keep the job keys for finalize_parent_job; the map run summary goes beside them.
        ResultPath: '$.mapRun',
        Catch: [onFailure],
        Next: 'finalize_parent_job',
      },
      finalize_parent_job: lambdaTask(arn, { next: 'success' }),
      success: { Type: 'Succeed' },
    },
  };
}
