import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { errorName, truncate } from './errors';

/** Step Functions limits: error ≤ 256 chars, cause ≤ 32768 chars, input/output ≤ 256 KiB. */
export const SFN_MAX_PAYLOAD_BYTES = 256 * 1024;
/** SendTaskSuccess/SendTaskFailure accept task tokens of 1 to 2,048 characters. */
export const TASK_TOKEN_MAX_LENGTH = 2048;

/**
 * What became of a SendTaskSuccess / SendTaskFailure:
 * - `sent`: Step Functions took it; the waiting execution goes on.
 * - `stale`: the token was real but nothing waits on it any more (`TaskTimedOut`,
 *   `TaskDoesNotExist`: timed out, already resumed, execution ended) — usually benign.
 * - `invalid`: the token is not one Step Functions issued (`InvalidToken`: forged, truncated,
 *   corrupted, or longer than 2,048 characters) — a caller's bug or an attack, never benign.
 */
export const TokenResult = { SENT: 'sent', STALE: 'stale', INVALID: 'invalid' } as const;
export type TokenResult = (typeof TokenResult)[keyof typeof TokenResult];

/** The narrower outcome the workflow handlers use: their tokens come from Step Functions itself. */
export type TokenOutcome = 'sent' | 'stale';

/** `stale` or `invalid` for the errors that say so about the token; undefined for anything else. */
export function tokenErrorResult(err: unknown): Exclude<TokenResult, 'sent'> | undefined {
  const name = errorName(err);
  if (name === 'InvalidToken') return TokenResult.INVALID;
  if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist') return TokenResult.STALE;
  return undefined;
}

async function deliver(taskToken: string, send: () => Promise<unknown>): Promise<TokenResult> {
  if (!taskToken || taskToken.length > TASK_TOKEN_MAX_LENGTH) return TokenResult.INVALID;
  try {
    await send();
    return TokenResult.SENT;
  } catch (err) {
    const result = tokenErrorResult(err);
    if (result) return result;
    throw err;
  }
}

/** SendTaskSuccess, telling a token that no longer waits (`stale`) from one that never was valid (`invalid`). */
export async function sendTaskSuccessResult(
  client: SFNClient,
  taskToken: string,
  output: unknown = {},
): Promise<TokenResult> {
  return deliver(taskToken, () =>
    client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) })),
  );
}

/** SendTaskFailure (error ≤ 256 chars, cause ≤ 32,768), with the same three-way result. */
export async function sendTaskFailureResult(
  client: SFNClient,
  taskToken: string,
  error: string,
  cause: string,
): Promise<TokenResult> {
  return deliver(taskToken, () =>
    client.send(new SendTaskFailureCommand({ taskToken, error: truncate(error, 256), cause: truncate(cause, 32768) })),
  );
}

// A token the workflow stored itself and can no longer use is, for the workflow, as good as gone.
const narrow = (r: TokenResult): TokenOutcome => (r === TokenResult.SENT ? 'sent' : 'stale');

/** SendTaskSuccess for the workflow handlers; a token that no longer waits is reported as 'stale', not thrown. */
export async function sendTaskSuccess(
  client: SFNClient,
  taskToken: string,
  output: unknown = {},
): Promise<TokenOutcome> {
  return narrow(await sendTaskSuccessResult(client, taskToken, output));
}

export async function sendTaskFailure(
  client: SFNClient,
  taskToken: string,
  error: string,
  cause: string,
): Promise<TokenOutcome> {
  return narrow(await sendTaskFailureResult(client, taskToken, error, cause));
}

export interface StartResult {
  executionArn?: string;
  /** false when an execution with this name already existed (redelivery): nothing new was started. */
  started: boolean;
}

function checkedInput(input: unknown, what: string): string {
  const body = JSON.stringify(input);
  if (Buffer.byteLength(body, 'utf8') > SFN_MAX_PAYLOAD_BYTES) {
    throw new Error(`execution input for ${what} is ${Buffer.byteLength(body, 'utf8')} bytes, over the 256 KiB limit`);
  }
  return body;
}

/** The ARN of a STANDARD machine's execution named `name`. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return [stateMachineArn.replace(':stateMachine:', ':execution:'), name].join(':');
}

/** How a synchronous EXPRESS execution ended (StartSyncExecution). */
export interface SyncRunResult {
  executionArn?: string;
  /** SUCCEEDED, FAILED, TIMED_OUT (or ABORTED). */
  status: string;
  /** The execution output, parsed (SUCCEEDED only). */
  output?: unknown;
  error?: string;
  cause?: string;
}

/** StartSyncExecution of an EXPRESS machine: returns once the run has ended, however it ended. */
export async function startSyncExecution(
  client: SFNClient,
  stateMachineArn: string,
  input: unknown,
): Promise<SyncRunResult> {
  const res = await client.send(
    new StartSyncExecutionCommand({ stateMachineArn, input: checkedInput(input, stateMachineArn) }),
  );
  let output: unknown;
  if (res.output !== undefined && res.output !== null) {
    try {
      output = JSON.parse(res.output);
    } catch {
      output = res.output;
    }
  }
  return {
    executionArn: res.executionArn,
    status: String(res.status ?? 'UNKNOWN'),
    ...(output === undefined ? {} : { output }),
    ...(res.error ? { error: res.error } : {}),
    ...(res.cause ? { cause: res.cause } : {}),
  };
}

/** StartExecution with a deterministic name; ExecutionAlreadyExists counts as success. */
export async function startExecutionOnce(
  client: SFNClient,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<StartResult> {
  const body = checkedInput(input, name);
  try {
    const res = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: body }));
    return { executionArn: res.executionArn, started: true };
  } catch (err) {
    if (errorName(err) === 'ExecutionAlreadyExists') return { started: false };
    throw err;
  }
}
