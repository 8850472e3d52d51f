import { handleImportCsvStep } from './import/csv-dispatch';
import type { StepEvent } from '../core/types';

export { registerImportSchema, defineImportSchema } from './import/schema';

/** `csv_loader`, `csv_rows_handler` (EXPRESS children) and `finalize_parent_job`. */
export const handler = (event: StepEvent<unknown>): Promise<unknown> => handleImportCsvStep(event);
