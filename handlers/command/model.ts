import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws/dynamodb';
import { sfn } from '../shared/aws/sfn';
import { batchGetAll, keyId } from '../shared/dynamo';
import { tables } from '../shared/env';
import { isConditionalCheckFailed } from '../shared/errors';
import { commandSk, dataKey, parseCommandSk } from '../shared/keys';
import { log } from '../shared/log';
import { sendTaskFailure, sendTaskSuccess } from '../shared/sfn-helpers';
import { CommandResult, StepPhase, stepStatus } from '../shared/status';
import type { Key } from '../shared/types';

/** A row of the `commands` table (docs/architecture.md, data model; `result` etc. are refinements). */
export interface CommandRow {
  pk: string;
  sk: string;
  code: string;
  version: number;
  attributes?: unknown;
  attributesRef?: string;
  status?: string;
  /** COMPLETED after finish, FAILED after mark_failed: the terminal outcome of this version. */
  result?: CommandResult;
  taskToken?: string;
  waitingSince?: string;
  ttl?: number;
  failedReason?: string;
  [key: string]: unknown;
}

export interface DataRow {
  pk: string;
  sk: string;
  version: number;
  [key: string]: unknown;
}

/** 0 = apply now, 1 = an earlier version is in flight (wait), -1 = conflict. */
export type VersionResult = 0 | 1 | -1;

export interface VersionCheck {
  result: VersionResult;
  dataVersion: number;
  /** The earlier version this one waits for (result 1). */
  waitingOn?: number;
  reason?: string;
}

/** How many earlier versions check_version inspects individually (beyond that it keeps waiting). */
export const MAX_GAP_CHECKED = 100;
/** How far finish / mark_failed walk forward over FAILED versions to find a waiting successor. */
export const MAX_RELEASE_SCAN = 25;

export function commandKeyOf(pk: string, code: string, version: number): Key {
  return { pk, sk: commandSk(code, version) };
}

export async function getCommand(key: Key, consistent = true): Promise<CommandRow | undefined> {
  const res = await ddb().send(new GetCommand({ TableName: tables.commands(), Key: { pk: key.pk, sk: key.sk }, ConsistentRead: consistent }));
  return res.Item as CommandRow | undefined;
}

export async function requireCommand(key: Key): Promise<CommandRow> {
  const row = await getCommand(key);
  if (!row) throw new Error(`command ${key.pk} / ${key.sk} not found in ${tables.commands()}`);
  return row;
}

export async function getDataRow(pk: string, code: string): Promise<DataRow | undefined> {
  const res = await ddb().send(new GetCommand({ TableName: tables.data(), Key: dataKey(pk, code), ConsistentRead: true }));
  return res.Item as DataRow | undefined;
}

/**
 * The check_version rule (strongly consistent reads, so a waiter and a resumer always
 * see each other's committed writes):
 *  -1  version <= data.version (conflict)
 *   0  data.version == version - 1, or every version in between ended (FAILED, or COMPLETED)
 *   1  an earlier version has not ended yet (or does not exist yet)
 */
export async function evaluateVersion(pk: string, code: string, version: number): Promise<VersionCheck> {
  const data = await getDataRow(pk, code);
  const dataVersion = Number(data?.version ?? 0);
  if (version <= dataVersion) {
    return { result: -1, dataVersion, reason: `version conflict: version ${version} <= data version ${dataVersion}` };
  }
  if (version === dataVersion + 1) return { result: 0, dataVersion };
  const lowest = Math.max(dataVersion + 1, version - MAX_GAP_CHECKED);
  const between: Key[] = [];
  for (let v = version - 1; v >= lowest; v--) between.push(commandKeyOf(pk, code, v));
  const rows = await batchGetAll(ddb(), tables.commands(), between, { consistentRead: true, projection: ['result', 'status'] });
  // the highest unfinished version below this one is the one to wait for
  for (const key of between) {
    const row = rows.get(keyId(key));
    if (!row || (row.result !== CommandResult.FAILED && row.result !== CommandResult.COMPLETED)) {
      return { result: 1, dataVersion, waitingOn: parseCommandSk(key.sk).version };
    }
  }
  if (lowest > dataVersion + 1) {
    return { result: 1, dataVersion, waitingOn: lowest - 1, reason: `more than ${MAX_GAP_CHECKED} versions between data and this one` };
  }
  return { result: 0, dataVersion };
}

export type ClaimOutcome = 'sent' | 'stale' | 'lost';

/**
 * Resume a waiting execution exactly once: the caller first removes the token from the row
 * with a condition on its value (only one of several concurrent resumers — the waiter's own
 * re-check and the predecessor's finish/mark_failed — wins), then sends SendTaskSuccess
 * (check 0) or SendTaskFailure (check -1). 'lost' = someone else claimed / replaced it.
 */
export async function claimAndResume(key: Key, token: string, check: VersionCheck, resumedBy: string): Promise<ClaimOutcome> {
  const now = new Date().toISOString();
  try {
    await ddb().send(
      new UpdateCommand({
        TableName: tables.commands(),
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'REMOVE taskToken SET #status = :s, #statusAt = :now, resumedAt = :now, resumedBy = :by',
        ConditionExpression: 'taskToken = :t',
        ExpressionAttributeNames: { '#status': 'status', '#statusAt': 'statusAt' },
        ExpressionAttributeValues: {
          ':t': token,
          ':s': stepStatus('wait_prev_command', check.result === -1 ? StepPhase.FAILED : StepPhase.FINISHED),
          ':now': now,
          ':by': resumedBy,
        },
      }),
    );
  } catch (err) {
    if (isConditionalCheckFailed(err)) return 'lost';
    throw err;
  }
  const outcome =
    check.result === -1
      ? await sendTaskFailure(sfn(), token, 'VersionConflict', check.reason ?? 'version conflict')
      : await sendTaskSuccess(sfn(), token, { resumedBy, dataVersion: check.dataVersion });
  log('info', 'waiting command resumed', { key, resumedBy, outcome, result: check.result });
  return outcome;
}

/**
 * Called by finish and mark_failed of version `version`: find the next version that still
 * has to run (skipping versions that already ended) and, if it is waiting (has a token)
 * and may now proceed, resume it. If it has no token yet it has not stored one: it will
 * re-check after storing it, so nothing is lost.
 */
export async function releaseSuccessor(pk: string, code: string, version: number, resumedBy: string): Promise<{ resumed?: number; outcome?: ClaimOutcome }> {
  for (let v = version + 1; v <= version + MAX_RELEASE_SCAN; v++) {
    const key = commandKeyOf(pk, code, v);
    let ended = false;
    for (let attempt = 0; attempt < 3 && !ended; attempt++) {
      const row = await getCommand(key);
      if (!row) return {};
      if (row.result === CommandResult.FAILED || row.result === CommandResult.COMPLETED) {
        ended = true; // this version already ended: look at the next one
        break;
      }
      if (!row.taskToken) return {};
      const check = await evaluateVersion(pk, code, v);
      if (check.result === 1) return {};
      const outcome = await claimAndResume(key, row.taskToken, check, resumedBy);
      if (outcome !== 'lost') return { resumed: v, outcome };
      // the token changed under us (a re-check stored a new one): read the row again
    }
    if (!ended) return {};
  }
  return {};
}
