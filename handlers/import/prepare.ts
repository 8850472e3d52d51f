import { createHash } from 'node:crypto';
import { commandKeyProblems } from '../../core/limits';
import { truncate } from '../../core/errors';
import type { CsvInvalidRow, CsvRow } from './csv';
import { dedupeKey, describeKey, type CommandDraft, type ImportSchema } from './schema';

/**
 * A record decided: the command it becomes, or why it fails. DIRECT imports write these
 * straight away; csv_loader stages them (one JSON line each) for the Distributed Map, whose
 * batches only write them — so validation, duplicate detection and line numbers are the same
 * in both modes.
 */
export interface PreparedRow {
  /** 0-based record index after the header: the row's identity within the job. */
  index: number;
  /** File line the record starts on. */
  line: number;
  command?: CommandDraft;
  error?: string;
  /** The record as written (failed rows only), at most 2,000 characters. */
  raw?: string;
}

/**
 * The largest staged row (its JSON line): the Distributed Map batches rows up to 120 KiB
 * (MaxInputBytesPerBatch), so one row must stay below it. A CSV row is at most 64 KiB; its
 * command, with attribute names and JSON escaping, is refused past this bound (in both modes).
 */
export const PREPARED_ROW_MAX_BYTES = 96 * 1024;

/**
 * First line wins: remembers the first line of every target key (pk, code, version) seen in
 * a file. Keys are kept as 96-bit SHA-256 prefixes in an open-addressing table of typed arrays
 * (16 bytes a slot, at most half full): about 32 bytes per distinct key, so a 1M-row file needs
 * about 32 MB. (Two distinct keys sharing 96 bits is as likely as 1 in 10^16 for 5M rows.)
 */
export class DuplicateTracker {
  private words = new Uint32Array(0);
  private lines = new Int32Array(0);
  private size = 0;

  constructor(initialCapacity = 1024) {
    this.allocate(initialCapacity);
  }

  /** The first line this key was seen on, or undefined (and `line` is remembered as its first). */
  firstLine(key: string, line: number): number | undefined {
    const h = createHash('sha256').update(key).digest();
    const a = h.readUInt32BE(0);
    const b = h.readUInt32BE(4);
    const c = h.readUInt32BE(8) | 0;
    const found = this.find(a, b, c);
    if (this.lines[found] !== 0) return this.lines[found];
    if ((this.size + 1) * 2 > this.lines.length) {
      this.grow();
      return this.firstLine(key, line);
    }
    this.put(found, a, b, c, line);
    this.size++;
    return undefined;
  }

  private allocate(capacity: number): void {
    this.words = new Uint32Array(capacity * 3);
    this.lines = new Int32Array(capacity);
  }

  private find(a: number, b: number, c: number): number {
    const mask = this.lines.length - 1;
    for (let slot = (a ^ c) & mask; ; slot = (slot + 1) & mask) {
      if (this.lines[slot] === 0) return slot;
      const w = slot * 3;
      if (this.words[w] === a && this.words[w + 1] === b && (this.words[w + 2] | 0) === c) return slot;
    }
  }

  private put(slot: number, a: number, b: number, c: number, line: number): void {
    const w = slot * 3;
    this.words[w] = a;
    this.words[w + 1] = b;
    this.words[w + 2] = c;
    // lines are 1-based, so 0 marks an empty slot
    this.lines[slot] = line;
  }

  private grow(): void {
    const words = this.words;
    const lines = this.lines;
    this.allocate(lines.length * 2);
    for (let slot = 0; slot < lines.length; slot++) {
      if (lines[slot] === 0) continue;
      const w = slot * 3;
      const [a, b, c] = [words[w], words[w + 1], words[w + 2] | 0];
      this.put(this.find(a, b, c), a, b, c, lines[slot]);
    }
  }
}

/** Decide one record: parse problems, column count, the schema's conversion, key sizes, row size, duplicates. */
export function prepareRow(
  record: CsvRow | CsvInvalidRow,
  header: readonly string[],
  schema: ImportSchema,
  seen: DuplicateTracker,
): PreparedRow {
  const base = { index: record.index, line: record.line };
  if (record.kind === 'row-invalid') return { ...base, error: record.reason, raw: record.raw };
  const failed = (error: string): PreparedRow => ({
    ...base,
    error,
    raw: truncate(JSON.stringify(record.fields), 2000),
  });
  if (record.fields.length !== header.length)
    return failed(`wrong column count: expected ${header.length}, got ${record.fields.length}`);
  const row = Object.fromEntries(header.map((name, i) => [name, record.fields[i]]));
  const result = schema.toCommand(row, header);
  if (!result.command) return failed(result.errors.join('; ') || 'invalid row');
  const command = result.command;
  // Whatever the schema (custom ones included): a key DynamoDB would refuse is this row's
  // failure, not a command that dies in the stream router after the row was counted as imported.
  const keyProblems = commandKeyProblems(command.pk, command.code, command.version);
  if (keyProblems.length > 0) return failed(`key too long: ${keyProblems.join('; ')}`);
  const bytes = Buffer.byteLength(JSON.stringify({ ...base, command }), 'utf8');
  if (bytes > PREPARED_ROW_MAX_BYTES)
    return failed(
      `row too large: its command takes ${bytes} bytes, over the ${PREPARED_ROW_MAX_BYTES}-byte limit of a row`,
    );
  const first = seen.firstLine(dedupeKey(command), record.line);
  if (first !== undefined) return failed(`duplicate key (${describeKey(command)}) already on line ${first}`);
  return { ...base, command };
}
