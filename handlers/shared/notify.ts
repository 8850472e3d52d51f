import { publishAction, type EventBody } from '../../core/publish-action';
import { sns } from './aws/sns';
import { requireEnv } from './env';
import { describeError, truncate } from '../../core/errors';
import { log } from './log';
import { Action } from '../../core/status';

/** Status event to the main topic (MAIN_TOPIC_ARN). */
export async function publishStatusEvent(action: string, body: EventBody): Promise<void> {
  await publishAction(sns(), requireEnv('MAIN_TOPIC_ARN'), action, { ...body, at: new Date().toISOString() });
}

/** Same, but a failure to publish is logged instead of thrown (used where the event is secondary). */
export async function publishStatusEventSafe(action: string, body: EventBody): Promise<boolean> {
  try {
    await publishStatusEvent(action, body);
    return true;
  } catch (err) {
    log('error', 'status event not published', { action, error: describeError(err), body });
    return false;
  }
}

export interface Alarm {
  /** Short machine-readable kind: step-failed, command-failed, import-failed, task-failed, ... */
  kind: string;
  table?: string;
  pk?: string;
  sk?: string;
  state?: string;
  executionArn?: string;
  error: string;
  [key: string]: unknown;
}

/**
 * Alarm to ALARM_TOPIC_ARN. Never throws: an alarm that cannot be sent must not hide the
 * original failure; the failure to alarm is logged at error level (and the Lambda error
 * metric / state machine failure alarms still fire).
 */
export async function publishAlarm(alarm: Alarm): Promise<boolean> {
  try {
    await publishAction(sns(), requireEnv('ALARM_TOPIC_ARN'), Action.SFN_ALARM, {
      ...alarm,
      error: truncate(alarm.error, 4000),
      at: new Date().toISOString(),
    });
    return true;
  } catch (err) {
    log('error', 'alarm not published', { alarm, error: describeError(err) });
    return false;
  }
}
