import { strict as assert } from 'assert';
import * as pulumi from '@pulumi/pulumi';
import { allStates, JsonObject, parseDefinition, UNKNOWN } from '../../policies/rules';
import { distributedMap, inlineMap, lambdaTask, machine } from './helpers';

const json = (v: unknown): JsonObject => JSON.parse(JSON.stringify(v)) as JsonObject;

describe('policies/rules/asl walker', () => {
  it('visits every state with slash paths through Parallel, ItemProcessor and Iterator', () => {
    const def = machine({
      transform_data: lambdaTask('sync_data_all'),
      sync_data_all: inlineMap({ sync_data: lambdaTask() }, { Next: 'fan', End: undefined }),
      fan: {
        Type: 'Parallel',
        Branches: [
          machine({ a: { Type: 'Pass', End: true } }),
          machine({ legacy: { Type: 'Map', Iterator: machine({ it: lambdaTask() }), End: true } }),
        ],
        Next: 'import_rows',
      },
      import_rows: distributedMap({ csv_rows_handler: lambdaTask() }),
    });
    const states = allStates(json(def));
    assert.deepEqual(
      states.map((s) => s.path),
      [
        'transform_data',
        'sync_data_all',
        'sync_data_all/ItemProcessor/sync_data',
        'fan',
        'fan/Branches[0]/a',
        'fan/Branches[1]/legacy',
        'fan/Branches[1]/legacy/Iterator/it',
        'import_rows',
        'import_rows/ItemProcessor/csv_rows_handler',
      ],
    );
    const byPath = new Map(states.map((s) => [s.path, s]));
    assert.equal(byPath.get('import_rows/ItemProcessor/csv_rows_handler')?.executionType, 'EXPRESS');
    assert.equal(byPath.get('sync_data_all/ItemProcessor/sync_data')?.executionType, 'STANDARD');
    assert.equal(byPath.get('fan/Branches[1]/legacy/Iterator/it')?.depth, 2);
  });

  it('tracks the query language from the top level and state overrides', () => {
    const def = machine(
      {
        m: inlineMap({ inner: { Type: 'Pass', End: true } }, { QueryLanguage: 'JSONPath' }),
        x: { Type: 'Pass', End: true },
      },
      'm',
      { QueryLanguage: 'JSONata' },
    );
    const byPath = new Map(allStates(json(def)).map((s) => [s.path, s.queryLanguage]));
    assert.equal(byPath.get('m'), 'JSONPath');
    assert.equal(byPath.get('m/ItemProcessor/inner'), 'JSONPath');
    assert.equal(byPath.get('x'), 'JSONata');
  });

  it('parses strings and objects, and reports unknown/invalid definitions', () => {
    assert.equal(parseDefinition(JSON.stringify(machine({ a: { Type: 'Pass', End: true } }))).kind, 'ok');
    assert.equal(parseDefinition(machine({ a: { Type: 'Pass', End: true } })).kind, 'ok');
    assert.equal(parseDefinition(undefined).kind, 'unknown');
    assert.equal(parseDefinition(UNKNOWN).kind, 'unknown');
    assert.equal(parseDefinition(pulumi.unknown).kind, 'unknown');
    assert.equal(parseDefinition('04da6b54-80e4-46f7-96ec-b56ff0331ba9').kind, 'unknown');
    assert.equal(parseDefinition({ States: { a: pulumi.unknown } }).kind, 'unknown');
    assert.equal(parseDefinition('{not json').kind, 'invalid');
    assert.equal(parseDefinition('{}').kind, 'invalid');
  });
});
