/**
 * cqrs-workflows: Pulumi components for the Step Functions backbone of a CQRS
 * serverless backend. `CqrsWorkflows` wires everything; the parts are exported for
 * projects that assemble their own.
 */
export {
  CqrsWorkflows,
  type CqrsWorkflowsArgs,
  type CommandSettings,
  type ImportSettings,
  type PerStreamTable,
  type PerTable,
  type SyncTarget,
  type TaskSettings,
} from './cqrs-workflows';
export type { ClientConfig, ClientTables } from '../core/client-config';
export { CqrsTables, TABLE_KEYS, STREAM_TABLES, type CqrsTablesArgs, type TableKey } from './tables';
export {
  ImportBucket,
  IMPORT_PREFIXES,
  CSV_SOURCE_PREFIXES,
  tlsOnlyPolicy,
  type ImportBucketArgs,
} from './import-bucket';
export { AccessLogBucket, type AccessLogBucketArgs } from './access-log-bucket';
export { Messaging, QUEUE_ROUTES, QUEUE_KEYS, type MessagingArgs, type QueueKey } from './messaging';
export { HandlerFunction, vpcNetworkStatements, type HandlerFunctionArgs, type VpcSettings } from './handler-function';
export { streamSource, queueSource, streamReadStatements, queueConsumeStatements } from './event-sources';
export { LogLevel, StateMachineType, WorkflowStateMachine, type WorkflowStateMachineArgs } from './state-machine';
export { callerArnContext } from './arn-context';
export { ExecutionEventRule, ENDED_STATUSES, type ExecutionEventRuleArgs } from './execution-events';
export { WorkflowMachines, type WorkflowMachinesArgs } from './workflow-machines';
export { OperationsDashboard, type OperationsDashboardArgs, type DashboardQueueArgs } from './dashboard';
export { buildDashboardBody, type DashboardBody, type DashboardSpec } from './dashboard-body';
export { bundleHandler, HANDLER_BUILD_OPTIONS, type HandlerBundle } from './bundle';
export { FUNCTION_KEYS, MACHINE_KEYS, machineKeysFor, type FunctionKey, type MachineKey } from './function-catalog';
export { CommandPath } from '../core/status';
export { physicalName, defaultPrefix, arns, type ArnContext } from './naming';
export type { PolicyStatement } from './iam';
export { CONFIG_SCHEMA, loadStackSettings, ConfigError, type StackSettings } from './stack-config';
export * as asl from './asl';
export * from './workflows';
