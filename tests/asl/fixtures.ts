import type {
  CommandDefinitionOptions,
  ImportCsvDefinitionOptions,
  ImportZipDefinitionOptions,
  TaskDefinitionOptions,
} from '../../components/workflows';

export function functionArn(name: string): string {
  return `arn:aws:lambda:eu-west-1:123456789012:function:cqrs-test-${name}`;
}

export const COMMAND_STEP_ARN = functionArn('command-step');
export const TASK_STEP_ARN = functionArn('task-step');
export const IMPORT_CSV_STEP_ARN = functionArn('import-csv-step');
export const IMPORT_ZIP_STEP_ARN = functionArn('import-zip-step');

export interface OptionSet {
  label: string;
  command: CommandDefinitionOptions;
  task: TaskDefinitionOptions;
  importCsv: ImportCsvDefinitionOptions;
  importZip: ImportZipDefinitionOptions;
}

/** Dev-like numbers, no extra sync target, defaults wherever there is one. */
export const DEV_LIKE: OptionSet = {
  label: 'dev-like',
  command: {
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: [],
    waitTimeoutSeconds: 3600,
    waitHeartbeatSeconds: 300,
    syncMaxConcurrency: 10,
  },
  task: { taskStepArn: TASK_STEP_ARN },
  importCsv: {
    importCsvStepArn: IMPORT_CSV_STEP_ARN,
    resultBucket: 'cqrs-dev-import-123456789012',
    maxItemsPerBatch: 10,
    toleratedFailurePercentage: 5,
  },
  importZip: { importZipStepArn: IMPORT_ZIP_STEP_ARN, childTimeoutSeconds: 3600 },
};

/** Prod-like numbers, two extra sync targets, every option set explicitly. */
export const PROD_LIKE: OptionSet = {
  label: 'prod-like',
  command: {
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: [
      { name: 'search-index', functionArn: functionArn('search-index') },
      { name: 'audit_log', functionArn: `${functionArn('audit-log')}:live` },
    ],
    waitTimeoutSeconds: 86_400,
    waitHeartbeatSeconds: 600,
    syncMaxConcurrency: 25,
  },
  task: { taskStepArn: TASK_STEP_ARN, maxConcurrency: 10, timeoutSeconds: 3600 },
  importCsv: {
    importCsvStepArn: IMPORT_CSV_STEP_ARN,
    resultBucket: 'cqrs-prod-import-123456789012',
    resultPrefix: 'results/import/',
    maxItemsPerBatch: 100,
    maxConcurrency: 200,
    toleratedFailurePercentage: 0,
  },
  importZip: { importZipStepArn: IMPORT_ZIP_STEP_ARN, childTimeoutSeconds: 7200, childHeartbeatSeconds: 600 },
};

export const OPTION_SETS: readonly OptionSet[] = [DEV_LIKE, PROD_LIKE];
