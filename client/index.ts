/**
 * cqrs-workflows/client — the typed API applications use to feed the workflows.
 * Every function takes an explicit config (table names, topic, bucket, SDK clients).
 */
import type { TokenResult } from '../core/sfn';
import { publishCommand, type PublishCommandInput, type PublishedCommand } from './commands';
import type { CqrsClientConfig } from './config';
import {
  listImportErrors,
  startCsvImport,
  startZipImport,
  type ImportErrorItem,
  type StartImportInput,
  type StartedImport,
} from './imports';
import { createTask, type CreatedTask, type CreateTaskInput } from './tasks';
import { failExecution, resumeExecution } from './tokens';

export { ConfigError, type CqrsClientConfig } from './config';
export { parseClientConfig, type ClientConfig, type ClientTables } from '../core/client-config';
export {
  ConditionRejectedError,
  latestVersion,
  publishCommand,
  publishCommandWith,
  VersionExistsError,
  type PublishCommandInput,
  type PublishDeps,
  type PublishedCommand,
  type PublishOptions,
} from './commands';
export { createTask, type CreatedTask, type CreateTaskInput } from './tasks';
export {
  DEFAULT_DIRECT_IMPORT_MAX_BYTES,
  listImportErrors,
  startCsvImport,
  startZipImport,
  type ImportErrorItem,
  type StartedImport,
  type StartImportInput,
} from './imports';
export { failExecution, resumeExecution } from './tokens';
export { TokenResult } from '../core/sfn';
/** @deprecated Since 0.2: resumeExecution/failExecution answer {@link TokenResult}, which adds `invalid`. */
export type { TokenOutcome } from '../core/sfn';
/** The event shapes of your own Lambdas: sync targets, task executors, custom workflow steps. */
export type { Key, SfnContext, StepEvent, SyncItem, TaskExecutionRequest } from '../core/types';
export { ImportMode, ImportStatus, TaskStatus, CommandResult, Action } from '../core/status';
export { commandSk, parseCommandSk } from '../core/keys';
export { COMMAND_ROW_MAX_BYTES, LimitExceededError, PARTITION_KEY_MAX_BYTES, SORT_KEY_MAX_BYTES } from '../core/limits';

export interface CqrsClient {
  publishCommand(input: PublishCommandInput): Promise<PublishedCommand>;
  createTask(input: CreateTaskInput): Promise<CreatedTask>;
  startCsvImport(input: StartImportInput): Promise<StartedImport>;
  startZipImport(input: Omit<StartImportInput, 'mode'>): Promise<StartedImport>;
  listImportErrors(job: { pk: string; sk: string }): Promise<ImportErrorItem[]>;
  resumeExecution(taskToken: string, output?: unknown): Promise<TokenResult>;
  failExecution(taskToken: string, error: string, cause?: string): Promise<TokenResult>;
}

/** The same functions bound to one config. */
export function createCqrsClient(config: CqrsClientConfig): CqrsClient {
  return {
    publishCommand: (input) => publishCommand(config, input),
    createTask: (input) => createTask(config, input),
    startCsvImport: (input) => startCsvImport(config, input),
    startZipImport: (input) => startZipImport(config, input),
    listImportErrors: (job) => listImportErrors(config, job),
    resumeExecution: (taskToken, output) => resumeExecution(config, taskToken, output),
    failExecution: (taskToken, error, cause) => failExecution(config, taskToken, error, cause),
  };
}
