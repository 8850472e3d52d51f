import { strict as assert } from 'assert';
import { mapEffectiveConcurrency } from '../../policies/rules';
import { distributedMap, inlineMap, lambdaTask, machine, messages, parallel, run, stateMachine } from './helpers';

const policy = mapEffectiveConcurrency;

async function violationsFor(def: unknown, config?: Record<string, Record<string, unknown>>): Promise<string[]> {
  return messages(await run(policy, stateMachine(def), config));
}

/** An inline Map of `outer` around a Distributed Map of `inner` (the shape of four public definitions). */
function nested(outer: Record<string, unknown>, inner: Record<string, unknown>): Record<string, unknown> {
  return machine({ batches: inlineMap({ rows: distributedMap({ t: lambdaTask() }, inner) }, outer) });
}

describe('sfn-map-effective-concurrency', () => {
  it('is mandatory with maxEffectiveConcurrency default 1000 (the default Lambda concurrency quota)', () => {
    assert.equal(policy.enforcementLevel, 'mandatory');
    assert.equal(policy.configSchema?.properties['maxEffectiveConcurrency']?.default, 1000);
  });

  it('fails an inline Map of 40 around a Distributed Map of 1,000, with the path and each factor', async () => {
    const msgs = await violationsFor(nested({ MaxConcurrency: 40 }, { MaxConcurrency: 1000 }));
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /Map state "batches\/ItemProcessor\/rows" can run 40 × 1,000 = 40,000 iterations at once/);
    assert.match(
      msgs[0],
      /"batches" \(inline Map, MaxConcurrency 40\), "batches\/ItemProcessor\/rows" \(Distributed Map, MaxConcurrency 1000\)/,
    );
  });

  it('passes nesting whose product is within the bound, and single Maps (sfn-map-finite-concurrency judges those)', async () => {
    assert.deepEqual(await violationsFor(nested({ MaxConcurrency: 4 }, { MaxConcurrency: 250 })), []);
    assert.deepEqual(
      await violationsFor(machine({ d: distributedMap({ t: lambdaTask() }, { MaxConcurrency: 5000 }) })),
      [],
    );
    assert.deepEqual(await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }) })), []);
  });

  it('counts a Map without a bound, or with one decided at run time, at the service limit', async () => {
    // No MaxConcurrency on the inline Map: about 40 at once.
    assert.match(
      (await violationsFor(nested({}, { MaxConcurrency: 100 })))[0],
      /40 × 100 = 4,000 .*"batches" \(inline Map, no bound chosen \(up to 40\)\)/,
    );
    // MaxConcurrencyPath on the Distributed Map: up to 10,000.
    assert.match(
      (await violationsFor(nested({ MaxConcurrency: 2 }, { MaxConcurrencyPath: '$.limit' })))[0],
      /2 × 10,000 = 20,000 .*MaxConcurrencyPath decided at run time/,
    );
    // A MaxConcurrency above the service cap counts at the cap.
    assert.match(
      (
        await violationsFor(
          machine({
            a: inlineMap({ b: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 100 }) }, { MaxConcurrency: 100 }),
          }),
        )
      )[0],
      /40 × 40 = 1,600 .*MaxConcurrency 100 capped by the service at 40/,
    );
  });

  it('follows the nesting through Parallel branches and legacy Iterators, and reports only where the bound is crossed', async () => {
    const def = machine({
      p: parallel([
        {
          outer: {
            Type: 'Map',
            MaxConcurrency: 20,
            Iterator: machine({
              middle: inlineMap(
                { inner: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 10 }) },
                { MaxConcurrency: 10 },
              ),
            }),
            End: true,
          },
        },
      ]),
    });
    const msgs = await violationsFor(def);
    // 20 × 10 = 200 is fine; 20 × 10 × 10 = 2,000 is not, and deeper Maps are not reported again.
    assert.equal(msgs.length, 1);
    assert.match(
      msgs[0],
      /"p\/Branches\[0\]\/outer\/Iterator\/middle\/ItemProcessor\/inner" can run 20 × 10 × 10 = 2,000/,
    );
  });

  it('honours a bound set through config', async () => {
    const def = nested({ MaxConcurrency: 4 }, { MaxConcurrency: 250 });
    assert.equal(
      (await violationsFor(def, { 'sfn-map-effective-concurrency': { maxEffectiveConcurrency: 500 } })).length,
      1,
    );
    assert.deepEqual(
      await violationsFor(nested({ MaxConcurrency: 40 }, { MaxConcurrency: 1000 }), {
        'sfn-map-effective-concurrency': { maxEffectiveConcurrency: 40000 },
      }),
      [],
    );
  });
});
