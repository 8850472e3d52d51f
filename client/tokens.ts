import { sendTaskFailure, sendTaskSuccess, type TokenOutcome } from '../core/sfn';
import { need, type CqrsClientConfig } from './config';

/**
 * Resume an execution waiting on a task token (SendTaskSuccess). Returns 'stale' instead of
 * throwing when the token no longer waits (timed out / already resumed).
 */
export async function resumeExecution(
  config: CqrsClientConfig,
  taskToken: string,
  output: unknown = {},
): Promise<TokenOutcome> {
  if (!taskToken) throw new Error('resumeExecution: taskToken is required');
  return sendTaskSuccess(need(config.clients.sfn, 'clients.sfn'), taskToken, output);
}

/** Fail an execution waiting on a task token (SendTaskFailure; error ≤ 256 chars, cause ≤ 32768). */
export async function failExecution(
  config: CqrsClientConfig,
  taskToken: string,
  error: string,
  cause = '',
): Promise<TokenOutcome> {
  if (!taskToken) throw new Error('failExecution: taskToken is required');
  return sendTaskFailure(need(config.clients.sfn, 'clients.sfn'), taskToken, error || 'Failed', cause);
}
