import {
  BatchGetCommand,
  BatchWriteCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { isTransientError } from './errors';
import type { Key } from './types';

export type Item = Record<string, unknown>;

export const BATCH_WRITE_LIMIT = 25;
const BATCH_GET_LIMIT = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff with full jitter: attempt 0 → up to base ms. */
export function backoffMs(attempt: number, baseMs = 50, capMs = 5000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(Math.random() * ceiling) + 1;
}

export interface RetryOptions {
  /** Attempts in all (the first one included). Default 6. */
  attempts?: number;
  /** Backoff base, doubled per attempt with full jitter. Default 100 ms. */
  baseDelayMs?: number;
  /** Longest pause between attempts. Default 5,000 ms. */
  maxDelayMs?: number;
  /** Called before each retry (logging). */
  onRetry?: (err: unknown, attempt: number) => void;
}

/**
 * Run `fn` again on a transient error (throttling, 5xx, transaction conflict, network: see
 * isTransientError) with exponential backoff and full jitter — on top of the SDK's own few
 * retries, so a burst of throttling does not fail a whole import. `fn` must be safe to run twice
 * (every import write is conditional or idempotent). Any other error, or the last transient
 * one, is thrown.
 */
export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isTransientError(err)) throw err;
      options.onRetry?.(err, attempt);
      await sleep(backoffMs(attempt - 1, options.baseDelayMs ?? 100, options.maxDelayMs ?? 5000));
    }
  }
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class UnprocessedItemsError extends Error {
  constructor(
    readonly table: string,
    readonly items: Item[],
  ) {
    super(`BatchWriteItem left ${items.length} item(s) unprocessed in ${table} after retries`);
    this.name = 'UnprocessedItemsError';
  }
}

export interface BatchWriteOptions {
  /** Retries of UnprocessedItems per chunk (with exponential backoff). Default 8. */
  maxRetries?: number;
  baseDelayMs?: number;
}

/**
 * Put every item with BatchWriteItem, 25 per call, retrying UnprocessedItems with
 * exponential backoff + jitter. Throws UnprocessedItemsError (listing them) if some items
 * are still unprocessed after the retries — nothing is dropped silently.
 */
export async function batchPutAll(
  client: DynamoDBDocumentClient,
  table: string,
  items: readonly Item[],
  options: BatchWriteOptions = {},
): Promise<{ calls: number; retries: number }> {
  const maxRetries = options.maxRetries ?? 8;
  let calls = 0;
  let retries = 0;
  for (const part of chunk(items, BATCH_WRITE_LIMIT)) {
    let pending = part.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > maxRetries) {
          throw new UnprocessedItemsError(
            table,
            pending.map((r) => r.PutRequest.Item),
          );
        }
        retries++;
        await sleep(backoffMs(attempt - 1, options.baseDelayMs ?? 50));
      }
      calls++;
      const res = await withRetries(() => client.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })));
      const left = res.UnprocessedItems?.[table] ?? [];
      pending = left
        .map((r) => r.PutRequest?.Item)
        .filter((i): i is Item => i !== undefined)
        .map((Item) => ({ PutRequest: { Item } }));
    }
  }
  return { calls, retries };
}

/** BatchGetItem for any number of keys (100 per call, UnprocessedKeys retried). Returns a map sk|pk → item. */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly Key[],
  options: { consistentRead?: boolean; projection?: string[]; maxRetries?: number } = {},
): Promise<Map<string, Item>> {
  const out = new Map<string, Item>();
  const names: Record<string, string> = {};
  let projection: string | undefined;
  if (options.projection) {
    const fields = Array.from(new Set(['pk', 'sk', ...options.projection]));
    projection = fields
      .map((f, i) => {
        names[`#p${i}`] = f;
        return `#p${i}`;
      })
      .join(', ');
  }
  const unique = Array.from(new Map(keys.map((k) => [`${k.pk}\u0000${k.sk}`, k])).values());
  for (const part of chunk(unique, BATCH_GET_LIMIT)) {
    let pending: Key[] = part;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > (options.maxRetries ?? 8))
          throw new Error(`BatchGetItem left ${pending.length} key(s) unprocessed in ${table}`);
        await sleep(backoffMs(attempt - 1));
      }
      const res = await withRetries(() =>
        client.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: pending.map((k) => ({ pk: k.pk, sk: k.sk })),
                ConsistentRead: options.consistentRead,
                ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: names } : {}),
              },
            },
          }),
        ),
      );
      for (const item of res.Responses?.[table] ?? []) out.set(`${item.pk}\u0000${item.sk}`, item);
      pending = (res.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
    }
  }
  return out;
}

export function keyId(key: Key): string {
  return `${key.pk}\u0000${key.sk}`;
}

/** Query every page. */
export async function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const res = await withRetries(() => client.send(new QueryCommand({ ...input, ExclusiveStartKey })));
    items.push(...((res.Items ?? []) as Item[]));
    ExclusiveStartKey = res.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (ExclusiveStartKey);
  return items;
}

/** Approximate DynamoDB item size in bytes (JSON length is a safe over-estimate for strings/maps). */
export function approxItemBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}
