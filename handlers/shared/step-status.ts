import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from './aws/dynamodb';
import { tables } from './env';
import { describeError, isConditionalCheckFailed, isItemTooLarge, truncate } from '../../core/errors';
import { COMMAND_REASON_MAX_CHARS } from '../../core/limits';
import { log } from './log';
import { publishAlarm } from './notify';
import { StepPhase, stepStatus } from '../../core/status';
import type { Key } from '../../core/types';

/**
 * Record `<state>:STARTED|FINISHED|FAILED` in `status` on the command row (and the time in
 * `statusAt`). Only updates a row whose version has not ended (an ended version's status
 * stays how it ended). The error is bounded (COMMAND_REASON_MAX_CHARS), and a row too full to
 * take the record skips it: bookkeeping never fails a step. Returns false when not written.
 */
export async function recordStepStatus(key: Key, state: string, phase: StepPhase, error?: string): Promise<boolean> {
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: error
          ? 'SET #status = :s, #statusAt = :now, #lastError = :e'
          : 'SET #status = :s, #statusAt = :now',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#result)',
        ExpressionAttributeNames: {
          '#status': 'status',
          '#statusAt': 'statusAt',
          '#result': 'result',
          ...(error ? { '#lastError': 'lastError' } : {}),
        },
        ExpressionAttributeValues: {
          ':s': stepStatus(state, phase),
          ':now': now,
          ...(error ? { ':e': truncate(error, COMMAND_REASON_MAX_CHARS) } : {}),
        },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionalCheckFailed(err)) return false;
    if (isItemTooLarge(err)) {
      log('warn', 'step status not recorded: the command row is full', { key, state, phase });
      return false;
    }
    throw err;
  }
}

export interface StepOptions {
  /** Record `<state>:FINISHED` after `fn` (default true). States that write their own final status set false. */
  recordFinished?: boolean;
  executionArn?: string;
}

/**
 * Run one step: `<state>:STARTED` → fn → `<state>:FINISHED`; on error `<state>:FAILED`,
 * an alarm to ALARM_TOPIC_ARN, and the error is rethrown (the state's Catch takes over).
 */
export async function runRecordedStep<T>(
  key: Key,
  state: string,
  fn: () => Promise<T>,
  options: StepOptions = {},
): Promise<T> {
  await recordStepStatus(key, state, StepPhase.STARTED);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    const error = describeError(err);
    try {
      await recordStepStatus(key, state, StepPhase.FAILED, error);
    } catch (recordErr) {
      log('error', 'could not record step failure', { key, state, error: describeError(recordErr) });
    }
    await publishAlarm({
      kind: 'step-failed',
      table: 'commands',
      pk: key.pk,
      sk: key.sk,
      state,
      executionArn: options.executionArn,
      error,
    });
    throw err;
  }
  if (options.recordFinished !== false) await recordStepStatus(key, state, StepPhase.FINISHED);
  return result;
}
