/**
 * DynamoDB fault injection as SDK middleware on the real client the handlers use (no fake of
 * DynamoDB: every request that is let through reaches DynamoDB Local). Per request, the plan
 * decides one of:
 *  - `error-before`: the request is not sent; the caller gets InternalServerError;
 *  - `error-after`: the request is applied, then the caller gets InternalServerError (a lost
 *    response: the write happened, the caller cannot know);
 *  - `crash-before` / `crash-after`: the Lambda process dies before / after the request
 *    applied (see runtime.ts: nothing after it runs, the caller sees Lambda.Unknown).
 * Requests made outside an invocation (the harness's own) are never faulted. A dead
 * invocation's requests never return. Writes that set `result` on the observed table are
 * reported to `onResultWritten` once applied, so a test can prove a result never changed.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { currentInvocation, never } from './runtime';
import { Occurrences, prngFor } from './prng';

export type DynamoFault = 'none' | 'error-before' | 'error-after' | 'crash-before' | 'crash-after';

export interface DynamoFaultRates {
  errorBefore: number;
  errorAfter: number;
  crashBefore: number;
  crashAfter: number;
}

export interface DynamoRequest {
  command: string;
  table: string;
  key: string;
  write: boolean;
}

type Input = Record<string, unknown>;

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

function commandName(context: { commandName?: string }): string {
  return String(context.commandName ?? '').replace(/Command$/, '');
}

function describe(command: string, input: Input): DynamoRequest {
  const table =
    typeof input.TableName === 'string' ? input.TableName : (Object.keys(input.RequestItems ?? {})[0] ?? '');
  const key = input.Key
    ? JSON.stringify(input.Key)
    : input.Item
      ? JSON.stringify([(input.Item as Input).pk, (input.Item as Input).sk])
      : '';
  return { command, table, key, write: WRITES.has(command) };
}

/** The `result` values a write sets, per key (PutItem items, UpdateItem `SET <#result> = :v`, transactions). */
export function resultWrites(
  command: string,
  input: Input,
  attribute = 'result',
): Array<{ key: string; value: unknown }> {
  const out: Array<{ key: string; value: unknown }> = [];
  const fromPut = (table: unknown, item: Input | undefined) => {
    if (item && item[attribute] !== undefined)
      out.push({ key: `${String(table)}|${String(item.pk)}|${String(item.sk)}`, value: item[attribute] });
  };
  const fromUpdate = (u: Input) => {
    const names = (u.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (u.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
    const expr = String(u.UpdateExpression ?? '');
    const refs = [
      attribute,
      ...Object.entries(names)
        .filter(([, n]) => n === attribute)
        .map(([ref]) => ref),
    ];
    for (const ref of refs) {
      const m = new RegExp(`(?:^|[\\s,])${ref.replace(/[#$]/g, '\\$&')}\\s*=\\s*(:[A-Za-z0-9_]+)`).exec(expr);
      const k = u.Key as Input | undefined;
      if (m && k) out.push({ key: `${String(u.TableName)}|${String(k.pk)}|${String(k.sk)}`, value: values[m[1]] });
    }
  };
  if (command === 'PutItem') fromPut(input.TableName, input.Item as Input);
  if (command === 'UpdateItem') fromUpdate(input);
  if (command === 'TransactWriteItems')
    for (const t of (input.TransactItems ?? []) as Input[]) {
      if (t.Put) fromPut((t.Put as Input).TableName, (t.Put as Input).Item as Input);
      if (t.Update) fromUpdate(t.Update as Input);
    }
  return out;
}

function serverError(when: string): Error {
  return Object.assign(new Error(`injected DynamoDB fault (${when})`), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
}

export interface DynamoFaultOptions {
  seed: number;
  rates: DynamoFaultRates;
  /** Only requests to these tables are faulted. */
  tables: readonly string[];
  /** Takes what differs between runs (a unique key prefix) out of a request's description. */
  stable?: (text: string) => string;
  onResultWritten?: (write: { key: string; value: unknown }) => void;
}

export class DynamoFaults {
  private readonly occurrences = new Occurrences();
  enabled = true;
  readonly counts: Record<DynamoFault, number> = {
    none: 0,
    'error-before': 0,
    'error-after': 0,
    'crash-before': 0,
    'crash-after': 0,
  };

  constructor(private readonly options: DynamoFaultOptions) {}

  /** The fault for the n-th occurrence of this exact request: derived from the seed, not from timing. */
  decide(req: DynamoRequest): DynamoFault {
    if (!this.enabled || !this.options.tables.includes(req.table)) return 'none';
    const id = (this.options.stable ?? ((t: string) => t))(`${req.command}|${req.table}|${req.key}`);
    const p = prngFor(this.options.seed, 'dynamodb', id, this.occurrences.next(id)).float();
    const r = this.options.rates;
    const before = r.errorBefore + r.crashBefore;
    if (p < r.errorBefore) return 'error-before';
    if (p < before) return 'crash-before';
    if (!req.write) return 'none';
    if (p < before + r.errorAfter) return 'error-after';
    if (p < before + r.errorAfter + r.crashAfter) return 'crash-after';
    return 'none';
  }

  /** Adds the injecting middleware to a (document) client's stack, outside the SDK's own retries. */
  install(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const inv = currentInvocation();
        const command = commandName(context as { commandName?: string });
        const input = args.input as Input;
        if (!inv) {
          const out = await next(args);
          for (const w of resultWrites(command, input)) this.options.onResultWritten?.(w);
          return out;
        }
        if (inv.dead) return never();
        const fault = this.decide(describe(command, input));
        this.counts[fault]++;
        if (fault === 'error-before') throw serverError('before the request');
        if (fault === 'crash-before') {
          inv.crash(`before ${command}`);
          return never();
        }
        const out = await next(args);
        for (const w of resultWrites(command, input)) this.options.onResultWritten?.(w);
        if (inv.dead) return never();
        if (fault === 'error-after') throw serverError('after the request applied');
        if (fault === 'crash-after') {
          inv.crash(`after ${command} applied`);
          return never();
        }
        return out;
      },
      { step: 'initialize', name: 'chaosDynamoFaults', priority: 'high' },
    );
  }
}
