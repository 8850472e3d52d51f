import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { errorName, isStaleTaskToken, truncate } from './errors';

/** Step Functions limits: error ≤ 256 chars, cause ≤ 32768 chars, input/output ≤ 256 KiB. */
export const SFN_MAX_PAYLOAD_BYTES = 256 * 1024;

export type TokenOutcome = 'sent' | 'stale';

/** SendTaskSuccess; a token that no longer waits (timed out, unknown) is reported as 'stale', not thrown. */
export async function sendTaskSuccess(
  client: SFNClient,
  taskToken: string,
  output: unknown = {},
): Promise<TokenOutcome> {
  try {
    await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) }));
    return 'sent';
  } catch (err) {
    if (isStaleTaskToken(err)) return 'stale';
    throw err;
  }
}

export async function sendTaskFailure(
  client: SFNClient,
  taskToken: string,
  error: string,
  cause: string,
): Promise<TokenOutcome> {
  try {
    await client.send(
      new SendTaskFailureCommand({ taskToken, error: truncate(error, 256), cause: truncate(cause, 32768) }),
    );
    return 'sent';
  } catch (err) {
    if (isStaleTaskToken(err)) return 'stale';
    throw err;
  }
}

export interface StartResult {
  executionArn?: string;
  /** false when an execution with this name already existed (redelivery): nothing new was started. */
  started: boolean;
}

/** StartExecution with a deterministic name; ExecutionAlreadyExists counts as success. */
export async function startExecutionOnce(
  client: SFNClient,
  stateMachineArn: string,
  name: string,
  input: unknown,
): Promise<StartResult> {
  const body = JSON.stringify(input);
  if (Buffer.byteLength(body, 'utf8') > SFN_MAX_PAYLOAD_BYTES) {
    throw new Error(`execution input for ${name} is ${Buffer.byteLength(body, 'utf8')} bytes, over the 256 KiB limit`);
  }
  try {
    const res = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: body }));
    return { executionArn: res.executionArn, started: true };
  } catch (err) {
    if (errorName(err) === 'ExecutionAlreadyExists') return { started: false };
    throw err;
  }
}
