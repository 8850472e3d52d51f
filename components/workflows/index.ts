/**
 * Builders of the state machine definitions of docs/architecture.md. Pure
 * functions of plain options (ARNs as strings): no Pulumi, so the definitions are
 * known at preview time and testable offline.
 */
export { buildCommandDefinition, syncStateName } from './command-definition';
export type { CommandDefinitionOptions, SyncTargetFunction } from './command-definition';
export { buildCommandExpressDefinition } from './command-express-definition';
export type { CommandExpressDefinitionOptions, ExpressSyncTargetFunction } from './command-express-definition';
export { buildCommandWaitDefinition } from './command-wait-definition';
export type { CommandWaitDefinitionOptions } from './command-wait-definition';
export { buildTaskDefinition, TASK_DEFAULTS } from './task-definition';
export type { TaskDefinitionOptions } from './task-definition';
export { buildImportCsvDefinition, IMPORT_CSV_DEFAULTS } from './import-csv-definition';
export type { ImportCsvDefinitionOptions } from './import-csv-definition';
export { buildImportZipDefinition } from './import-zip-definition';
export type { ImportZipDefinitionOptions } from './import-zip-definition';
