/**
 * The AWS limits every write respects (README.md "What bad input gets", docs/architecture.md
 * "Data model"), and the checks that apply them before anything is written: key sizes,
 * DynamoDB item sizes, the budget of a command row.
 */
import { NamedError } from './errors';
import { subTaskSk } from './keys';
import { ImportRowType } from './status';

/** DynamoDB's item size limit, attribute names included. */
export const DYNAMODB_ITEM_MAX_BYTES = 400 * 1024;
/** DynamoDB partition key limit (UTF-8 bytes). */
export const PARTITION_KEY_MAX_BYTES = 2048;
/** DynamoDB sort key limit (UTF-8 bytes). */
export const SORT_KEY_MAX_BYTES = 1024;
/** S3 object key limit (UTF-8 bytes). */
export const S3_KEY_MAX_BYTES = 1024;

/** The longest `@<version>` suffix a command sort key can get: `@` + the digits of the largest safe integer. */
export const MAX_VERSION_SUFFIX_BYTES = 1 + String(Number.MAX_SAFE_INTEGER).length;

/**
 * Bytes of a command row kept free for the bookkeeping the command workflow writes after the
 * row was published: `status`/`statusAt`, `result`, `taskToken` (up to 2,048 characters) with
 * `tokenStoredAt`/`waitingSince`, `resumedAt`/`resumedBy`, `syncStatus` (one entry per sync
 * target), `failedReason`/`lastError` (bounded by the command handlers to fit in here), `ttl`
 * and `supersededBy`. The command handlers bound every such field so that together they stay
 * below this reserve.
 */
export const COMMAND_BOOKKEEPING_RESERVE_BYTES = 64 * 1024;

/**
 * The most `publishCommandWith` writes for one command row (DynamoDB's item size, attribute
 * names included, as {@link dynamoItemBytes} counts it): the item limit less the bookkeeping
 * reserve, so every later status, result, error and token write fits.
 */
export const COMMAND_ROW_MAX_BYTES = DYNAMODB_ITEM_MAX_BYTES - COMMAND_BOOKKEEPING_RESERVE_BYTES;

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
export const SUB_TASK_ROW_MAX_BYTES = DYNAMODB_ITEM_MAX_BYTES - 96 * 1024;

/** Longest `failedReason`, `lastError` or `failedAfterCompletion` a command handler writes (characters). */
export const COMMAND_REASON_MAX_CHARS = 1000;
/** Longest reason the last-resort failure record carries, for a row with almost no room left. */
export const COMMAND_MINIMAL_REASON_MAX_CHARS = 120;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** A key or item that DynamoDB would refuse: refused up front with what is wrong. */
export class LimitExceededError extends NamedError {
  constructor(message: string) {
    super('LimitExceeded', message);
  }
}

function keyPartProblem(what: string, value: string, limit: number, suffix = 0, hint = ''): string | undefined {
  const bytes = utf8Bytes(value) + suffix;
  if (bytes <= limit) return undefined;
  return `${what} is ${bytes.toLocaleString('en-US')} bytes${hint}, over DynamoDB's ${limit.toLocaleString('en-US')}-byte limit`;
}

/**
 * Problems of a command's key: `pk` at most 2,048 bytes, `sk = <code>@<version>` at most 1,024
 * bytes (UTF-8). Without an explicit version the check assumes the longest version the row could
 * get (`@` + 16 digits), so a code that passes never fails later when the version is assigned.
 */
export function commandKeyProblems(pk: string, code: string, version?: number): string[] {
  const problems: string[] = [];
  const p = keyPartProblem('pk', pk, PARTITION_KEY_MAX_BYTES);
  if (p) problems.push(p);
  const suffix = version === undefined ? MAX_VERSION_SUFFIX_BYTES : utf8Bytes(`@${version}`);
  const s = keyPartProblem(
    'sort key <code>@<version>',
    code,
    SORT_KEY_MAX_BYTES,
    suffix,
    version === undefined ? ` with the longest version suffix (${MAX_VERSION_SUFFIX_BYTES} bytes)` : '',
  );
  if (s) problems.push(s);
  return problems;
}

/** Problems of a task's key, counting the sub-task sort keys `<sk>#SUB#<index>` derived from it. */
export function taskKeyProblems(pk: string, sk: string, subTasks: number): string[] {
  const problems: string[] = [];
  const p = keyPartProblem('pk', pk, PARTITION_KEY_MAX_BYTES);
  if (p) problems.push(p);
  const longest = subTaskSk(sk, Math.max(0, subTasks - 1));
  const s = keyPartProblem('sub-task sort key <sk>#SUB#<index>', longest, SORT_KEY_MAX_BYTES);
  if (s) problems.push(s);
  return problems;
}

/** The longest prefix of the per-job partitions `<TYPE>#<jobPk>#<jobSk>` (rows, errors, claims, batches). */
const JOB_PARTITION_PREFIX_BYTES = Math.max(...Object.values(ImportRowType).map((t) => utf8Bytes(`${t}#`))) + 1;
/** A ZIP job's child CSV jobs have the sort key `CSV_JOB#<jobId>-<12 hex>`. */
const ZIP_CHILD_SUFFIX_BYTES = 13;

/**
 * Problems of an import job's key: the job row itself, the per-job partitions
 * `<TYPE>#<pk>#<sk>` every row, error, claim and batch marker lives in, and (ZIP) the child CSV
 * jobs `CSV_JOB#<jobId>-<hash>` and their partitions.
 */
export function importJobKeyProblems(pk: string, sk: string, zip = false): string[] {
  const problems: string[] = [];
  const longestSk = zip ? utf8Bytes(sk) + ZIP_CHILD_SUFFIX_BYTES : utf8Bytes(sk);
  const p = keyPartProblem('pk', pk, PARTITION_KEY_MAX_BYTES);
  if (p) problems.push(p);
  if (longestSk > SORT_KEY_MAX_BYTES)
    problems.push(
      `job sort key${zip ? ' of its child CSV jobs' : ''} is ${longestSk.toLocaleString('en-US')} bytes, over DynamoDB's 1,024-byte limit`,
    );
  const partition = JOB_PARTITION_PREFIX_BYTES + utf8Bytes(pk) + longestSk;
  if (partition > PARTITION_KEY_MAX_BYTES)
    problems.push(
      `the job's row partitions <TYPE>#<pk>#<sk> would be ${partition.toLocaleString('en-US')} bytes, over DynamoDB's 2,048-byte limit`,
    );
  return problems;
}

/** Throw LimitExceededError naming `what` when there are problems. */
export function assertNoProblems(what: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new LimitExceededError(`${what}: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------- item size

function numberBytes(n: number): number {
  // DynamoDB stores numbers as up to 38 significant digits, about one byte per two digits
  // plus one, and one more for a negative number; at most 21 bytes.
  const digits = String(Math.abs(n)).replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
  return Math.min(21, Math.ceil(Math.max(1, digits) / 2) + 1 + (n < 0 ? 1 : 0));
}

function valueBytes(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(Number(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let n = 3;
    for (const v of value) n += valueBytes(v) + 1;
    return n;
  }
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + valueBytes(v) + 1, 3);
  if (typeof value === 'object') {
    let n = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      n += utf8Bytes(k) + valueBytes(v) + 1;
    }
    return n;
  }
  return utf8Bytes(JSON.stringify(value) ?? '');
}

/**
 * The size DynamoDB counts for an item, as documented ("Item sizes and formats"): attribute
 * names and string values in UTF-8 bytes, numbers about one byte per two significant digits plus
 * one (at most 21), binary by length, booleans and nulls one byte, lists and maps three bytes
 * plus one per element plus their contents. Rounded up where the documentation is approximate,
 * so an item this function accepts is accepted by DynamoDB.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue;
    n += utf8Bytes(k) + valueBytes(v);
  }
  return n;
}

// ---------------------------------------------------------------- ZIP imports

/** A Standard execution's history holds at most this many events. */
export const STANDARD_HISTORY_MAX_EVENTS = 25_000;
/**
 * History events one CSV file adds to the ZIP machine: its inline Map iteration is
 * MapIterationStarted, TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted,
 * TaskSucceeded|TaskFailed|TaskTimedOut, TaskStateExited, MapIterationSucceeded|Failed (8), and
 * each of the up to 3 retries of a transient Lambda error adds TaskScheduled, TaskStarted,
 * TaskFailed (3 × 3).
 */
export const ZIP_HISTORY_EVENTS_PER_FILE = 8 + 3 * 3;
/**
 * Events outside the per-file loop, with room to spare: ExecutionStarted, `unzip` and
 * `finalize_zip_job` with their retries (2 × 14), the Map's own entered/started/ended/exited
 * events, the Succeed state and ExecutionSucceeded come to about 40.
 */
export const ZIP_HISTORY_FIXED_EVENTS = 100;
/** The most CSV files one ZIP job may import so its execution stays inside the history limit: 1,464. */
export const ZIP_MAX_FILES_HISTORY_BOUND = Math.floor(
  (STANDARD_HISTORY_MAX_EVENTS - ZIP_HISTORY_FIXED_EVENTS) / ZIP_HISTORY_EVENTS_PER_FILE,
);

/** Bounds of a ZIP archive, checked on its central directory before anything is written and again while streaming. */
export interface ZipBounds {
  /** Entries of any kind in the archive. */
  maxEntries: number;
  /** CSV files imported (at most ZIP_MAX_FILES_HISTORY_BOUND). */
  maxFiles: number;
  /** Uncompressed bytes of the CSV files together. */
  maxUncompressedBytes: number;
  /** Uncompressed ÷ compressed size of any one CSV entry. */
  maxCompressionRatio: number;
}

export const DEFAULT_ZIP_BOUNDS: ZipBounds = {
  maxEntries: 10_000,
  maxFiles: 1_000,
  maxUncompressedBytes: 1024 ** 3,
  maxCompressionRatio: 100,
};

// ---------------------------------------------------------------- retention

/** Days import bookkeeping items (IMPORT_ROW, IMPORT_ROW_VOID, IMPORT_ERROR, IMPORT_BATCH) are kept by default. */
export const DEFAULT_IMPORT_RECORD_RETENTION_DAYS = 30;
/**
 * TimeoutSeconds of the EXPRESS command machine: Step Functions stops an EXPRESS execution
 * after 5 minutes at most. No sync call of a run can start later than this after the run began
 * (the sync lease, docs/architecture.md).
 */
export const COMMAND_RUN_TIMEOUT_SECONDS = 300;
/**
 * What a run keeps for its other steps (check, TTL, history, transform, finish, retries):
 * a sync target whose function may take longer than the rest of the run cannot be on the
 * EXPRESS path.
 */
export const COMMAND_RUN_STEPS_RESERVE_SECONDS = 60;
/** Longest function timeout a sync target may have on the EXPRESS path (longer ones: `commandPath` STANDARD). */
export const EXPRESS_SYNC_TARGET_MAX_TIMEOUT_SECONDS = COMMAND_RUN_TIMEOUT_SECONDS - COMMAND_RUN_STEPS_RESERVE_SECONDS;
