/**
 * The cost benchmark's counts (npm run bench:cost), asserted: they are deterministic, so a
 * change that adds a Lambda call, a STANDARD transition, an EXPRESS run or a DynamoDB request
 * unit to a command fails here, and the figure it changes is priced in the README table.
 * No timing is asserted: durations are modelled from the calls each Lambda makes.
 */
import { strict as assert } from 'node:assert';
import { costLine, costTable } from '../../scripts/bench-cost';
import { add, perMillion, price, scale, ZERO, type Counts } from '../../scripts/cost/counts';
import { CSV_ROWS, measureCosts, rowsFitting, type CostReport } from '../../scripts/cost/measure';
import { CommandPath } from '../../core/status';
import { setupHandlerEnv } from '../handlers/_support/env';

const counts = (c: Partial<Counts>): Counts => ({ ...ZERO, ...c });

/** One steady-state command (version 2 of an entity): the reads and writes are the same on both paths. */
const DYNAMO = { rru: 7, wru: 5 };

const EXPECTED: Record<CommandPath, Record<number, Counts>> = {
  // router + check_version, set_ttl_command, history_copy, transform_data, sync_data, finish (+ one call per target);
  // one EXPRESS run (its transitions are free)
  EXPRESS: {
    0: counts({ lambdaCalls: 7, lambdaMs: 452, expressRuns: 1, expressMs: 300, ...DYNAMO }),
    1: counts({ lambdaCalls: 8, lambdaMs: 472, expressRuns: 1, expressMs: 300, ...DYNAMO }),
    3: counts({ lambdaCalls: 10, lambdaMs: 512, expressRuns: 1, expressMs: 300, ...DYNAMO }),
  },
  // the seed's shape: 10 transitions, 2 more per target (sync_target + sync_<name>)
  STANDARD: {
    0: counts({ lambdaCalls: 7, lambdaMs: 244, standardTransitions: 10, ...DYNAMO }),
    1: counts({ lambdaCalls: 8, lambdaMs: 264, standardTransitions: 12, ...DYNAMO }),
    3: counts({ lambdaCalls: 10, lambdaMs: 304, standardTransitions: 16, ...DYNAMO }),
  },
};

describe('cost benchmark (npm run bench:cost): counts per command, per waiting version, per CSV row', function () {
  this.timeout(300_000);
  let report: CostReport;

  before(async () => {
    const ctx = await setupHandlerEnv();
    report = await measureCosts(ctx.db.tables, ctx.doc);
  });

  for (const path of [CommandPath.EXPRESS, CommandPath.STANDARD])
    for (const targets of [0, 1, 3])
      it(`${path} path, ${targets} registered sync target(s): the counts of one command`, () => {
        const found = report.commands.find((c) => c.path === path && c.targets === targets);
        assert.deepEqual(found?.counts, EXPECTED[path][targets]);
      });

  it('a version that waits for its predecessor: one check-only run, two STANDARD transitions (wait_prev_command, run_command)', () => {
    assert.deepEqual(
      report.waiting,
      counts({ lambdaCalls: 3, lambdaMs: 240, standardTransitions: 2, expressRuns: 1, expressMs: 100, rru: 9, wru: 3 }),
    );
  });

  it('a CSV import: the job, a batch (one child execution) and a row (the command it becomes included)', () => {
    const csv = report.csv;
    assert.deepEqual(
      csv.perJob,
      counts({
        lambdaCalls: 3,
        lambdaMs: 164,
        standardTransitions: 5,
        rru: 5,
        wru: 4,
        snsPublishes: 2,
        sqsRequests: 6,
        s3Requests: 2,
      }),
    );
    assert.deepEqual(
      { ...csv.perBatch, expressMs: 0 },
      counts({ lambdaCalls: 1, lambdaMs: 52, standardTransitions: 1, expressRuns: 1, rru: 3, wru: 4 }),
    );
    assert.deepEqual(
      csv.perRow,
      counts({ lambdaCalls: 8, lambdaMs: 472, expressRuns: 1, expressMs: 200, rru: 7, wru: 13 }),
    );
    assert.deepEqual(
      csv.perMillion,
      add(csv.perJob, scale(csv.perBatch, csv.batchesPerMillion), scale(csv.perRow, CSV_ROWS)),
      'a million rows: one job, its batches, its rows',
    );
  });

  it('fills each CSV batch as the import-csv definition bounds it: MaxItemsPerBatch rows, and the batch input under MaxInputBytesPerBatch', () => {
    const csv = report.csv;
    assert.equal(csv.maxInputBytesPerBatch, 120 * 1024);
    assert.ok(csv.rowsPerBatch >= 1 && csv.rowsPerBatch <= csv.maxItemsPerBatch);
    assert.equal(csv.batchesPerMillion, Math.ceil(CSV_ROWS / csv.rowsPerBatch));
    // a staged row of 200 CSV bytes is a few hundred bytes of JSON: about 400 fit 120 KiB
    const byBytes = rowsFitting(Number.MAX_SAFE_INTEGER, csv.maxInputBytesPerBatch, 300);
    assert.ok(byBytes > 350 && byBytes < 420, String(byBytes));
    assert.equal(rowsFitting(10, csv.maxInputBytesPerBatch, 300), 10, 'MaxItemsPerBatch caps a batch');
  });

  it('meets issue 10: ≤ $25 per 1M commands with no sync target and ≤ $45 with three (EXPRESS path, the default)', () => {
    const express = (n: number) => report.commands.find((c) => c.path === CommandPath.EXPRESS && c.targets === n)!;
    assert.ok(perMillion(express(0).counts) <= 25, costLine(report));
    assert.ok(perMillion(express(3).counts) <= 45, costLine(report));
    // STANDARD transitions dominate the seed-shaped path: it stays the expensive option
    const standard = report.commands.find((c) => c.path === CommandPath.STANDARD && c.targets === 0)!;
    assert.ok(perMillion(standard.counts) > 10 * perMillion(express(0).counts));
  });

  it('prints the table and then exactly the cost line', () => {
    assert.match(
      costLine(report),
      /^cost per 1M commands: N=0 \$\d+\.\d\d \| N=1 \$\d+\.\d\d \| N=3 \$\d+\.\d\d \| waiting \+\$\d+\.\d\d; per 1M CSV rows: \$\d+\.\d\d$/,
    );
    const table = costTable(report);
    assert.equal(table.split('\n').length, 2 + report.commands.length + 2);
    assert.match(table, /EXPRESS path, 0 sync target\(s\)/);
    assert.equal(price(ZERO).total, 0);
  });
});
