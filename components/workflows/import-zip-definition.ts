import { catchAll, lambdaTask, type StateMachineDefinition } from '../asl';
import { checkLambdaArn, checkWaitLimits } from './option-checks';

const BUILDER = 'buildImportZipDefinition';

export interface ImportZipDefinitionOptions {
  /** ARN of the `import-zip-step` function (`unzip`, `trigger_single_csv_and_wait`, `finalize_zip_job`). */
  importZipStepArn: string;
  /**
   * `trigger_single_csv_and_wait` TimeoutSeconds: the longest one CSV child job may
   * take before the ZIP job is finalized as failed. Integer >= 1.
   */
  childTimeoutSeconds: number;
  /**
   * `trigger_single_csv_and_wait` HeartbeatSeconds, for child jobs that send
   * heartbeats. Integer >= 1 and < `childTimeoutSeconds`. Default: none.
   */
  childHeartbeatSeconds?: number;
}

/**
 * The ZIP import machine (STANDARD): `unzip` lists the CSV keys in sorted order,
 * each file is imported by a CSV child job one at a time (MaxConcurrency 1) while
 * this machine waits for its callback, then `finalize_zip_job`, which also receives
 * every failure in `$.error`.
 */
export function buildImportZipDefinition(opts: ImportZipDefinitionOptions): StateMachineDefinition {
  checkLambdaArn(BUILDER, 'importZipStepArn', opts.importZipStepArn);
  checkWaitLimits(
    BUILDER,
    'childTimeoutSeconds',
    opts.childTimeoutSeconds,
    'childHeartbeatSeconds',
    opts.childHeartbeatSeconds,
  );
  const arn = opts.importZipStepArn;
  const onFailure = catchAll('finalize_zip_job', '$.error');

  return {
    Comment: 'CQRS ZIP import: unzip, import each CSV in order through a child CSV job, finalize the job',
    StartAt: 'unzip',
    States: {
      unzip: lambdaTask(arn, { next: 'import_csv_files', catch: [onFailure] }),
      import_csv_files: {
        Type: 'Map',
        ItemsPath: '$.csvKeys',
        // One file at a time, in the order unzip sorted them.
        MaxConcurrency: 1,
        ItemSelector: { 'pk.$': '$.pk', 'sk.$': '$.sk', 'bucket.$': '$.bucket', 'key.$': '$$.Map.Item.Value' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'trigger_single_csv_and_wait',
          States: {
            trigger_single_csv_and_wait: lambdaTask(arn, {
              waitForTaskToken: true,
              timeoutSeconds: opts.childTimeoutSeconds,
              heartbeatSeconds: opts.childHeartbeatSeconds ?? null,
              end: true,
            }),
          },
        },
        ResultPath: null,
        Catch: [onFailure],
        Next: 'finalize_zip_job',
      },
      finalize_zip_job: lambdaTask(arn, { next: 'success' }),
      success: { Type: 'Succeed' },
    },
  };
}
