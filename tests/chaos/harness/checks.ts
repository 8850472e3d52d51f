/**
 * What must hold after any chaos run, read from DynamoDB and from what the harness observed.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../../../core/dynamo';
import type { ChaosTables } from './chaos';

export interface Violation {
  check: string;
  message: string;
}

/** One call to a sync target: when it ran (end = returned, crashed or stopped by its timeout). */
export interface CallInterval {
  target: string;
  pk: string;
  sk: string;
  start: number;
  end?: number;
}

function versionOf(sk: string): number {
  return Number(sk.slice(sk.lastIndexOf('@') + 1));
}

export async function checkCommands(
  db: DynamoDBDocumentClient,
  tables: ChaosTables,
  entities: ReadonlyArray<{ pk: string; code: string }>,
  versionsPerEntity: number,
  calls: readonly CallInterval[],
  resultWrites: ReadonlyMap<string, readonly unknown[]>,
): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const e of entities) {
    const rows = await queryAll(db, {
      TableName: tables.commands,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': e.pk },
      ConsistentRead: true,
    });
    if (rows.length !== versionsPerEntity)
      out.push({ check: 'every version arrived', message: `${e.pk}: ${rows.length} of ${versionsPerEntity} rows` });
    for (const r of rows) {
      const id = `${e.pk} / ${String(r.sk)}`;
      if (r.result !== 'COMPLETED' && r.result !== 'FAILED')
        out.push({ check: 'every version has a result', message: `${id} has none (status ${String(r.status)})` });
      if (r.taskToken !== undefined)
        out.push({ check: 'no version still waiting', message: `${id} still holds a task token` });
      if (r.result === 'FAILED' && (typeof r.failedReason !== 'string' || r.failedReason.trim() === ''))
        out.push({ check: 'every FAILED has a reason', message: `${id} FAILED without failedReason` });
      const written = resultWrites.get(`${tables.commands}|${e.pk}|${String(r.sk)}`) ?? [];
      if (new Set(written.map(String)).size > 1)
        out.push({
          check: 'no result changed after it was set',
          message: `${id} was written ${written.map(String).join(' → ')}`,
        });
      if (written.length > 0 && r.result !== written[0])
        out.push({
          check: 'no result changed after it was set',
          message: `${id} is ${String(r.result)}, first set ${String(written[0])}`,
        });
    }
  }
  // no target called for version N+1 while a call for an earlier version of the same entity runs
  const byTarget = new Map<string, CallInterval[]>();
  for (const c of calls) {
    const k = `${c.target}|${c.pk}|${c.sk.slice(0, c.sk.lastIndexOf('@'))}`;
    byTarget.set(k, [...(byTarget.get(k) ?? []), c]);
  }
  for (const [k, list] of byTarget)
    for (const later of list)
      for (const earlier of list)
        if (versionOf(earlier.sk) < versionOf(later.sk) && (earlier.end === undefined || earlier.end > later.start))
          out.push({
            check: 'no target called for N+1 while a call for N runs',
            message: `${k}: ${later.sk} started ${later.start} while ${earlier.sk} ran ${earlier.start}–${earlier.end ?? 'never ended'}`,
          });
  return out;
}

export async function checkTasks(
  db: DynamoDBDocumentClient,
  tables: ChaosTables,
  pk: string,
  expectedTasks: number,
  subTasksPerTask: number,
): Promise<Violation[]> {
  const out: Violation[] = [];
  const rows = await queryAll(db, {
    TableName: tables.tasks,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': pk },
    ConsistentRead: true,
  });
  const parents = rows.filter((r) => r.type === 'TASK');
  if (parents.length !== expectedTasks)
    out.push({ check: 'every task arrived', message: `${parents.length} of ${expectedTasks} tasks` });
  for (const t of parents) {
    const subs = rows.filter((r) => r.type === 'SUB_TASK' && r.parentSk === t.sk);
    const id = String(t.sk);
    if (t.status !== 'COMPLETED' && t.status !== 'FAILED')
      out.push({ check: 'every task ends', message: `${id} is ${String(t.status)}` });
    for (const s of subs)
      if (s.status !== 'COMPLETED' && s.status !== 'FAILED')
        out.push({ check: 'every sub-task ends', message: `${String(s.sk)} is ${String(s.status)}` });
    const succeeded = subs.filter((s) => s.status === 'COMPLETED').length;
    const failed = subs.filter((s) => s.status === 'FAILED').length;
    if (subs.length !== subTasksPerTask)
      out.push({ check: 'every sub-task exists', message: `${id}: ${subs.length} sub-tasks` });
    if (Number(t.total) !== Number(t.succeeded) + Number(t.failed))
      out.push({
        check: 'total = succeeded + failed',
        message: `${id}: ${String(t.total)} ≠ ${String(t.succeeded)} + ${String(t.failed)}`,
      });
    if (Number(t.succeeded) !== succeeded || Number(t.failed) !== failed)
      out.push({
        check: 'counters count the sub-tasks',
        message: `${id}: counters ${String(t.succeeded)}/${String(t.failed)}, sub-tasks ${succeeded}/${failed}`,
      });
    if (t.status === 'COMPLETED' && failed > 0)
      out.push({ check: 'a task with a failed sub-task is FAILED', message: `${id} COMPLETED with ${failed} failed` });
  }
  return out;
}
