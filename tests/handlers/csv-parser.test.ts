/** Issue 9, item 4: the CSV reader imports every row exactly as written or reports it with its line and reason. */
import { strict as assert } from 'node:assert';
import { CSV_MAX_ROW_BYTES, CsvParser, firstInvalidUtf8, type CsvItem } from '../../handlers/import/csv';

function parse(input: Buffer | string, chunkSizes?: number[]): CsvItem[] {
  const buf = Buffer.from(input);
  const p = new CsvParser();
  const out: CsvItem[] = [];
  if (!chunkSizes) out.push(...p.push(buf));
  else {
    let at = 0;
    for (let k = 0; at < buf.length; k++) {
      const n = chunkSizes[k % chunkSizes.length];
      out.push(...p.push(buf.subarray(at, at + n)));
      at += n;
    }
  }
  out.push(...p.end());
  return out;
}

const rows = (items: CsvItem[]) =>
  items.map((i) =>
    i.kind === 'row'
      ? { line: i.line, fields: i.fields }
      : i.kind === 'row-invalid'
        ? { line: i.line, reason: i.reason }
        : i.kind === 'header'
          ? { header: i.fields }
          : { headerInvalid: i.reason },
  );

describe('CSV reader (issue 9 item 4)', () => {
  it('accepts CRLF, LF and CR line endings mixed in one file: every row as written, no \\r kept, none folded', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `T,C${i},v${i}`);
    const endings = ['\r\n', '\n', '\r'];
    const csv = 'pk,code,name\r\n' + lines.map((l, i) => l + endings[i % 3]).join('');
    const items = parse(csv);
    const data = items.filter((i) => i.kind === 'row');
    assert.equal(data.length, 30, '30 rows, not 11');
    data.forEach((r, i) => {
      assert.deepEqual(r.fields, ['T', `C${i}`, `v${i}`]);
      assert.equal(r.line, i + 2);
      assert.equal(r.index, i);
    });
    assert.ok(!JSON.stringify(items).includes('\\r'));
  });

  it('keeps line breaks and doubled quotes inside quoted fields as written; counts lines through them', () => {
    const items = parse('pk,code,note\n"T","A","line 1\r\nline 2 ""quoted"""\nT,B,"x,y"\n');
    assert.deepEqual(rows(items), [
      { header: ['pk', 'code', 'note'] },
      { line: 2, fields: ['T', 'A', 'line 1\r\nline 2 "quoted"'] },
      { line: 4, fields: ['T', 'B', 'x,y'] },
    ]);
    assert.deepEqual(
      items.map((i) => i.lastLine),
      [1, 3, 4],
    );
  });

  it('skips a byte order mark and empty lines (which still count as lines); keeps empty last fields', () => {
    const items = parse('\uFEFFpk,code,x\n\nT,A,\n\r\n\rT,B,"",\nT,C');
    assert.deepEqual(rows(items), [
      { header: ['pk', 'code', 'x'] },
      { line: 3, fields: ['T', 'A', ''] },
      { line: 6, fields: ['T', 'B', '', ''] },
      { line: 7, fields: ['T', 'C'] },
    ]);
  });

  it('reports bytes that are not UTF-8 with line and byte offset instead of replacing them', () => {
    const csv = Buffer.concat([
      Buffer.from('pk,code,name\nT,A,ok\nT,B,caf'),
      Buffer.from([0xe9]),
      Buffer.from('\nT,C,fine\n'),
    ]);
    const items = rows(parse(csv));
    assert.deepEqual(items[2], {
      line: 3,
      reason: 'invalid UTF-8 at line 3, byte offset 27 (0xe9): the file must be UTF-8',
    });
    assert.deepEqual(items[3], { line: 4, fields: ['T', 'C', 'fine'] });
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc3, 0xa9, 0xed, 0xa0, 0x80])), 3, 'a surrogate is not UTF-8');
    assert.equal(firstInvalidUtf8(Buffer.from([0xf0, 0x9f, 0x98])), 0, 'a truncated sequence is not UTF-8');
    assert.equal(firstInvalidUtf8(Buffer.from('ok é 😀')), -1);
  });

  it('a stray quote fails its own row with the real line number; the rest of the file is read', () => {
    const items = rows(parse('pk,code,size\nT,A,5" screen\nT,B,"7"x\nT,C,ok\n'));
    assert.deepEqual(items, [
      { header: ['pk', 'code', 'size'] },
      {
        line: 2,
        reason: 'a quote inside an unquoted field at line 2, byte offset 18 (quote the field and double the quote)',
      },
      { line: 3, reason: 'unexpected character after the closing quote at line 3, byte offset 34' },
      { line: 4, fields: ['T', 'C', 'ok'] },
    ]);
  });

  it('a failed row keeps its whole record as written (up to 2,000 bytes), not only the bytes up to the problem, whatever the chunks', () => {
    const csv = 'pk,code,size\r\nT,A,5" screen,x\r\nT,B,"7"x tail\nT,C,ok\n' + `T,D,a"${'z'.repeat(3000)}\nT,E,ok\n`;
    for (const chunks of [undefined, [1], [7, 3]]) {
      const items = parse(csv, chunks).filter((i) => i.kind === 'row-invalid');
      assert.deepEqual(
        items.map((i) => i.raw),
        ['T,A,5" screen,x', 'T,B,"7"x tail', `T,D,a"${'z'.repeat(2000 - 6)}`],
        String(chunks),
      );
    }
  });

  it('a quote closed lines later by another stray quote fails only its own line; the lines in between are read as rows', () => {
    const items = rows(parse('pk,code,name\nT,A,"oops\nT,B,fine\r\nT,C,"also fine"\n'));
    assert.deepEqual(items, [
      { header: ['pk', 'code', 'name'] },
      {
        line: 2,
        reason:
          'the quote opened at line 2, byte offset 17 is only closed at line 4, byte offset 37, and text follows the closing quote (a stray quote? double it, or quote the whole field)',
      },
      { line: 3, fields: ['T', 'B', 'fine'] },
      { line: 4, fields: ['T', 'C', 'also fine'] },
    ]);
  });

  it('a quote never closed fails the row up to the end of its line; the following lines are read as rows', () => {
    const items = rows(parse('pk,code,name\nT,A,"oops\nT,B,fine\n'));
    assert.deepEqual(items.slice(1), [
      {
        line: 2,
        reason:
          'the quote opened at line 2, byte offset 17 is never closed (a stray quote? double it, or quote the whole field)',
      },
      { line: 3, fields: ['T', 'B', 'fine'] },
    ]);
  });

  it('a quote not closed within the row limit is abandoned the same way, with bounded memory', () => {
    const filler = Array.from({ length: 3000 }, (_, i) => `T,K${i},${'z'.repeat(20)}`).join('\n');
    const csv = `pk,code,name\nT,A,"never closed\n${filler}\n`;
    const items = parse(csv, [4096]);
    const invalid = items.filter((i) => i.kind === 'row-invalid');
    assert.equal(invalid.length, 1);
    assert.match((invalid[0] as { reason: string }).reason, new RegExp(`not closed within ${CSV_MAX_ROW_BYTES} bytes`));
    const good = items.filter((i) => i.kind === 'row');
    assert.equal(good.length, 3000);
    assert.deepEqual([good[0].line, good[2999].line], [3, 3002]);
  });

  it('a row longer than the limit is reported, the next one read', () => {
    const items = rows(parse(`pk,code,blob\nT,A,${'b'.repeat(CSV_MAX_ROW_BYTES)}\nT,B,small\n`));
    assert.deepEqual(items.slice(1), [
      { line: 2, reason: `the row is longer than ${CSV_MAX_ROW_BYTES} bytes` },
      { line: 3, fields: ['T', 'B', 'small'] },
    ]);
  });

  it('gives the same result however the bytes are split into chunks', () => {
    const csv = Buffer.concat([
      Buffer.from('\uFEFFpk,code,note\r\nT,A,"multi\r\nline ""q"""\r\nT,B,5" bad\nT,"C",x\r'),
      Buffer.from('T,D,caf'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('\n\nT,E,"open\nT,F,after\rT,G,last'),
    ]);
    const whole = parse(csv);
    for (const sizes of [[1], [2], [3], [7, 1, 13], [64]])
      assert.deepEqual(parse(csv, sizes), whole, `chunks ${sizes.join(',')}`);
    assert.deepEqual(rows(whole).slice(1), [
      { line: 2, fields: ['T', 'A', 'multi\r\nline "q"'] },
      {
        line: 4,
        reason: 'a quote inside an unquoted field at line 4, byte offset 47 (quote the field and double the quote)',
      },
      { line: 5, fields: ['T', 'C', 'x'] },
      { line: 6, fields: ['T', 'D', 'café'] },
      {
        line: 8,
        reason:
          'the quote opened at line 8, byte offset 76 is never closed (a stray quote? double it, or quote the whole field)',
      },
      { line: 9, fields: ['T', 'F', 'after'] },
      { line: 10, fields: ['T', 'G', 'last'] },
    ]);
  });

  it('reads back exactly what a writer quoted, for 300 seeded random files in random chunks', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'Z', '9', ' ', ',', '"', '\r', '\n', '\r\n', 'é', '😀', '\t', ';'];
    for (let file = 0; file < 300; file++) {
      const cols = 1 + rand(4);
      const records = Array.from({ length: 1 + rand(6) }, () =>
        Array.from({ length: cols }, () =>
          Array.from({ length: rand(6) }, () => alphabet[rand(alphabet.length)]).join(''),
        ),
      );
      // a record that is one empty field would read as an empty line: give it content
      for (const r of records) if (r.length === 1 && r[0] === '') r[0] = 'x';
      const quote = (v: string) => (/[",\r\n]/.test(v) || rand(4) === 0 ? `"${v.replace(/"/g, '""')}"` : v);
      const endings = ['\n', '\r\n', '\r'];
      const text =
        records.map((r) => r.map(quote).join(',')).join(endings[rand(3)]) + (rand(2) ? endings[rand(3)] : '');
      const chunks = [1 + rand(9), 1 + rand(30)];
      const items = parse(text, chunks);
      assert.ok(
        items.every((i) => i.kind === 'row' || i.kind === 'header'),
        `file ${file}: ${JSON.stringify(text)}`,
      );
      const got = items.map((i) => (i as { fields: string[] }).fields);
      const expected = records.map((r, k) => (k === 0 ? r.map((h) => h.trim()) : r));
      assert.deepEqual(got, expected, `file ${file}: ${JSON.stringify(text)}`);
    }
  });

  it('reports an unusable header instead of guessing', () => {
    const items = rows(parse(Buffer.concat([Buffer.from('pk,co'), Buffer.from([0xff]), Buffer.from('de\nT,A\n')])));
    assert.deepEqual(items[0], {
      headerInvalid: 'header: invalid UTF-8 at line 1, byte offset 5 (0xff): the file must be UTF-8',
    });
    assert.deepEqual(items[1], { line: 2, fields: ['T', 'A'] });
  });
});
