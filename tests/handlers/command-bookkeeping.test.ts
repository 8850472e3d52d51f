/**
 * Issue 9, item 6: the bookkeeping the command handlers add to a row is bounded, and its
 * largest possible sum fits the reserve that COMMAND_ROW_MAX_BYTES leaves free, so a row the
 * client accepted can always record how its version ended.
 */
import { strict as assert } from 'node:assert';
import {
  COMMAND_BOOKKEEPING_RESERVE_BYTES,
  COMMAND_REASON_MAX_CHARS,
  COMMAND_ROW_MAX_BYTES,
  DYNAMODB_ITEM_MAX_BYTES,
  dynamoItemBytes,
  MAX_SYNC_TARGETS,
} from '../../core/limits';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import { COMMAND_BOOKKEEPING_FIELDS } from '../../core/status';

/** Step Functions task tokens are at most 2,048 characters (SendTaskSuccess API). */
const MAX_TASK_TOKEN_CHARS = 2048;
/** The longest sync target name that keeps `sync_<name>` within 80 characters. */
const MAX_TARGET_NAME = 75;
/**
 * The longest execution ARN (`syncRunId`): an EXPRESS run's is
 * `arn:<partition>:states:<region>:<account>:express:<machine ≤ 80>:<name ≤ 80>:<uuid>`.
 */
const MAX_EXECUTION_ARN = `arn:aws-us-gov:states:us-gov-west-1:123456789012:express:${'m'.repeat(80)}:${'n'.repeat(80)}:${'0'.repeat(36)}`;

describe('command row bookkeeping (item 6)', () => {
  it('the largest bookkeeping the handlers can add fits the reserve', () => {
    const iso = new Date().toISOString();
    // a reason is truncated to COMMAND_REASON_MAX_CHARS UTF-16 units: at most 3 UTF-8 bytes each
    const reason = '€'.repeat(COMMAND_REASON_MAX_CHARS);
    const worst = {
      status: 'recheck_prev_command:STARTED',
      statusAt: iso,
      result: 'COMPLETED',
      completedAt: iso,
      failedAt: iso,
      failedReason: reason,
      lastError: reason,
      failedAfterCompletion: reason,
      failedAfterCompletionAt: iso,
      taskToken: 't'.repeat(MAX_TASK_TOKEN_CHARS),
      tokenStoredAt: iso,
      waitingSince: iso,
      resumedAt: iso,
      resumedBy: 'execution-watch:1234567890',
      ttl: 1_900_000_000,
      supersededBy: 1_234_567_890,
      syncStartedAt: iso,
      syncRunId: MAX_EXECUTION_ARN,
      syncCallsStartBy: 1_900_000_000,
      callsEndBy: 1_900_000_000,
      syncStatus: Object.fromEntries(
        Array.from({ length: MAX_SYNC_TARGETS }, (_, i) => [`${i}`.padStart(MAX_TARGET_NAME, 'n'), 'UNKNOWN']),
      ),
    };
    assert.deepEqual(
      COMMAND_BOOKKEEPING_FIELDS.filter((f) => !(f in worst)),
      [],
      'every bookkeeping field is in the worst case',
    );
    assert.ok(
      dynamoItemBytes(worst) <= COMMAND_BOOKKEEPING_RESERVE_BYTES,
      `${dynamoItemBytes(worst)} > ${COMMAND_BOOKKEEPING_RESERVE_BYTES}`,
    );
    assert.equal(COMMAND_ROW_MAX_BYTES + COMMAND_BOOKKEEPING_RESERVE_BYTES, DYNAMODB_ITEM_MAX_BYTES);
  });

  it('dynamoItemBytes counts like DynamoDB: names and UTF-8 values', () => {
    assert.equal(dynamoItemBytes({ pk: 'ab', sk: 'é' }), 2 + 2 + 2 + 2);
    assert.equal(dynamoItemBytes({ m: { a: 'x' } }), 1 + 3 + 1 + 1 + 1);
    assert.equal(dynamoItemBytes({ b: true, n: null, skip: undefined }), 1 + 1 + 1 + 1);
  });

  it(`a command machine has at most ${MAX_SYNC_TARGETS} sync targets`, () => {
    const syncTargets = Array.from({ length: MAX_SYNC_TARGETS + 1 }, (_, i) => ({
      name: `t${i}`,
      functionArn: `arn:aws:lambda:us-east-1:123456789012:function:t${i}`,
    }));
    assert.throws(
      () =>
        buildCommandDefinition({
          commandStepArn: 'arn:aws:lambda:us-east-1:123456789012:function:step',
          syncTargets,
          waitTimeoutSeconds: 60,
          waitHeartbeatSeconds: 10,
          syncMaxConcurrency: 5,
        }),
      /at most 40/,
    );
  });
});
