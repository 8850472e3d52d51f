import { startImportJob } from '../import/start';
import { integerEnv } from '../shared/env';
import { processSqsBatch, type ActionMessage } from '../shared/sqs';
import { Action } from '../../core/status';
import type { BatchResponse, SqsEvent } from '../shared/stream';
import { requireKey } from '../../core/types';

/** The queue's maxReceiveCount when MAX_RECEIVE_COUNT is not set (the stack's default). */
const DEFAULT_MAX_RECEIVE_COUNT = 5;

/** import-action queue: `import-csv` / `import-zip` { pk, sk } of a job. */
export async function handleImportAction(message: ActionMessage): Promise<void> {
  if (message.action !== Action.IMPORT_CSV && message.action !== Action.IMPORT_ZIP) {
    throw new Error(`import-action-consumer: unsupported action "${message.action}"`);
  }
  // which delivery this is decides whether a DIRECT import may try again (see runDirectImport)
  const receiveCount = Number(message.record.attributes?.ApproximateReceiveCount ?? 1);
  await startImportJob(requireKey(message.body, `${message.action} message`), message.action, {
    receiveCount: Number.isSafeInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
    maxReceiveCount: integerEnv('MAX_RECEIVE_COUNT', 1, DEFAULT_MAX_RECEIVE_COUNT),
  });
}

export const importActionConsumer = (event: SqsEvent): Promise<BatchResponse> =>
  processSqsBatch(event, handleImportAction, 'import-action-consumer');
