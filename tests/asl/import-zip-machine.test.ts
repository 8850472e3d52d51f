import assert from 'node:assert/strict';
import { buildImportZipDefinition } from '../../components/workflows';
import { IMPORT_ZIP_STEP_ARN } from './fixtures';
import {
  SIMULATED_TASK_TOKEN,
  callsOf,
  lambdaError,
  never,
  runDefinition,
  sleep,
  type JsonRecord,
  type LambdaDouble,
} from './harness';

const INPUT = { pk: 'TENANT#t1', sk: 'ZIP#job1', bucket: 'imports', key: 'uploads/batch.zip' };
const CSV_KEYS = ['unzipped/job1/a.csv', 'unzipped/job1/b.csv', 'unzipped/job1/c.csv'];

describe('import-zip machine (executed with aws-local-stepfunctions)', function () {
  this.timeout(20_000);
  const definition = buildImportZipDefinition({ importZipStepArn: IMPORT_ZIP_STEP_ARN, childTimeoutSeconds: 1 });
  const unzip: LambdaDouble = (input) => ({ ...input, csvKeys: CSV_KEYS });
  const finalize: LambdaDouble = (input) => input;

  it('imports the files one at a time, in order, then finalizes', async () => {
    const events: string[] = [];
    // The double resolving is the child CSV job sending SendTaskSuccess.
    const child: LambdaDouble = async (input) => {
      events.push(`start ${String(input.key)}`);
      await sleep(20);
      events.push(`end ${String(input.key)}`);
      return { imported: true };
    };
    const run = await runDefinition(definition, INPUT, {
      doubles: { unzip, trigger_single_csv_and_wait: child, finalize_zip_job: finalize },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['unzip', 'import_csv_files', 'finalize_zip_job', 'success']);
    assert.deepEqual(
      events,
      CSV_KEYS.flatMap((k) => [`start ${k}`, `end ${k}`]),
    );
    const first = callsOf(run, 'trigger_single_csv_and_wait')[0];
    assert.deepEqual(first.input, { pk: INPUT.pk, sk: INPUT.sk, bucket: INPUT.bucket, key: CSV_KEYS[0] });
    assert.equal(first.payload.taskToken, SIMULATED_TASK_TOKEN);
    assert.equal(callsOf(run, 'finalize_zip_job')[0].input.error, undefined);
  });

  it('a child failure (SendTaskFailure) goes to finalize_zip_job with $.error', async () => {
    const child: LambdaDouble = (input) =>
      input.key === CSV_KEYS[1] ? Promise.reject(lambdaError('ImportCsvFailed', '3 invalid rows')) : { imported: true };
    const run = await runDefinition(definition, INPUT, {
      doubles: { unzip, trigger_single_csv_and_wait: child, finalize_zip_job: finalize },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['unzip', 'import_csv_files', 'finalize_zip_job', 'success']);
    // Not asserted: that c.csv is never started. AWS starts no new iteration once the
    // Map has failed; the interpreter's p-limit queue still starts it (after the Map
    // state has already been caught), so only the order up to the failure is checked.
    assert.deepEqual(
      callsOf(run, 'trigger_single_csv_and_wait')
        .map((c) => c.input.key)
        .slice(0, 2),
      CSV_KEYS.slice(0, 2),
    );
    const error = callsOf(run, 'finalize_zip_job')[0].input.error as JsonRecord;
    assert.equal(error.Error, 'ImportCsvFailed');
    assert.equal(callsOf(run, 'finalize_zip_job')[0].input.pk, INPUT.pk);
  });

  it('a child that never calls back times out (childTimeoutSeconds) into finalize_zip_job', async () => {
    const run = await runDefinition(definition, INPUT, {
      doubles: { unzip, trigger_single_csv_and_wait: () => never(), finalize_zip_job: finalize },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.equal((callsOf(run, 'finalize_zip_job')[0].input.error as JsonRecord).Error, 'States.Timeout');
    assert.ok(run.elapsedMs >= 950, `timed out after ${run.elapsedMs} ms, expected ~1000`);
  });

  it('an unzip failure goes straight to finalize_zip_job', async () => {
    const run = await runDefinition(definition, INPUT, {
      doubles: {
        unzip: () => {
          throw lambdaError('BadZipFile');
        },
        finalize_zip_job: finalize,
      },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['unzip', 'finalize_zip_job', 'success']);
    assert.equal((callsOf(run, 'finalize_zip_job')[0].input.error as JsonRecord).Error, 'BadZipFile');
  });
});
