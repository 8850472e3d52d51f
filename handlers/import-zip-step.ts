import { handleImportZipStep } from './import/zip-dispatch';
import type { StepEvent } from '../core/types';

/** `unzip`, `trigger_single_csv_and_wait` and `finalize_zip_job`. */
export const handler = (event: StepEvent<unknown>): Promise<unknown> => handleImportZipStep(event);
