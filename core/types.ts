/** JSON values that travel between states and through SNS/SQS. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A DynamoDB primary key (every table uses pk/sk strings). */
export interface Key {
  pk: string;
  sk: string;
}

/** The Step Functions context object (`$$`) as passed in the Lambda payload. */
export interface SfnContext {
  Execution?: { Id?: string; Name?: string; Input?: unknown; StartTime?: string; RoleArn?: string };
  State?: { Name?: string; EnteredTime?: string; RetryCount?: number };
  StateMachine?: { Id?: string; Name?: string };
  Task?: { Token?: string };
  Map?: { Item?: { Index?: number; Value?: unknown } };
}

/**
 * The payload every Lambda Task sends (docs/architecture.md, "Lambda task payload"):
 * `{ source: "step-function", context: $$, input: $ }` plus `taskToken` where the state waits.
 */
export interface StepEvent<I = unknown> {
  source?: string;
  context?: SfnContext;
  input: I;
  taskToken?: string;
}

/**
 * What a sync target's Lambda gets as `input` (docs/architecture.md, command machine):
 * the command version to apply (the `commands` row key) and the target's name. The
 * machine records the target as FINISHED when the call returns (its return value is not
 * kept) and FAILED when it throws.
 */
export interface SyncItem extends Key {
  target: string;
}

/** What a task executor's Lambda gets for one sub-task; it returns the sub-task's result. */
export interface TaskExecutionRequest {
  source: 'task';
  taskType: string;
  parent: Key;
  subTask: Key;
  index: number;
  input: unknown;
}

/** `{ Error, Cause }` as written by a Catch with ResultPath `$.error`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function stateName(event: StepEvent<unknown>): string {
  const name = event?.context?.State?.Name;
  if (typeof name !== 'string' || name === '') {
    throw new Error('missing context.State.Name: the state must pass { "context.$": "$$", "input.$": "$" } as Payload');
  }
  return name;
}

export function requireKey(value: unknown, what: string): Key {
  if (!isRecord(value) || typeof value.pk !== 'string' || typeof value.sk !== 'string' || !value.pk || !value.sk) {
    throw new Error(`${what}: expected an object with string "pk" and "sk"`);
  }
  return { pk: value.pk, sk: value.sk };
}
