/**
 * Issue 9: the seeded chaos test. Commands (out of order, duplicated) and tasks run through
 * the real stream router, the generated definitions and the real handlers on DynamoDB Local,
 * with DynamoDB faults before and after writes apply, crashed and timed-out Lambdas, lost
 * responses, throttled invocations and SendTask calls, stopped executions and redelivered
 * execution events. Whatever the interleaving, the checks must all hold. The plan is fixed by
 * the seed; the counts printed show that every kind of fault happened.
 */
import { strict as assert } from 'node:assert';
import { setupHandlerEnv } from '../handlers/_support/env';
import { runChaos, type ChaosOptions } from './harness/chaos';
import { expressPath } from './express-path';
import { standardPath } from './standard-path';

export const CHAOS_OPTIONS: ChaosOptions = {
  seed: 9,
  entities: 8,
  versionsPerEntity: 6,
  tasks: 6,
  subTasksPerTask: 5,
  targets: [
    { name: 'search', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:chaos-search', timeoutSeconds: 1 },
    { name: 'audit', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:chaos-audit', timeoutSeconds: 2 },
  ],
  dynamo: { errorBefore: 0.006, errorAfter: 0.006, crashBefore: 0.003, crashAfter: 0.003 },
  invoke: { throttle: 0.03, lostResponse: 0.02 },
  sendTaskThrottle: 0.35,
  stop: { commands: 0.2, tasks: 0.5, withinMs: 1500 },
  duplicate: 0.1,
  expressDuplicate: 0.3,
  streamMaxRetryAttempts: 3,
  targetFailure: 0.15,
  executorFailure: 0.2,
  deadlineMs: 120_000,
};

const FAULT_KINDS = [
  'dynamodb error-before',
  'dynamodb error-after',
  'dynamodb crash-before',
  'dynamodb crash-after',
  'lambda throttled',
  'lambda lostResponses',
  'sfn sendTaskThrottled',
  'stopped executions',
  'stream duplicates',
];

for (const [name, buildPath, extraKinds] of [
  ['STANDARD path', standardPath, []],
  ['EXPRESS path', expressPath, ['sfn expressDuplicates', 'sfn expressTimedOut']],
] as const) {
  describe(`chaos: command and task chains under faults (seeded), ${name}`, function () {
    this.timeout(200_000);

    it(`seed ${CHAOS_OPTIONS.seed}: every version and task ends, in order, once, with its reason`, async () => {
      const ctx = await setupHandlerEnv();
      const report = await runChaos(CHAOS_OPTIONS, ctx.db.tables, ctx.doc, buildPath);
      if (process.env.CHAOS_VERBOSE) console.log(JSON.stringify(report, null, 2));
      assert.deepEqual(report.violations, [], JSON.stringify(report.counts));
      for (const kind of [...FAULT_KINDS, ...extraKinds])
        assert.ok((report.counts[kind] ?? 0) > 0, `the plan injected no "${kind}": ${JSON.stringify(report.counts)}`);
    });
  });
}
