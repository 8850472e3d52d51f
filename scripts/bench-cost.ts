/**
 * npm run bench:cost — what a command costs, counted on the real stream router, definitions and
 * handlers (aws-local-stepfunctions, DynamoDB Local), priced with scripts/cost/prices.ts.
 * Prints a table per scenario and then one line:
 *   cost per 1M commands: N=0 $<x> | N=1 $<y> | N=3 $<z> | waiting +$<w>; per 1M CSV rows: $<r>
 * (N = registered sync targets, EXPRESS command path, the default). It measures and reports;
 * tests/cost/cost-bench.test.ts asserts the counts.
 */
import { sharedDynamoDbLocal } from '../tests/support/dynamodb-local';
import { setupHandlerEnv } from '../tests/handlers/_support/env';
import { measureCosts, type CostReport } from './cost/measure';
import { perMillion, price, type Counts } from './cost/counts';
import { CommandPath } from '../core/status';

const money = (usd: number): string => usd.toFixed(2);

function row(label: string, c: Counts, per: number): string[] {
  const scaled = (n: number) => {
    const v = n * per;
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) < 0.1 ? String(Number(v.toPrecision(2))) : v.toFixed(2);
  };
  return [
    label,
    scaled(c.lambdaCalls),
    `${Math.round(c.lambdaMs * per)}`,
    scaled(c.standardTransitions),
    `${scaled(c.expressRuns)} / ${Math.round(c.expressMs * per)}`,
    `${scaled(c.rru)} / ${scaled(c.wru)}`,
    `${scaled(c.snsPublishes)} / ${scaled(c.sqsRequests)}`,
    money(price(c).total * 1_000_000 * per),
  ];
}

export function costTable(report: CostReport): string {
  const header = [
    'per command',
    'Lambda calls',
    'Lambda ms',
    'STANDARD transitions',
    'EXPRESS runs / ms',
    'RRU / WRU',
    'SNS / SQS requests',
    '$ per 1M',
  ];
  const rows: string[][] = [];
  for (const c of report.commands)
    rows.push(
      row(
        `${c.path === CommandPath.EXPRESS ? 'EXPRESS path' : 'STANDARD path'}, ${c.targets} sync target(s)`,
        c.counts,
        1,
      ),
    );
  rows.push(row('extra when a version waits (EXPRESS path)', report.waiting, 1));
  const csv = report.csv;
  rows.push(row(`CSV import per row (1M rows, ${csv.rowsPerBatch} rows per batch)`, csv.perMillion, 1 / 1_000_000));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

export function costLine(report: CostReport): string {
  const express = (n: number) => report.commands.find((c) => c.path === CommandPath.EXPRESS && c.targets === n)!.counts;
  return (
    `cost per 1M commands: N=0 $${money(perMillion(express(0)))} | N=1 $${money(perMillion(express(1)))} | ` +
    `N=3 $${money(perMillion(express(3)))} | waiting +$${money(perMillion(report.waiting))}; ` +
    `per 1M CSV rows: $${money(price(report.csv.perMillion).total)}`
  );
}

async function main(): Promise<void> {
  const ctx = await setupHandlerEnv();
  const report = await measureCosts(ctx.db.tables, ctx.doc);
  const csv = report.csv;
  console.log(
    `CSV import: MaxItemsPerBatch ${csv.maxItemsPerBatch}, MaxInputBytesPerBatch ${csv.maxInputBytesPerBatch} → ${csv.rowsPerBatch} rows of 200 bytes per batch, ${csv.batchesPerMillion} child executions per 1M rows`,
  );
  console.log(costTable(report));
  console.log(costLine(report));
  await (await sharedDynamoDbLocal()).stop();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
