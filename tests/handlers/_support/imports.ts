/** Import jobs for the handler suites: a CSV in the fake bucket and its job row in import_tmp (DynamoDB Local). */
import { stagedRowsKey } from '../../../handlers/import/staging';
import { BUCKET, putItem, uniq, type FakeS3, type HandlerEnv } from './env';

type Row = Record<string, unknown>;

export interface CsvJob {
  pk: string;
  sk: string;
  key: string;
}

/** Upload `csv` under imports/ and write a CREATED CSV job for it (fields in `extra` override). */
export async function putCsvJob(env: HandlerEnv, csv: string | Buffer, extra: Row = {}): Promise<CsvJob> {
  const pk = uniq('IMPORT');
  const key = `imports/${pk}.csv`;
  env.mocks.s3Store.put(BUCKET, key, csv);
  const sk = `CSV_JOB#${pk.replace(/[^A-Za-z0-9]/g, '')}`;
  await putItem(env.tables.importTmp, {
    pk,
    sk,
    type: 'CSV_JOB',
    jobId: sk.slice(8),
    bucket: BUCKET,
    key,
    status: 'CREATED',
    totalRows: null,
    processedRows: 0,
    succeededRows: 0,
    failedRows: 0,
    createdAt: new Date().toISOString(),
    ...extra,
  });
  return { pk, sk: String(extra.sk ?? sk), key };
}

/** The rows csv_loader staged for a job, as the Distributed Map's JSONL reader hands them to the batches. */
export function stagedRows(s3: FakeS3, job: { pk: string; sk: string }): Array<Row & { index: number; line: number }> {
  const staged = s3.get(BUCKET, stagedRowsKey(job));
  if (!staged) throw new Error(`nothing staged for ${job.pk} / ${job.sk}`);
  return staged
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row & { index: number; line: number });
}

/** The SQS record of an `import-csv` message (raw delivery), as its n-th delivery. */
export function importCsvMessage(job: { pk: string; sk: string }, id = 'm', receiveCount = 1) {
  return {
    messageId: id,
    body: JSON.stringify({ action: 'import-csv', pk: job.pk, sk: job.sk }),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  };
}
