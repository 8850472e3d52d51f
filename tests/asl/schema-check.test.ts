import assert from 'node:assert/strict';
import { serializeDefinition, validateDefinition } from '../../components/asl';
import { compiledSchemaErrors, librarySchemaErrors } from '../../components/asl/schema-check';
import {
  buildCommandDefinition,
  buildImportCsvDefinition,
  buildImportZipDefinition,
  buildTaskDefinition,
} from '../../components/workflows';
import { OPTION_SETS } from './fixtures';

type Json = Record<string, unknown>;

function generated(): Array<[string, Json]> {
  const out: Array<[string, Json]> = [];
  for (const set of OPTION_SETS) {
    const defs = {
      command: buildCommandDefinition(set.command),
      task: buildTaskDefinition(set.task),
      'import-csv': buildImportCsvDefinition(set.importCsv),
      'import-zip': buildImportZipDefinition(set.importZip),
    };
    for (const [name, d] of Object.entries(defs))
      out.push([`${set.label} ${name}`, JSON.parse(serializeDefinition(d)) as Json]);
  }
  return out;
}

const pass = (extra: Json): Json => ({ Type: 'Pass', End: true, ...extra });
const machine = (states: Json, extra: Json = {}): Json => ({
  StartAt: Object.keys(states)[0],
  States: states,
  ...extra,
});

/** Broken and unusual definitions: each exercises another schema or format of asl-validator. */
const handMade: Array<[string, Json]> = [
  ['bad OutputPath', machine({ A: pass({ OutputPath: '$..[' }) })],
  ['unknown state type', machine({ A: { Type: 'Teleport', End: true } })],
  ['Next and End', machine({ A: pass({ Next: 'A' }) })],
  [
    'MaxConcurrency as a string',
    machine({ M: { Type: 'Map', End: true, MaxConcurrency: '5', ItemProcessor: machine({ P: pass({}) }) } }),
  ],
  ['bad Resource ARN', machine({ T: { Type: 'Task', Resource: 'arn:nope', End: true } })],
  [
    'JSONata machine, valid',
    machine({ A: pass({ Output: '{% $states.input.x + 1 %}' }) }, { QueryLanguage: 'JSONata' }),
  ],
  [
    'JSONata machine, broken expression',
    machine({ A: pass({ Output: '{% $states.input.x + %}' }) }, { QueryLanguage: 'JSONata' }),
  ],
  ['Choice without Choices', machine({ C: { Type: 'Choice', Default: 'D' }, D: { Type: 'Succeed' } })],
  ['Wait with two durations', machine({ W: { Type: 'Wait', Seconds: 1, SecondsPath: '$.s', End: true } })],
  [
    'Retry with a negative MaxAttempts',
    machine({
      T: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        End: true,
        Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: -1 }],
      },
    }),
  ],
  ['valid Parallel', machine({ P: { Type: 'Parallel', End: true, Branches: [machine({ A: pass({}) })] } })],
  ['missing StartAt', { States: { A: pass({}) } }],
];

/** What asl-validator's validator.js does before its schema check: default each state's QueryLanguage. */
function withQueryLanguage(definition: Json): Json {
  const copy = structuredClone(definition);
  const language = typeof copy.QueryLanguage === 'string' ? copy.QueryLanguage : 'JSONPath';
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    const obj = value as Json;
    if (obj.States && typeof obj.States === 'object') {
      for (const state of Object.values(obj.States as Json)) {
        if (state && typeof state === 'object' && !(state as Json).QueryLanguage)
          (state as Json).QueryLanguage = language;
      }
    }
    Object.values(obj).forEach(visit);
  };
  visit(copy);
  return copy;
}

describe('asl-validator schema check compiled once', () => {
  const corpus = [...generated(), ...handMade];
  const optionSets = [
    { checkPaths: true, checkArn: true },
    { checkPaths: false, checkArn: false },
  ];

  it('is installed by validateDefinition (asl-validator calls ours)', () => {
    validateDefinition('probe', JSON.parse(JSON.stringify(generated()[0][1])) as never);
    const checks = require(require.resolve('asl-validator/dist/src/checks/json-schema-errors.js')) as {
      jsonSchemaErrors: unknown;
    };
    assert.equal(checks.jsonSchemaErrors, compiledSchemaErrors);
  });

  for (const options of optionSets) {
    it(`reports exactly what the library reports (${JSON.stringify(options)}) on ${corpus.length} definitions`, () => {
      let invalid = 0;
      for (const [label, definition] of corpus) {
        const ours = compiledSchemaErrors(withQueryLanguage(definition), options);
        const theirs = librarySchemaErrors(withQueryLanguage(definition), options);
        assert.deepEqual(ours, theirs, label);
        if (theirs.length > 0) invalid++;
      }
      // The corpus must hold both kinds, or the comparison proves little.
      assert.ok(invalid >= 6 && invalid < corpus.length, `${invalid} of ${corpus.length} invalid`);
    });
  }
});
