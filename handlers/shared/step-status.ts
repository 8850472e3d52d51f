import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from './aws/dynamodb';
import { tables } from './env';
import { describeError, errorName, isConditionalCheckFailed, isItemTooLarge, truncate } from '../../core/errors';
import { COMMAND_REASON_MAX_CHARS } from '../../core/limits';
import { log } from './log';
import { publishAlarm } from './notify';
import { CommandError, StepPhase, stepStatus } from '../../core/status';
import type { Key } from '../../core/types';

/**
 * Record `<state>:<phase>` in `status` on the command row (and the time in
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
  executionArn?: string;
}

/**
 * Errors that steer the workflow rather than report a fault: a duplicate run that finds its
 * version already ended, a run that finds another run of the same version syncing. They are
 * neither recorded on the row nor alarmed (the machines catch them by name).
 */
const FLOW_ERRORS: ReadonlySet<string> = new Set([CommandError.VERSION_ALREADY_ENDED, CommandError.SYNC_HELD]);

/**
 * Run one step. Only a failure is recorded — `<state>:FAILED` with `lastError` on the row and
 * an alarm to ALARM_TOPIC_ARN — and the error is rethrown (the state's Catch takes over).
 * A step that succeeds writes no status of its own: nothing reads per-step STARTED/FINISHED
 * marks (the chain reads `result`, `callsEndBy`, `syncStartedAt`, `taskToken`, `waitingSince`),
 * and each would cost a write per state per command.
 */
export async function runRecordedStep<T>(
  key: Key,
  state: string,
  fn: () => Promise<T>,
  options: StepOptions = {},
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (FLOW_ERRORS.has(errorName(err))) throw err;
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
}
