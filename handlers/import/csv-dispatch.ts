import { stateName, isRecord, type StepEvent } from '../../core/types';
import { csvLoader, csvRowsHandler, finalizeParentJob, type CsvMachineInput, type RowsBatchInput } from './csv-steps';

export async function handleImportCsvStep(event: StepEvent<unknown>): Promise<unknown> {
  const state = stateName(event);
  switch (state) {
    case 'csv_loader':
      return csvLoader(event.input as CsvMachineInput);
    case 'csv_rows_handler':
      return csvRowsHandler(event.input as RowsBatchInput);
    case 'finalize_parent_job':
      return finalizeParentJob((isRecord(event.input) ? event.input : {}) as CsvMachineInput, event.context);
    default:
      throw new Error(`import-csv-step: unknown state "${state}"`);
  }
}
