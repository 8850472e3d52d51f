import { sendTaskFailureResult, sendTaskSuccessResult, type TokenResult } from '../core/sfn';
import { need, type CqrsClientConfig } from './config';

/**
 * Resume an execution waiting on a task token (SendTaskSuccess). Answers what became of it
 * instead of throwing for the token's own problems: `sent`; `stale` when the token was real but
 * nothing waits on it any more (timed out, already resumed, execution ended); `invalid` when it
 * was never a token Step Functions issued (forged, truncated, over 2,048 characters). Other
 * errors (throttling, permissions, network) are thrown.
 */
export async function resumeExecution(
  config: CqrsClientConfig,
  taskToken: string,
  output: unknown = {},
): Promise<TokenResult> {
  if (!taskToken) throw new Error('resumeExecution: taskToken is required');
  return sendTaskSuccessResult(need(config.clients.sfn, 'clients.sfn'), taskToken, output);
}

/** Fail an execution waiting on a task token (SendTaskFailure; error ≤ 256 chars, cause ≤ 32768); same result as resumeExecution. */
export async function failExecution(
  config: CqrsClientConfig,
  taskToken: string,
  error: string,
  cause = '',
): Promise<TokenResult> {
  if (!taskToken) throw new Error('failExecution: taskToken is required');
  return sendTaskFailureResult(need(config.clients.sfn, 'clients.sfn'), taskToken, error || 'Failed', cause);
}
