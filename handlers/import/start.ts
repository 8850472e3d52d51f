import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { sfn } from '../shared/aws/sfn';
import { integerEnv, requireEnv, tables } from '../shared/env';
import { executionName } from '../../core/keys';
import { startExecutionOnce } from '../../core/sfn';
import { describeError } from '../../core/errors';
import { importModeForSize, ImportMode, ImportRowType, ImportStatus, isTerminal } from '../../core/status';
import type { Key } from '../../core/types';
import { objectSize } from './objects';
import { endOnLastDelivery, isLastDelivery, runDirectImport, type Delivery } from './csv-steps';
import { completeJob, deliverJobOutcome, requireJob, type ImportJob } from './model';

export interface StartOutcome {
  mode: string;
  started: boolean;
  status?: string;
  executionName?: string;
}

/**
 * `import-csv` / `import-zip` actions: run a DIRECT CSV import inline, or start the import
 * machine under a deterministic name (a redelivered message starts nothing twice). A job
 * without a mode gets one by size (DIRECT_IMPORT_MAX_BYTES).
 */
export async function startImportJob(key: Key, action: string, delivery?: Delivery): Promise<StartOutcome> {
  const job = await requireJob(key);
  if (isTerminal(job.status) || job.mode === ImportMode.DIRECT || !isLastDelivery(delivery))
    return startOrRun(job, key, action, delivery);
  // The last delivery of a message that starts a machine: if the start fails once more, the job
  // would stay CREATED for good (no execution, so execution-watch never hears of it).
  try {
    return await startOrRun(job, key, action, delivery);
  } catch (err) {
    const reason = `could not start the import after ${delivery!.receiveCount} deliveries of its message: ${describeError(err, 1500)}`;
    const ended = await endOnLastDelivery(key, () =>
      completeJob(key, ImportStatus.FAILED, { totalRows: null, problems: [reason] }, reason),
    );
    return { mode: ended.mode ?? 'UNKNOWN', started: false, status: ended.status };
  }
}

async function startOrRun(job: ImportJob, key: Key, action: string, delivery?: Delivery): Promise<StartOutcome> {
  if (isTerminal(job.status)) {
    await deliverJobOutcome(job);
    return { mode: job.mode ?? 'UNKNOWN', started: false, status: job.status };
  }
  const input = { pk: job.pk, sk: job.sk, bucket: job.bucket, key: job.key };
  const name = executionName('import_tmp', job.pk, job.sk);
  if (job.type === ImportRowType.ZIP_JOB) {
    if (action !== 'import-zip') throw new Error(`action ${action} does not match ZIP job ${job.sk}`);
    const res = await startExecutionOnce(sfn(), requireEnv('IMPORT_ZIP_STATE_MACHINE_ARN'), name, input);
    return { mode: ImportMode.STEP_FUNCTION, started: res.started, executionName: name };
  }
  if (action !== 'import-csv') throw new Error(`action ${action} does not match CSV job ${job.sk}`);
  let mode = job.mode;
  if (!mode) {
    mode = importModeForSize(await objectSize(job.bucket, job.key), integerEnv('DIRECT_IMPORT_MAX_BYTES', 0));
    await ddb().send(
      new UpdateCommand({
        TableName: tables.importTmp(),
        Key: { pk: job.pk, sk: job.sk },
        UpdateExpression: 'SET #mode = :m',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ExpressionAttributeValues: { ':m': mode },
      }),
    );
  }
  if (mode === ImportMode.DIRECT) {
    const outcome = await runDirectImport(key, delivery);
    return { mode, started: true, status: outcome.status };
  }
  const res = await startExecutionOnce(sfn(), requireEnv('IMPORT_CSV_STATE_MACHINE_ARN'), name, input);
  return { mode, started: res.started, executionName: name };
}
