import { parse } from 'csv-parse';
import type { Readable } from 'node:stream';
import { openObject } from './objects';

/**
 * One parsed CSV record: `index` is the 0-based record index after the header, `line` the
 * file line it ends on, `bytes` how many bytes of the file have been read through it (so a
 * reader that stops can say where).
 */
export interface CsvRecord {
  index: number;
  line: number;
  bytes: number;
  fields: string[];
}

/**
 * Stream a CSV (never buffering the whole file): yields the header, then every record with
 * its raw fields — the column count is not enforced here so a wrong count can be reported
 * per row instead of aborting the file. Empty lines are skipped (as the Distributed Map
 * ItemReader does).
 */
export async function* readCsv(
  stream: Readable,
): AsyncGenerator<{ header: string[]; line: number; bytes: number } | CsvRecord> {
  const parser = stream.pipe(parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true }));
  stream.on('error', (err) => parser.destroy(err));
  let header: string[] | undefined;
  let index = 0;
  for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
    if (!header) {
      header = item.record.map((h) => h.trim());
      yield { header, line: item.info.lines, bytes: item.info.bytes };
      continue;
    }
    yield { index: index++, line: item.info.lines, bytes: item.info.bytes, fields: item.record };
  }
}

/** Header and record count of a CSV object (streamed). */
export async function countCsv(bucket: string, key: string): Promise<{ header?: string[]; count: number }> {
  let header: string[] | undefined;
  let count = 0;
  for await (const item of readCsv(await openObject(bucket, key))) {
    if ('header' in item) header = item.header;
    else count++;
  }
  return { header, count };
}
