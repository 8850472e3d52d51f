/**
 * Every metric name the project uses, defined once: the business metrics the handlers
 * publish (CloudWatch Embedded Metric Format) and the AWS service metrics the alarms and
 * the operations dashboard read. Handlers and components import the same constants, so a
 * dashboard widget, an alarm and the code that emits a metric cannot drift apart.
 */

/** Namespace of the business metrics the handlers publish. */
export const BUSINESS_NAMESPACE = 'CqrsWorkflows';

/**
 * The one dimension of every business metric: the deployment's name prefix (`cqrs-<stack>`
 * by default), so two stacks in one account and region never mix their figures.
 */
export const STACK_DIMENSION = 'Stack';

/** Environment variable through which the components hand a function its `Stack` dimension value. */
export const STACK_DIMENSION_ENV = 'NAME_PREFIX';

/** CloudWatch units the business metrics use. */
export const MetricUnit = { COUNT: 'Count', SECONDS: 'Seconds' } as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Business metrics (namespace {@link BUSINESS_NAMESPACE}, dimension {@link STACK_DIMENSION}). */
export const BusinessMetric = {
  /** A command version was applied (its `finish` recorded COMPLETED). */
  COMMANDS_APPLIED: 'CommandsApplied',
  /** A command version ended FAILED (mark_failed, also when execution-watch closes it). */
  COMMANDS_FAILED: 'CommandsFailed',
  /** A version started waiting for its predecessor (counted once per version). */
  VERSIONS_WAITING: 'VersionsWaiting',
  /** Seconds a version waited for its predecessor, recorded when the wait ends (resumed, re-checked, or given up). */
  VERSION_WAIT_TIME: 'VersionWaitTime',
  /** Rows of a CSV import job that were imported, recorded when the job ends. */
  IMPORT_ROWS_SUCCEEDED: 'ImportRowsSucceeded',
  /** Rows of a CSV import job that failed (recorded with line and reason), recorded when the job ends. */
  IMPORT_ROWS_FAILED: 'ImportRowsFailed',
  /** CSV and ZIP import jobs that ended COMPLETED. */
  IMPORT_JOBS_COMPLETED: 'ImportJobsCompleted',
  /** CSV and ZIP import jobs that ended FAILED. */
  IMPORT_JOBS_FAILED: 'ImportJobsFailed',
  /** Tasks whose every sub-task succeeded. */
  TASKS_COMPLETED: 'TasksCompleted',
  /** Tasks that ended FAILED (a sub-task failed, the machine failed, or the task was rejected up front). */
  TASKS_FAILED: 'TasksFailed',
} as const;
export type BusinessMetric = (typeof BusinessMetric)[keyof typeof BusinessMetric];

export const BUSINESS_METRIC_UNITS: Record<BusinessMetric, MetricUnit> = {
  CommandsApplied: MetricUnit.COUNT,
  CommandsFailed: MetricUnit.COUNT,
  VersionsWaiting: MetricUnit.COUNT,
  VersionWaitTime: MetricUnit.SECONDS,
  ImportRowsSucceeded: MetricUnit.COUNT,
  ImportRowsFailed: MetricUnit.COUNT,
  ImportJobsCompleted: MetricUnit.COUNT,
  ImportJobsFailed: MetricUnit.COUNT,
  TasksCompleted: MetricUnit.COUNT,
  TasksFailed: MetricUnit.COUNT,
};

/** Step Functions metrics (dimension `StateMachineArn`). */
export const StatesMetric = {
  NAMESPACE: 'AWS/States',
  DIMENSION: 'StateMachineArn',
  STARTED: 'ExecutionsStarted',
  SUCCEEDED: 'ExecutionsSucceeded',
  FAILED: 'ExecutionsFailed',
  TIMED_OUT: 'ExecutionsTimedOut',
  ABORTED: 'ExecutionsAborted',
  THROTTLED: 'ExecutionThrottled',
  /** Milliseconds from start to end of an execution. */
  EXECUTION_TIME: 'ExecutionTime',
} as const;

/** Lambda metrics (dimension `FunctionName`). */
export const LambdaMetric = {
  NAMESPACE: 'AWS/Lambda',
  DIMENSION: 'FunctionName',
  ERRORS: 'Errors',
  THROTTLES: 'Throttles',
  DURATION: 'Duration',
  CONCURRENT_EXECUTIONS: 'ConcurrentExecutions',
} as const;

/** SQS metrics (dimension `QueueName`). */
export const SqsMetric = {
  NAMESPACE: 'AWS/SQS',
  DIMENSION: 'QueueName',
  VISIBLE: 'ApproximateNumberOfMessagesVisible',
  OLDEST_AGE: 'ApproximateAgeOfOldestMessage',
} as const;
