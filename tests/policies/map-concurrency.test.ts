import { strict as assert } from 'assert';
import * as pulumi from '@pulumi/pulumi';
import { mapFiniteConcurrency } from '../../policies/rules';
import { distributedMap, inlineMap, lambdaTask, machine, messages, resource, run, stateMachine } from './helpers';

const policy = mapFiniteConcurrency;

async function violationsFor(def: unknown, config?: Record<string, Record<string, unknown>>): Promise<string[]> {
  return messages(await run(policy, stateMachine(def), config));
}

describe('sfn-map-finite-concurrency', () => {
  it('is mandatory and exposes the two ceilings with defaults', () => {
    assert.equal(policy.enforcementLevel, 'mandatory');
    assert.equal(policy.configSchema?.properties['maxInlineConcurrency']?.default, 40);
    assert.equal(policy.configSchema?.properties['maxDistributedConcurrency']?.default, 1000);
  });

  it("passes the project's command machine shape (sync_data_all, MaxConcurrency 10)", async () => {
    const def = machine({
      transform_data: lambdaTask('sync_data_all'),
      sync_data_all: inlineMap({ sync_data: lambdaTask() }, { MaxConcurrency: 10, ItemsPath: '$.targets' }),
    });
    assert.deepEqual(await violationsFor(def), []);
  });

  it('fails a top-level Map without MaxConcurrency and names the state', async () => {
    const msgs = await violationsFor(machine({ sync_data_all: inlineMap({ sync_data: lambdaTask() }) }));
    assert.equal(msgs.length, 1);
    // An inline Map without a bound is not "unlimited": Step Functions caps it at about 40.
    assert.match(
      msgs[0],
      /"sync_data_all" has no MaxConcurrency: .*about 40\), a bound the definition does not choose/,
    );
    assert.doesNotMatch(msgs[0], /unlimited/);
    const zero = await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 0 }) }));
    assert.match(zero[0], /MaxConcurrency 0: .*about 40/);
    const dist = await violationsFor(machine({ d: distributedMap({ t: lambdaTask() }) }));
    assert.match(dist[0], /up to 10,000 child executions at once/);
  });

  it('fails MaxConcurrency 0 (unlimited), negatives and non-integers', async () => {
    for (const mc of [0, -1, 2.5, '5']) {
      const msgs = await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: mc }) }));
      assert.equal(msgs.length, 1, `MaxConcurrency ${JSON.stringify(mc)}`);
    }
  });

  it('accepts MaxConcurrencyPath', async () => {
    assert.deepEqual(
      await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrencyPath: '$.limit' }) })),
      [],
    );
  });

  it('finds a Map inside a Parallel branch', async () => {
    const def = machine({
      p: {
        Type: 'Parallel',
        End: true,
        Branches: [
          machine({ ok: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 2 }) }),
          machine({ bad: inlineMap({ t: lambdaTask() }) }),
        ],
      },
    });
    const msgs = await violationsFor(def);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /"p\/Branches\[1\]\/bad"/);
  });

  it('finds a Map inside the ItemProcessor of a Map, and inside a legacy Iterator', async () => {
    const def = machine({
      outer: inlineMap(
        { inner: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 0 }) },
        { MaxConcurrency: 4, Next: 'legacy', End: undefined },
      ),
      legacy: {
        Type: 'Map',
        MaxConcurrency: 2,
        Iterator: machine({ deep: { Type: 'Map', Iterator: machine({ t: lambdaTask() }), End: true } }),
        End: true,
      },
    });
    const msgs = await violationsFor(def);
    assert.equal(msgs.length, 2);
    assert.match(msgs[0], /"outer\/ItemProcessor\/inner" has MaxConcurrency 0/);
    assert.match(msgs[1], /"legacy\/Iterator\/deep" has no MaxConcurrency/);
  });

  it('applies the inline ceiling to inline Maps and the distributed ceiling to Distributed Maps', async () => {
    assert.deepEqual(await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 40 }) })), []);
    assert.match(
      (await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 41 }) })))[0],
      /above the ceiling 40/,
    );
    assert.deepEqual(
      await violationsFor(machine({ d: distributedMap({ t: lambdaTask() }, { MaxConcurrency: 1000 }) })),
      [],
    );
    const msgs = await violationsFor(machine({ d: distributedMap({ t: lambdaTask() }, { MaxConcurrency: 1001 }) }));
    assert.match(msgs[0], /Distributed Map state "d".*above the ceiling 1000.*maxDistributedConcurrency/);
    assert.match(
      (await violationsFor(machine({ d: distributedMap({ t: lambdaTask() }) })))[0],
      /Distributed Map state "d" has no MaxConcurrency/,
    );
  });

  it('honours ceilings changed through config: a passing value then fails', async () => {
    const inline = machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrency: 10 }) });
    assert.deepEqual(await violationsFor(inline), []);
    const msgs = await violationsFor(inline, { 'sfn-map-finite-concurrency': { maxInlineConcurrency: 5 } });
    assert.match(msgs[0], /MaxConcurrency 10, above the ceiling 5/);
    const dist = machine({ d: distributedMap({ t: lambdaTask() }, { MaxConcurrency: 50 }) });
    assert.deepEqual(await violationsFor(dist), []);
    assert.equal(
      (await violationsFor(dist, { 'sfn-map-finite-concurrency': { maxDistributedConcurrency: 20 } })).length,
      1,
    );
    // the distributed ceiling leaves inline Maps alone and vice versa
    assert.deepEqual(
      await violationsFor(inline, { 'sfn-map-finite-concurrency': { maxDistributedConcurrency: 5 } }),
      [],
    );
  });

  it('accepts JSONata expressions (top-level or state-level QueryLanguage) as dynamic', async () => {
    const top = machine(
      {
        m: inlineMap(
          { t: { Type: 'Pass', End: true } },
          { MaxConcurrency: '{% $states.input.limit %}', Items: '{% $states.input.items %}', ItemsPath: undefined },
        ),
      },
      'm',
      { QueryLanguage: 'JSONata' },
    );
    assert.deepEqual(await violationsFor(top), []);
    const state = machine({
      m: inlineMap({ t: { Type: 'Pass', End: true } }, { QueryLanguage: 'JSONata', MaxConcurrency: '{% 3 %}' }),
    });
    assert.deepEqual(await violationsFor(state), []);
    const jsonataNoLimit = machine({ m: inlineMap({ t: { Type: 'Pass', End: true } }, { QueryLanguage: 'JSONata' }) });
    assert.equal((await violationsFor(jsonataNoLimit)).length, 1);
    const wrongLanguage = machine({ m: inlineMap({ t: { Type: 'Pass', End: true } }, { MaxConcurrency: '{% 3 %}' }) });
    assert.equal((await violationsFor(wrongLanguage)).length, 1);
  });

  it('judges JSONata states as Step Functions does: no JSONPath-only fields, exact {% %} delimiters', async () => {
    const jsonata = (extra: Record<string, unknown>) =>
      machine({ m: inlineMap({ t: { Type: 'Pass', End: true } }, { ItemsPath: undefined, ...extra }) }, 'm', {
        QueryLanguage: 'JSONata',
      });
    const path = await violationsFor(jsonata({ MaxConcurrencyPath: '$.limit' }));
    assert.equal(path.length, 1);
    assert.match(path[0], /JSONata state with MaxConcurrencyPath, a JSONPath-only field/);
    // A string with anything around the delimiters is a literal string to Step Functions.
    for (const padded of [' {% 5 %}', '{% 5 %} ', 'x{% 5 %}']) {
      const msgs = await violationsFor(jsonata({ MaxConcurrency: padded }));
      assert.equal(msgs.length, 1, JSON.stringify(padded));
      assert.match(msgs[0], /neither a number nor a JSONata expression/);
    }
    assert.deepEqual(await violationsFor(jsonata({ MaxConcurrency: '{% 5 %}' })), []);
    // In a JSONPath state, MaxConcurrencyPath is the dynamic bound it has always been.
    assert.deepEqual(
      await violationsFor(machine({ m: inlineMap({ t: lambdaTask() }, { MaxConcurrencyPath: '$.limit' }) })),
      [],
    );
  });

  it('reports (does not pass) a definition unknown at preview, in every unknown shape', async () => {
    for (const def of [undefined, '04da6b54-80e4-46f7-96ec-b56ff0331ba9', pulumi.unknown]) {
      const r = await run(policy, stateMachine(undefined, def === undefined ? {} : { definition: def }));
      assert.equal(r.violations.length, 1);
      assert.equal(r.violations[0].enforcementLevel, 'mandatory');
      assert.match(r.violations[0].message, /definition is unknown at preview/);
    }
  });

  it('reports an invalid definition and accepts an object definition', async () => {
    assert.match(messages(await run(policy, stateMachine('{oops')))[0], /not valid JSON/);
    const obj = stateMachine(undefined, { definition: machine({ m: inlineMap({ t: lambdaTask() }) }) });
    assert.equal((await run(policy, obj)).violations.length, 1);
  });

  it('is not applicable to other resource types', async () => {
    const r = await run(policy, resource('aws:sqs/queue:Queue', { definition: '{}' }));
    assert.equal(r.violations.length, 0);
    assert.equal(r.notApplicable.length, 1);
  });
});
