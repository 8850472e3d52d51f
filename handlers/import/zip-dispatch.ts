import { stateName, type StepEvent } from '../../core/types';
import { finalizeZipJob, triggerSingleCsvAndWait, unzip, type ZipMachineInput } from './zip-steps';

export async function handleImportZipStep(event: StepEvent<unknown>): Promise<unknown> {
  const state = stateName(event);
  switch (state) {
    case 'unzip':
      return unzip(event.input as ZipMachineInput);
    case 'trigger_single_csv_and_wait':
      return triggerSingleCsvAndWait(event.input as ZipMachineInput, event.taskToken ?? event.context?.Task?.Token);
    case 'finalize_zip_job':
      return finalizeZipJob(event.input as ZipMachineInput);
    default:
      throw new Error(`import-zip-step: unknown state "${state}"`);
  }
}
