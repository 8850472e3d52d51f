/** Per-step status recorded on the command row: `<state>:STARTED|FINISHED|FAILED`. */
export const StepPhase = { STARTED: 'STARTED', FINISHED: 'FINISHED', FAILED: 'FAILED' } as const;
export type StepPhase = (typeof StepPhase)[keyof typeof StepPhase];
export function stepStatus(state: string, phase: StepPhase): string {
  return `${state}:${phase}`;
}

/** Terminal outcome of a command version (attribute `result` on the command row). */
export const CommandResult = { COMPLETED: 'COMPLETED', FAILED: 'FAILED' } as const;
export type CommandResult = (typeof CommandResult)[keyof typeof CommandResult];
/**
 * Attributes the command workflow writes on a command row after it was published: bookkeeping,
 * not the command's data (the command handlers leave them out of `history` and `data`).
 */
export const COMMAND_BOOKKEEPING_FIELDS: readonly string[] = [
  'status',
  'statusAt',
  'result',
  'taskToken',
  'tokenStoredAt',
  'waitingSince',
  'ttl',
  'resumedAt',
  'resumedBy',
  'lastError',
  'failedReason',
  'failedAt',
  'completedAt',
  'syncStatus',
  'supersededBy',
  'failedAfterCompletion',
  'failedAfterCompletionAt',
  'syncStartedAt',
  'syncRunId',
  'syncCallsStartBy',
  'callsEndBy',
];

/** The `status` mark_failed leaves on a failed command row. */
export const COMMAND_FAILED_STATUS = 'FAILED';

export const TaskStatus = {
  CREATED: 'CREATED',
  PROCESSING: 'PROCESSING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

export const TaskRowType = { TASK: 'TASK', SUB_TASK: 'SUB_TASK' } as const;

export const ImportStatus = {
  CREATED: 'CREATED',
  PROCESSING: 'PROCESSING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
} as const;
export type ImportStatus = (typeof ImportStatus)[keyof typeof ImportStatus];

export const ImportMode = { DIRECT: 'DIRECT', STEP_FUNCTION: 'STEP_FUNCTION' } as const;

/** CSV files up to this many bytes are imported DIRECT by default (the stack's `directImportMaxBytes`). */
export const DEFAULT_DIRECT_IMPORT_MAX_BYTES = 256 * 1024;
export type ImportMode = (typeof ImportMode)[keyof typeof ImportMode];

/** DIRECT for files up to `directMaxBytes` (0: never DIRECT), STEP_FUNCTION for the others. */
export function importModeForSize(size: number, directMaxBytes: number): ImportMode {
  return directMaxBytes > 0 && size <= directMaxBytes ? ImportMode.DIRECT : ImportMode.STEP_FUNCTION;
}

/** `type` of the items in `import_tmp`. */
export const ImportRowType = {
  CSV_JOB: 'CSV_JOB',
  ZIP_JOB: 'ZIP_JOB',
  IMPORT_ROW: 'IMPORT_ROW',
  IMPORT_ERROR: 'IMPORT_ERROR',
  /** 0.1 claimed duplicate keys with these; duplicates are now decided while the file is read. Old ones expire (ttl). */
  IMPORT_KEY: 'IMPORT_KEY',
  IMPORT_BATCH: 'IMPORT_BATCH',
} as const;
export type ImportRowType = (typeof ImportRowType)[keyof typeof ImportRowType];

/** `action` message attribute values on the main topic (SNS filter policies route on them). */
export const Action = {
  IMPORT_CSV: 'import-csv',
  IMPORT_ZIP: 'import-zip',
  TASK_START: 'task-start',
  TASK_EXECUTE: 'task-execute',
  TASK_STATUS: 'task-status',
  IMPORT_STATUS: 'import-status',
  SFN_ALARM: 'sfn-alarm',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

export function isTerminal(status: unknown): boolean {
  return status === 'COMPLETED' || status === 'FAILED';
}

/**
 * What one sync target did for a command version (`syncStatus.<target>` on the command row,
 * and `status` of each `sync_data_all` item): FINISHED applied, FAILED did not (or not
 * completely), UNKNOWN the execution was stopped during the sync, so it may or may not have.
 */
export const SyncTargetStatus = { FINISHED: 'FINISHED', FAILED: 'FAILED', UNKNOWN: 'UNKNOWN' } as const;
export type SyncTargetStatus = (typeof SyncTargetStatus)[keyof typeof SyncTargetStatus];

/**
 * Which machines run a command version (stack setting `commandPath`):
 * - `EXPRESS`: an EXPRESS execution per version, started synchronously by the stream router;
 *   a version that must wait for its predecessor goes to the STANDARD `command-wait` machine.
 * - `STANDARD`: the seed's shape, one STANDARD execution per version (every command in the
 *   execution history, at about ten times the price).
 */
export const CommandPath = {
  /** One EXPRESS run per version, started by the stream router; a waiting version goes to the STANDARD command-wait machine. */
  EXPRESS: 'EXPRESS',
  /** The seed's shape: one STANDARD execution per version, every command in the execution history. */
  STANDARD: 'STANDARD',
} as const;
export type CommandPath = (typeof CommandPath)[keyof typeof CommandPath];

/**
 * How an EXPRESS command run ended (`outcome` in its output, read by whoever started it):
 * the version COMPLETED or FAILED (recorded by this run), had already ENDED (an earlier run or
 * another path recorded it), MUST_WAIT for its predecessor (→ the command-wait machine), or
 * the sync is HELD by another run of the same version that may still be calling targets.
 */
export const CommandRunOutcome = {
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  ENDED: 'ENDED',
  MUST_WAIT: 'MUST_WAIT',
  HELD: 'HELD',
} as const;
export type CommandRunOutcome = (typeof CommandRunOutcome)[keyof typeof CommandRunOutcome];

/** Error names the command definitions catch by name (thrown by command-step and the runner). */
export const CommandError = {
  /** The version has already ended: nothing is changed. */
  VERSION_ALREADY_ENDED: 'VersionAlreadyEnded',
  /** Another run of the same version holds the sync and may still call targets. */
  SYNC_HELD: 'SyncHeldByAnotherRun',
  /** The EXPRESS run found the version must wait for its predecessor (the command-wait machine waits again). */
  VERSION_MUST_WAIT: 'VersionMustWait',
  /** The EXPRESS run failed, timed out or was aborted (retried; every step is idempotent). */
  RUN_FAILED: 'CommandRunFailed',
  /**
   * Sent to a waiting version (SendTaskFailure) whose predecessors have ended but may still
   * have sync calls running: its Cause is JSON `{ callsEndBy, waitingOn, reason }`, and the
   * definitions wait until `callsEndBy` (a Wait state) and re-check, instead of a heartbeat.
   */
  PREDECESSOR_CALLS_RUNNING: 'PredecessorCallsRunning',
} as const;

/**
 * The version-check result (check_version, recheck_prev_command) after 0 (go on), 1 (wait for
 * a callback) and -1 (fail): the version may not go on only because predecessors that have
 * ended may still have sync calls running. The output's `callsRunning` has the shape of a
 * caught PredecessorCallsRunning, so the definitions wait until its `callsEndBy` the same way.
 */
export const CALLS_RUNNING_RESULT = 2;
