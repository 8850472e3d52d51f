import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

/**
 * The CSV reader both import modes use (DIRECT reads the upload with it, csv_loader stages the
 * rows it reads for the Distributed Map), so a file means the same in both.
 *
 * Grammar: RFC 4180 with any line ending. A record ends at CRLF, LF or CR — each file may mix
 * them, and none of them is kept in a value (a line break inside a quoted field is kept as
 * written). Fields are separated by `,`; a field that starts with `"` is quoted, `""` inside it
 * is one `"`. An optional UTF-8 byte order mark is skipped; empty lines are skipped (they count
 * as lines). The file must be UTF-8.
 *
 * Nothing is altered silently: a record that breaks a rule is reported as an invalid record
 * with its line, the byte offset of the problem and the reason, and reading goes on —
 * - a byte sequence that is not UTF-8 (never replaced by U+FFFD);
 * - a quote inside an unquoted field, or anything but `,` or a line end after a closing quote:
 *   the rest of that physical line is skipped;
 * - a quote that is never closed (at the end of the file, or not within CSV_MAX_ROW_BYTES):
 *   the record is invalid up to the end of the quote's line, and reading resumes on the next
 *   line, so the rows after a stray opening quote are not swallowed into one value;
 * - a record longer than CSV_MAX_ROW_BYTES.
 */

/** The longest record (raw bytes, line ending excluded) a CSV import accepts. */
export const CSV_MAX_ROW_BYTES = 64 * 1024;
/** Raw text kept with an invalid record for its error item. */
const RAW_KEPT_BYTES = 2000;

const COMMA = 0x2c;
const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface CsvHeader {
  kind: 'header';
  fields: string[];
  line: number;
  /** Byte offset just past the record (its line ending included). */
  end: number;
  /** The line the record ends on (a quoted value may span lines). */
  lastLine: number;
}
export interface CsvInvalidHeader {
  kind: 'header-invalid';
  reason: string;
  line: number;
  end: number;
  lastLine: number;
}
export interface CsvRow {
  kind: 'row';
  /** 0-based index among the records after the header (invalid ones included). */
  index: number;
  /** File line the record starts on (1-based). */
  line: number;
  end: number;
  lastLine: number;
  fields: string[];
}
export interface CsvInvalidRow {
  kind: 'row-invalid';
  index: number;
  line: number;
  end: number;
  lastLine: number;
  reason: string;
  /** The start of the record as written (at most 2,000 bytes, invalid UTF-8 shown as U+FFFD). */
  raw: string;
}
export type CsvItem = CsvHeader | CsvInvalidHeader | CsvRow | CsvInvalidRow;

type State = 'field' | 'unquoted' | 'quoted' | 'closing' | 'skip';

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
export function firstInvalidUtf8(buf: Buffer): number {
  let i = 0;
  while (i < buf.length) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // continuation bytes and the smallest code point each lead byte may encode
    const [n, min] =
      b >= 0xc2 && b <= 0xdf
        ? [1, 0x80]
        : b >= 0xe0 && b <= 0xef
          ? [2, 0x800]
          : b >= 0xf0 && b <= 0xf4
            ? [3, 0x10000]
            : [0, 0];
    if (n === 0) return i;
    if (i + n >= buf.length) return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = buf[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** A push parser over bytes: feed chunks, get the header and records as they complete. */
export class CsvParser {
  private offset = 0;
  private line = 1;
  /** The previous byte was a CR: a LF now is the second half of a CRLF, not a line of its own. */
  private afterCR = false;
  /** The previous byte ended a line (CR or LF). */
  private prevWasLineEnd = false;
  private bom: Buffer | undefined = Buffer.alloc(0);
  private state: State = 'field';
  private index = 0;
  private headerSeen = false;
  private out: CsvItem[] = [];

  // the record being read
  private recOpen = false;
  private recStart = 0;
  private recLine = 1;
  private rawParts: Buffer[] = [];
  /** Bytes in rawParts. */
  private rawKept = 0;
  private rawLen = 0;
  /** Index in the current chunk where the record's raw bytes continue; -1: not collecting. */
  private rawFrom = -1;
  private fields: Buffer[][] = [];
  private field: Buffer[] = [];
  /** Index in the current chunk where the field's value continues; -1: none pending. */
  private segStart = -1;
  private quoteLine = 0;
  private quoteOffset = 0;
  private problem = '';

  push(chunk: Buffer): CsvItem[] {
    let data = chunk;
    if (this.bom !== undefined) {
      const head = Buffer.concat([this.bom, data]);
      if (head.length < BOM.length && BOM.subarray(0, head.length).equals(head)) {
        this.bom = head;
        return [];
      }
      this.bom = undefined;
      data = head;
      if (data.subarray(0, BOM.length).equals(BOM)) {
        data = data.subarray(BOM.length);
        this.offset = BOM.length;
      }
    }
    this.run(data);
    return this.take();
  }

  end(): CsvItem[] {
    if (this.bom !== undefined) {
      const pending = this.bom;
      this.bom = undefined;
      if (pending.length > 0) this.run(pending);
    }
    // a quote still open at the end of the file: resume on the line after the quote's
    while (this.state === 'quoted') {
      const replay = this.abandonQuote('is never closed');
      if (!replay) {
        this.fail(`the quote opened at line ${this.quoteLine}, byte offset ${this.quoteOffset} is never closed`);
        break;
      }
      this.run(replay);
    }
    if (this.state === 'skip') this.finishSkipped();
    else if (this.recOpen) {
      this.fields.push(this.field);
      this.endRecord(this.offset);
    }
    return this.take();
  }

  private take(): CsvItem[] {
    const items = this.out;
    this.out = [];
    return items;
  }

  /** Process bytes; an abandoned quote replays the record's tail before the rest. */
  private run(data: Buffer): void {
    const queue: Buffer[] = [data];
    while (queue.length > 0) {
      const buf = queue.shift()!;
      const rewind = this.scan(buf);
      if (rewind) queue.unshift(rewind.replay, buf.subarray(rewind.resumeAt));
    }
  }

  private keepRaw(buf: Buffer, upTo: number): void {
    // the rest of a line being skipped is kept only for the error item (RAW_KEPT_BYTES)
    const end = this.state === 'skip' ? Math.min(upTo, this.rawFrom + RAW_KEPT_BYTES - this.rawKept) : upTo;
    if (this.rawFrom >= 0 && end > this.rawFrom) {
      this.rawParts.push(buf.subarray(this.rawFrom, end));
      this.rawKept += end - this.rawFrom;
    }
    this.rawFrom = -1;
  }

  private scan(buf: Buffer): { replay: Buffer; resumeAt: number } | undefined {
    const inRecord = this.recOpen && this.state !== 'skip';
    this.rawFrom = this.recOpen ? 0 : -1;
    this.segStart = inRecord && (this.state === 'unquoted' || this.state === 'quoted') ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i];
      const at = this.offset++;
      const lineEnd = (b === CR || b === LF) && !(b === LF && this.afterCR);
      const secondHalf = b === LF && this.afterCR;
      this.afterCR = b === CR;
      this.prevWasLineEnd = b === CR || b === LF;
      if (this.state === 'skip') {
        if (lineEnd) {
          this.keepRaw(buf, i);
          this.line++;
          this.finishSkipped();
        }
        continue;
      }
      if (!this.recOpen) {
        if (secondHalf || lineEnd) {
          if (lineEnd) this.line++; // an empty line
          continue;
        }
        this.recOpen = true;
        this.recStart = at;
        this.recLine = this.line;
        this.rawFrom = i;
        this.rawLen = 0;
      }
      if (!lineEnd && !secondHalf && ++this.rawLen > CSV_MAX_ROW_BYTES) {
        this.keepRaw(buf, i + 1);
        if (this.state === 'quoted') {
          const replay = this.abandonQuote(`is not closed within ${CSV_MAX_ROW_BYTES} bytes`);
          if (replay) return { replay, resumeAt: i + 1 };
        }
        this.fail(`the row is longer than ${CSV_MAX_ROW_BYTES} bytes`);
        continue;
      }
      switch (this.state) {
        case 'field':
          if (b === QUOTE) {
            this.state = 'quoted';
            this.quoteLine = this.line;
            this.quoteOffset = at;
            this.segStart = i + 1;
          } else if (b === COMMA) {
            this.endField();
          } else if (lineEnd) {
            this.endField();
            this.endLine(buf, i);
          } else if (!secondHalf) {
            this.state = 'unquoted';
            this.segStart = i;
          }
          break;
        case 'unquoted':
          if (b === COMMA || lineEnd) {
            this.pushSegment(buf, i);
            this.endField();
            if (lineEnd) this.endLine(buf, i);
          } else if (b === QUOTE) {
            this.keepRaw(buf, i + 1);
            this.fail(
              `a quote inside an unquoted field at line ${this.line}, byte offset ${at} (quote the field and double the quote)`,
              i + 1,
            );
          }
          break;
        case 'quoted':
          if (b === QUOTE) {
            this.pushSegment(buf, i);
            this.state = 'closing';
          } else if (lineEnd) {
            this.line++;
          }
          break;
        case 'closing':
          if (b === QUOTE) {
            // an escaped quote: this second quote starts the next piece of the value
            this.state = 'quoted';
            this.segStart = i;
          } else if (b === COMMA) {
            this.endField();
          } else if (lineEnd) {
            this.endField();
            this.endLine(buf, i);
          } else {
            this.keepRaw(buf, i + 1);
            // A quoted value that ran over line ends and then does not end properly: its opening
            // quote was most likely a stray one — give up that line alone and read on after it.
            if (this.line > this.quoteLine) {
              const replay = this.abandonQuote(
                `is only closed at line ${this.line}, byte offset ${at - 1}, and text follows the closing quote`,
              );
              if (replay) return { replay, resumeAt: i + 1 };
            }
            this.fail(`unexpected character after the closing quote at line ${this.line}, byte offset ${at}`, i + 1);
          }
          break;
      }
    }
    // the chunk ends inside a record: keep what was read of it
    if (this.recOpen) {
      this.keepRaw(buf, buf.length);
      this.pushSegment(buf, buf.length);
    }
    return undefined;
  }

  private pushSegment(buf: Buffer, upTo: number): void {
    if (this.segStart >= 0 && upTo > this.segStart) this.field.push(buf.subarray(this.segStart, upTo));
    this.segStart = -1;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = [];
    this.segStart = -1;
    this.state = 'field';
  }

  /** A line ending at buf[i] closes the record. */
  private endLine(buf: Buffer, i: number): void {
    this.keepRaw(buf, i);
    this.line++;
    this.endRecord(this.offset);
  }

  /** Finish the record just read (its fields are complete, its raw bytes in rawParts). */
  private endRecord(end: number): void {
    const raw = Buffer.concat(this.rawParts);
    const bad = isUtf8(raw) ? -1 : firstInvalidUtf8(raw);
    if (bad >= 0) {
      const line = this.recLine + countLineBreaks(raw.subarray(0, bad));
      const hex = raw[bad].toString(16).padStart(2, '0');
      this.emitInvalid(
        end,
        `invalid UTF-8 at line ${line}, byte offset ${this.recStart + bad} (0x${hex}): the file must be UTF-8`,
        raw,
      );
    } else {
      const values = this.fields.map((parts) => Buffer.concat(parts).toString('utf8'));
      if (!this.headerSeen) {
        this.headerSeen = true;
        this.out.push({
          kind: 'header',
          fields: values.map((h) => h.trim()),
          line: this.recLine,
          end,
          lastLine: this.lastLine(),
        });
      } else {
        const lastLine = this.lastLine();
        this.out.push({ kind: 'row', index: this.index++, line: this.recLine, end, lastLine, fields: values });
      }
    }
    this.resetRecord();
  }

  /** The line a record just read ends on: the line count has moved past its line ending, if it had one. */
  private lastLine(): number {
    return this.prevWasLineEnd ? this.line - 1 : this.line;
  }

  private emitInvalid(end: number, reason: string, raw: Buffer, lastLine = this.lastLine()): void {
    if (!this.headerSeen) {
      this.headerSeen = true;
      this.out.push({ kind: 'header-invalid', reason: `header: ${reason}`, line: this.recLine, end, lastLine });
      return;
    }
    this.out.push({
      kind: 'row-invalid',
      index: this.index++,
      line: this.recLine,
      end,
      lastLine,
      reason,
      raw: raw.subarray(0, RAW_KEPT_BYTES).toString('utf8'),
    });
  }

  private resetRecord(): void {
    this.recOpen = false;
    this.rawParts = [];
    this.rawKept = 0;
    this.rawLen = 0;
    this.rawFrom = -1;
    this.fields = [];
    this.field = [];
    this.segStart = -1;
    this.problem = '';
    this.state = 'field';
  }

  /**
   * The record breaks a rule: skip to the end of the physical line, then report it. `rawFrom`:
   * where in the current chunk the rest of the line starts, kept (bounded) for the error item.
   */
  private fail(reason: string, rawFrom = -1): void {
    this.problem = reason;
    this.state = 'skip';
    this.rawFrom = rawFrom;
    this.segStart = -1;
  }

  private finishSkipped(): void {
    this.emitInvalid(this.offset, this.problem || 'unreadable row', Buffer.concat(this.rawParts));
    this.resetRecord();
  }

  /**
   * The quote opened at quoteOffset is not closed: report the record up to the end of the
   * quote's line and return the bytes after that line, to be read again as new records.
   * Undefined when the quote's line does not end within what was read.
   */
  private abandonQuote(why: string): Buffer | undefined {
    const raw = Buffer.concat(this.rawParts);
    let cut = -1;
    for (let k = this.quoteOffset - this.recStart; k < raw.length; k++) {
      if (raw[k] === LF || raw[k] === CR) {
        cut = raw[k] === CR && raw[k + 1] === LF ? k + 2 : k + 1;
        break;
      }
    }
    if (cut < 0) return undefined;
    const endsWithCR = raw[cut - 1] === CR;
    const reason = `the quote opened at line ${this.quoteLine}, byte offset ${this.quoteOffset} ${why} (a stray quote? double it, or quote the whole field)`;
    const end = this.recStart + cut;
    this.emitInvalid(end, reason, raw.subarray(0, cut), this.quoteLine);
    this.resetRecord();
    this.offset = end;
    this.line = this.quoteLine + 1;
    this.afterCR = endsWithCR;
    return raw.subarray(cut);
  }
}

function countLineBreaks(buf: Buffer): number {
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === LF) n++;
    else if (buf[i] === CR && buf[i + 1] !== LF) n++;
  }
  return n;
}

/** Read a CSV stream: the header first (or why it is unusable), then every record, valid or not. */
export async function* readCsv(stream: Readable): AsyncGenerator<CsvItem> {
  const parser = new CsvParser();
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    yield* parser.push(buf);
  }
  yield* parser.end();
}
