import { startImportJob } from '../import/start';
import { processSqsBatch, type ActionMessage } from '../shared/sqs';
import { Action } from '../../core/status';
import type { BatchResponse, SqsEvent } from '../shared/stream';
import { requireKey } from '../../core/types';

/** import-action queue: `import-csv` / `import-zip` { pk, sk } of a job. */
export async function handleImportAction(message: ActionMessage): Promise<void> {
  if (message.action !== Action.IMPORT_CSV && message.action !== Action.IMPORT_ZIP) {
    throw new Error(`import-action-consumer: unsupported action "${message.action}"`);
  }
  await startImportJob(requireKey(message.body, `${message.action} message`), message.action);
}

export const importActionConsumer = (event: SqsEvent): Promise<BatchResponse> =>
  processSqsBatch(event, handleImportAction, 'import-action-consumer');
