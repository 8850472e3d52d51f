/**
 * Service limits every write respects (DESIGN.md §5) and the budgets derived from them.
 * One definition for the client, the stream router and the handlers.
 */

/** DynamoDB's item size limit: 400 KB, attribute names included. */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;
/** DynamoDB's partition and sort key limits (UTF-8 bytes). */
export const DYNAMODB_MAX_PARTITION_KEY_BYTES = 2048;
export const DYNAMODB_MAX_SORT_KEY_BYTES = 1024;

/**
 * Room a command row keeps free for the workflow's own bookkeeping: step status, result,
 * failure reason, task token, per-target outcomes, TTL. Every attribute the command handlers
 * add is bounded (below), and their sum stays under this, so a row written within
 * {@link COMMAND_ROW_MAX_BYTES} can always record how its version ended.
 */
export const COMMAND_BOOKKEEPING_RESERVE_BYTES = 16 * 1024;
/** Largest command row (as written by the client or the router) the command workflow accepts. */
export const COMMAND_ROW_MAX_BYTES = DYNAMODB_MAX_ITEM_BYTES - COMMAND_BOOKKEEPING_RESERVE_BYTES;

/**
 * Most sync targets a command machine may have: each adds an entry to `syncStatus` on every
 * command row (name ≤ 75 characters), which the bookkeeping reserve has to hold.
 */
export const MAX_SYNC_TARGETS = 40;

/**
 * Largest sub-task row the task workflow creates: the rest of the item is kept for what its
 * run adds (a result up to 64 KiB inline — larger ones go to S3 —, an error of up to 4,000
 * characters, status and times). A task with a larger item fails up front with the reason.
 */
export const SUB_TASK_ROW_MAX_BYTES = DYNAMODB_MAX_ITEM_BYTES - 96 * 1024;

/** Longest `failedReason`, `lastError` or `failedAfterCompletion` a command handler writes (characters). */
export const COMMAND_REASON_MAX_CHARS = 1000;
/** Longest reason the last-resort failure record carries, for a row with almost no room left. */
export const COMMAND_MINIMAL_REASON_MAX_CHARS = 120;

function numberBytes(n: number): number {
  // DynamoDB: about one byte per two significant digits plus one; at most 21 bytes.
  const digits = String(Math.abs(n)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.min(21, Math.ceil(Math.max(1, digits.length) / 2) + 1 + (n < 0 ? 1 : 0));
}

function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'bigint') return numberBytes(Number(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let total = 0;
    for (const v of value as Set<unknown>) total += valueBytes(v);
    return total;
  }
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 3);
  if (typeof value === 'object') {
    let total = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      total += 1 + Buffer.byteLength(k, 'utf8') + valueBytes(v);
    }
    return total;
  }
  return 8; // symbol or function: not stored by DynamoDB; counted generously
}

/**
 * The size DynamoDB counts for an item (attribute names + values, as documented in
 * "Item sizes and formats"): exact for strings, binary and booleans, an upper bound for
 * numbers, maps and lists. Undefined attributes are not written, so not counted.
 */
export function itemBytes(item: Record<string, unknown>): number {
  let total = 0;
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue;
    total += Buffer.byteLength(k, 'utf8') + valueBytes(v);
  }
  return total;
}
