import { createHash } from 'node:crypto';

/** Command row sort key: `<code>@<version>` (docs/architecture.md, data model). */
export function commandSk(code: string, version: number): string {
  if (!code) throw new Error('command code must not be empty');
  if (!Number.isInteger(version) || version < 1)
    throw new Error(`command version must be a positive integer, got ${version}`);
  return `${code}@${version}`;
}

/** Split `<code>@<version>` (the code itself may contain '@': the last one separates). */
export function parseCommandSk(sk: string): { code: string; version: number } {
  const at = sk.lastIndexOf('@');
  const version = at > 0 ? Number(sk.slice(at + 1)) : NaN;
  if (at <= 0 || !Number.isInteger(version) || version < 1 || String(version) !== sk.slice(at + 1)) {
    throw new Error(`not a command sort key "<code>@<version>": "${sk}"`);
  }
  return { code: sk.slice(0, at), version };
}

export function isCommandSk(sk: string): boolean {
  try {
    parseCommandSk(sk);
    return true;
  } catch {
    return false;
  }
}

/** Data row key: `pk`, `sk = <code>`. */
export function dataKey(pk: string, code: string): { pk: string; sk: string } {
  return { pk, sk: code };
}

/** Sub-task sort key: `<parentSk>#SUB#<index, 6 digits>` (same pk as the parent). */
export function subTaskSk(parentSk: string, index: number): string {
  return `${parentSk}#SUB#${String(index).padStart(6, '0')}`;
}
export function subTaskPrefix(parentSk: string): string {
  return `${parentSk}#SUB#`;
}

/** Zero-padded record index used as the sort key of per-row import items. */
export function rowIndexSk(index: number): string {
  return String(index).padStart(10, '0');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

const NAME_MAX = 80;
/** 20 hex chars = 80 bits: collisions between distinct keys are not a practical concern. */
const NAME_HASH_CHARS = 20;

/**
 * A bounded, unambiguous name for a tuple of strings: a readable prefix (the parts joined with
 * '-', every character outside [A-Za-z0-9_-] replaced, truncated) plus a hash of an unambiguous
 * encoding of the exact parts (JSON array). At most `max` characters of [A-Za-z0-9_-]: never
 * empty, never '.' or '..', never a '/'.
 */
function boundedName(parts: Array<string | number>, max: number): string {
  const strings = parts.map(String);
  const hash = sha256Hex(JSON.stringify(strings)).slice(0, NAME_HASH_CHARS);
  const readable = strings
    .join('-')
    .replace(/[^A-Za-z0-9_-]+/g, '_')
    .slice(0, max - NAME_HASH_CHARS - 1);
  return readable ? `${readable}-${hash}` : hash;
}

/**
 * Deterministic Step Functions execution name (≤ 80 chars, only [A-Za-z0-9_-], which is
 * also safe for CloudWatch Logs) derived from table/pk/sk(/version). A redelivered record
 * produces the same name, so StartExecution cannot start it twice. The readable prefix
 * (parts joined with '-', sanitised, truncated) is ambiguous on its own — ('T#a-b', 'c@1')
 * and ('T#a', 'b-c@1') read the same — so a hash of an unambiguous encoding of the parts
 * (JSON array) is always appended: distinct keys never share a name, and a second start
 * never hits ExecutionAlreadyExists for a different version or task.
 */
export function executionName(...parts: Array<string | number>): string {
  return boundedName(parts, NAME_MAX);
}

/**
 * One S3 key segment for an identity (e.g. a job's pk and sk): derived from every part, at most
 * 80 characters of [A-Za-z0-9_-] (so never '', '.', '..' or containing '/'), and distinct for
 * distinct identities. Object locations built from it cannot collide across tenants or
 * escape their prefix, and stay well inside S3's 1,024-byte key limit.
 */
export function objectSegment(...parts: Array<string | number>): string {
  return boundedName(parts, NAME_MAX);
}

/** Where the CSV files of a ZIP job are unzipped to: `<prefix><segment of pk and sk>/`. */
export function jobObjectPrefix(prefix: string, job: { pk: string; sk: string }): string {
  return `${prefix}${objectSegment(job.pk, job.sk)}/`;
}

/**
 * Why a client-chosen import job id is refused: it must be 1 or more of [A-Za-z0-9_.:-] and not
 * only dots (`.` and `..` read as path segments in too many tools).
 */
export function jobIdProblem(jobId: string): string | undefined {
  if (!/^[A-Za-z0-9_.:-]+$/.test(jobId)) return 'jobId may only contain letters, digits and _ . : - (and not be empty)';
  if (/^\.+$/.test(jobId)) return 'jobId must not consist of dots only';
  return undefined;
}
