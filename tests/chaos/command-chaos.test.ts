/**
 * Issue 9: the seeded chaos test. Commands (out of order, duplicated) and tasks run through
 * the real stream router, the generated definitions and the real handlers on DynamoDB Local,
 * with DynamoDB faults before and after writes apply, crashed and timed-out Lambdas, lost
 * responses, throttled invocations and SendTask calls, stopped executions and redelivered
 * execution events. Whatever the interleaving, the checks must all hold.
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
  stop: { commands: 0.2, tasks: 0.5, withinMs: 1500, duringSync: 0.1 },
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

/**
 * Which faults fire depends on the interleaving as well as the seed (a SendTask call is only
 * throttled if a version happened to wait, an EXPRESS run only times out if its targets were
 * slow enough on this machine), so a loaded machine can leave a kind out of one run. Every run
 * must hold every check; further seeds run only until each kind of fault has happened in some
 * run, so the test can neither pass vacuously nor fail on a busy CI machine.
 */
const MAX_SEEDS = 4;

for (const [name, buildPath, extraKinds] of [
  // EXPRESS runs cannot be stopped (their command-wait executions run no sync call): there a
  // run that times out during its sync is the case, counted by "sfn expressTimedOut"
  ['STANDARD path', standardPath, ['stopped during a sync call']],
  ['EXPRESS path', expressPath, ['sfn expressDuplicates', 'sfn expressTimedOut']],
] as const) {
  describe(`chaos: command and task chains under faults (seeded), ${name}`, function () {
    this.timeout(200_000 * MAX_SEEDS);

    it(`seed ${CHAOS_OPTIONS.seed} (and the next seeds until every kind of fault has happened): every version and task ends, in order, once, with its reason`, async () => {
      const ctx = await setupHandlerEnv();
      const kinds = [...FAULT_KINDS, ...extraKinds];
      const injected = new Map<string, number>();
      const missing = () => kinds.filter((k) => !(injected.get(k) ?? 0));
      for (let i = 0; i < MAX_SEEDS && (i === 0 || missing().length > 0); i++) {
        const seed = CHAOS_OPTIONS.seed + i;
        const report = await runChaos({ ...CHAOS_OPTIONS, seed }, ctx.db.tables, ctx.doc, buildPath);
        if (process.env.CHAOS_VERBOSE) console.log(JSON.stringify(report, null, 2));
        assert.deepEqual(report.violations, [], `seed ${seed}: ${JSON.stringify(report.counts)}`);
        for (const [k, n] of Object.entries(report.counts)) injected.set(k, (injected.get(k) ?? 0) + n);
      }
      assert.deepEqual(
        missing(),
        [],
        `seeds ${CHAOS_OPTIONS.seed}..${CHAOS_OPTIONS.seed + MAX_SEEDS - 1} injected no such fault: ${JSON.stringify(Object.fromEntries(injected))}`,
      );
    });
  });
}
