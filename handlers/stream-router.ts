import type { BatchResponse, DynamoStreamEvent } from './shared/stream';
import { routeStreamEvent } from './triggers/router';

/** DynamoDB stream INSERTs of `commands`, `tasks` and `import_tmp`. */
export const handler = (event: DynamoStreamEvent): Promise<BatchResponse> => routeStreamEvent(event);
