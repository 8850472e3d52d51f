import type { BatchResponse, SqsEvent } from './shared/stream';
import { importActionConsumer } from './triggers/import-consumer';

export { registerImportSchema, defineImportSchema } from './import/schema';

/** SQS `import-action`: DIRECT imports and starting the import machines (partial batch failures reported). */
export const handler = (event: SqsEvent): Promise<BatchResponse> => importActionConsumer(event);
