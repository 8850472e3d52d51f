import assert from 'node:assert/strict';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  DefinitionValidationError,
  forEachState,
  lambdaRetrier,
  lambdaThrottleRetrier,
  lambdaTask,
  serializeDefinition,
  validateDefinition,
  type State,
  type StateMachineDefinition,
  type TaskState,
} from '../../components/asl';
import {
  buildCommandDefinition,
  buildCommandExpressDefinition,
  buildCommandWaitDefinition,
  buildImportCsvDefinition,
  buildImportZipDefinition,
  buildTaskDefinition,
  type CommandDefinitionOptions,
} from '../../components/workflows';
import { COMMAND_STEP_ARN, DEV_LIKE, OPTION_SETS, PROD_LIKE, functionArn, type OptionSet } from './fixtures';

// The same asl-validator the module wraps, called directly: the acceptance test must
// not depend on our wrapper being right.
interface RawValidatorResult {
  isValid: boolean;
  errors: { 'Error code': string; Message: string }[];
}
const aslValidator = require('asl-validator') as (
  d: unknown,
  o: { checkPaths: boolean; checkArn: boolean },
) => RawValidatorResult;

function rawValidate(definition: StateMachineDefinition): RawValidatorResult {
  return aslValidator(JSON.parse(serializeDefinition(definition)), { checkPaths: true, checkArn: true });
}

function statesOf(definition: StateMachineDefinition): Map<string, State> {
  const states = new Map<string, State>();
  forEachState(definition, (name, state) => states.set(name, state));
  return states;
}

function tasksOf(definition: StateMachineDefinition): [string, TaskState][] {
  return [...statesOf(definition)].filter((e): e is [string, TaskState] => e[1].Type === 'Task');
}

function mutable(definition: StateMachineDefinition): StateMachineDefinition {
  return JSON.parse(serializeDefinition(definition)) as StateMachineDefinition;
}

/** The EXPRESS command machine of an option set: its targets declare a timeout that fits one run. */
function expressOptions(set: OptionSet) {
  return {
    commandStepArn: set.command.commandStepArn,
    syncTargets: set.command.syncTargets.map((t) => ({ ...t, timeoutSeconds: 30 })),
    syncMaxConcurrency: set.command.syncMaxConcurrency,
  };
}

function waitOptions(set: OptionSet) {
  return {
    commandStepArn: set.command.commandStepArn,
    commandRunnerArn: functionArn('stream-router'),
    waitTimeoutSeconds: set.command.waitTimeoutSeconds,
    waitHeartbeatSeconds: set.command.waitHeartbeatSeconds,
  };
}

const BUILDERS: {
  machine: string;
  build: (set: OptionSet) => StateMachineDefinition;
  states: (set: OptionSet) => string[];
}[] = [
  {
    machine: 'command',
    build: (set) => buildCommandDefinition(set.command),
    states: (set) => [
      'check_version',
      'check_version_result',
      'wait_prev_command',
      'recheck_prev_command',
      'recheck_prev_command_result',
      'calls_running',
      'wait_calls_end',
      'set_ttl_command',
      'history_copy',
      'transform_data',
      'sync_data_all',
      'sync_target',
      'sync_data',
      ...set.command.syncTargets.map((t) => `sync_${t.name}`),
      'sync_unknown_target',
      'sync_failed',
      'sync_failed_unreported',
      'finish',
      'success',
      'mark_failed',
      'fail',
    ],
  },
  {
    machine: 'command (EXPRESS)',
    build: (set) => buildCommandExpressDefinition(expressOptions(set)),
    states: (set) => [
      'check_version',
      'check_version_result',
      'must_wait',
      'set_ttl_command',
      'history_copy',
      'transform_data',
      'held_by_another_run',
      'sync_data_all',
      'sync_target',
      'sync_data',
      ...set.command.syncTargets.map((t) => `sync_${t.name}`),
      'sync_unknown_target',
      'sync_failed',
      'sync_failed_unreported',
      'finish',
      'success',
      'already_ended',
      'mark_failed',
      'version_failed',
      'fail',
    ],
  },
  {
    machine: 'command-wait',
    build: (set) => buildCommandWaitDefinition(waitOptions(set)),
    states: () => [
      'wait_prev_command',
      'recheck_prev_command',
      'recheck_prev_command_result',
      'calls_running',
      'wait_calls_end',
      'run_command',
      'already_ended',
      'mark_failed',
      'fail',
    ],
  },
  {
    machine: 'task',
    build: (set) => buildTaskDefinition(set.task),
    states: () => ['map_state', 'iterator', 'iterator_failed', 'finalize_task', 'success'],
  },
  {
    machine: 'import-csv',
    build: (set) => buildImportCsvDefinition(set.importCsv),
    states: () => ['csv_loader', 'rows_to_import', 'import_rows', 'csv_rows_handler', 'finalize_parent_job', 'success'],
  },
  {
    machine: 'import-zip',
    build: (set) => buildImportZipDefinition(set.importZip),
    states: () => ['unzip', 'import_csv_files', 'trigger_single_csv_and_wait', 'finalize_zip_job', 'success'],
  },
];

describe('asl: generated definitions', () => {
  for (const set of OPTION_SETS) {
    for (const { machine, build, states } of BUILDERS) {
      describe(`${machine} (${set.label})`, () => {
        const definition = build(set);

        it('is accepted by asl-validator 4 (paths and ARNs checked), validateDefinition and the local interpreter', () => {
          const result = rawValidate(definition);
          assert.equal(result.isValid, true, result.errors.map((e) => e.Message).join('\n'));
          validateDefinition(machine, definition);
          assert.doesNotThrow(() => new StateMachine(JSON.parse(serializeDefinition(definition))));
        });

        it("has exactly the contract's state names", () => {
          assert.deepEqual([...statesOf(definition).keys()].sort(), states(set).sort());
        });

        it('gives every Task the contract payload and the standard Lambda retrier (sync calls: throttles only)', () => {
          for (const [name, task] of tasksOf(definition)) {
            // a sync call is never retried while an earlier attempt may still run (issue 9, item 10)
            const syncCall = machine.startsWith('command') && name.startsWith('sync_') && name !== 'sync_failed';
            // run_command also runs a failed or held run again (checked below)
            if (name === 'run_command') assert.deepEqual(task.Retry?.[0], lambdaRetrier(), `${name} Retry`);
            else assert.deepEqual(task.Retry, [syncCall ? lambdaThrottleRetrier() : lambdaRetrier()], `${name} Retry`);
            const payload = task.Parameters?.Payload;
            if (task.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
              assert.deepEqual(
                payload,
                { source: 'step-function', 'context.$': '$$', 'input.$': '$', 'taskToken.$': '$$.Task.Token' },
                name,
              );
              assert.ok(
                Number.isInteger(task.TimeoutSeconds) && (task.TimeoutSeconds ?? 0) >= 1,
                `${name} needs TimeoutSeconds`,
              );
              assert.equal(task.ResultPath, null, `${name} ResultPath`);
              assert.equal(task.OutputPath, undefined, `${name} OutputPath`);
            } else {
              assert.equal(task.Resource, 'arn:aws:states:::lambda:invoke', name);
              assert.deepEqual(payload, { source: 'step-function', 'context.$': '$$', 'input.$': '$' }, name);
              if (syncCall && name !== 'sync_data')
                assert.deepEqual(task.ResultSelector, { status: 'FINISHED' }, `${name} ResultSelector`);
              else assert.equal(task.OutputPath, '$.Payload', `${name} OutputPath`);
            }
          }
        });

        it("bounds every Map's concurrency (no MaxConcurrency 0 = unlimited)", () => {
          for (const [name, state] of statesOf(definition)) {
            if (state.Type === 'Map') assert.ok((state.MaxConcurrency ?? 0) >= 1, `${name} MaxConcurrency`);
          }
        });
      });
    }
  }

  it('command: every top-level Task and Map catches States.ALL into mark_failed with $.error, mark_failed into fail', () => {
    const definition = buildCommandDefinition(PROD_LIKE.command);
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task' && state.Type !== 'Map') continue;
      const last = state.Catch?.[state.Catch.length - 1];
      if (name === 'mark_failed') {
        assert.deepEqual(state.Catch, [{ ErrorEquals: ['States.ALL'], Next: 'fail', ResultPath: '$.markFailedError' }]);
        assert.equal(state.Next, 'fail');
      } else {
        assert.deepEqual(last, { ErrorEquals: ['States.ALL'], Next: 'mark_failed', ResultPath: '$.error' }, name);
      }
    }
    const wait = definition.States.wait_prev_command as TaskState;
    assert.deepEqual(wait.Catch?.[0].ErrorEquals, ['States.HeartbeatTimeout', 'States.Timeout']);
    assert.equal(wait.HeartbeatSeconds, 600);
    assert.equal(wait.TimeoutSeconds, 86_400);
  });

  it('command (EXPRESS): 300 s; every step catches VersionAlreadyEnded into already_ended before States.ALL into mark_failed; the run ends with an outcome', () => {
    const definition = buildCommandExpressDefinition(expressOptions(PROD_LIKE));
    assert.equal(definition.TimeoutSeconds, 300);
    for (const name of ['check_version', 'set_ttl_command', 'history_copy', 'transform_data', 'finish']) {
      const state = definition.States[name] as TaskState;
      const errors = (state.Catch ?? []).map((c) => [c.ErrorEquals.join('|'), c.Next]);
      assert.deepEqual(errors[0], ['VersionAlreadyEnded', 'already_ended'], name);
      assert.deepEqual(errors[errors.length - 1], ['States.ALL', 'mark_failed'], name);
    }
    // transform_data finds another run's lease; finish finds its own lease taken over
    for (const name of ['transform_data', 'finish']) {
      const state = definition.States[name] as TaskState;
      assert.ok(
        state.Catch?.some((c) => c.ErrorEquals[0] === 'SyncHeldByAnotherRun' && c.Next === 'held_by_another_run'),
        name,
      );
    }
    for (const [name, outcome] of [
      ['must_wait', 'MUST_WAIT'],
      ['held_by_another_run', 'HELD'],
    ] as const)
      assert.deepEqual(definition.States[name], { Type: 'Pass', Result: outcome, ResultPath: '$.outcome', End: true });
    assert.equal(
      (definition.States.mark_failed as TaskState).Next,
      'version_failed',
      'a recorded failure ends the run SUCCEEDED',
    );
    assert.deepEqual(
      (definition.States.check_version_result as { Choices: unknown[]; Default: string }).Default,
      'must_wait',
      'an EXPRESS run never waits',
    );
  });

  it('command (EXPRESS): refuses a sync target without a timeout, or one longer than a run leaves for it', () => {
    const target = { name: 'search', functionArn: functionArn('search') };
    for (const timeoutSeconds of [undefined, 0, 241, 900])
      assert.throws(
        () =>
          buildCommandExpressDefinition({
            commandStepArn: COMMAND_STEP_ARN,
            syncTargets: [{ ...target, timeoutSeconds } as never],
            syncMaxConcurrency: 5,
          }),
        /must be an integer from 1 to 240[^]*commandPath STANDARD/,
      );
    assert.doesNotThrow(() =>
      buildCommandExpressDefinition({
        commandStepArn: COMMAND_STEP_ARN,
        syncTargets: [{ ...target, timeoutSeconds: 240 }],
        syncMaxConcurrency: 5,
      }),
    );
  });

  it('command-wait: run_command runs a failed or held run again, then fails the version; a version that must wait again waits again', () => {
    const definition = buildCommandWaitDefinition(waitOptions(PROD_LIKE));
    const run = definition.States.run_command as TaskState;
    assert.equal(run.Parameters?.FunctionName, functionArn('stream-router'));
    assert.deepEqual(run.Retry?.[1].ErrorEquals, ['CommandRunFailed', 'SyncHeldByAnotherRun']);
    assert.deepEqual(
      run.Catch?.map((c) => [c.ErrorEquals.join('|'), c.Next]),
      [
        ['VersionMustWait', 'wait_prev_command'],
        ['States.ALL', 'mark_failed'],
      ],
    );
    assert.equal(run.End, true, 'a normal wait costs two transitions: wait_prev_command, run_command');
    const wait = definition.States.wait_prev_command as TaskState;
    assert.equal(wait.Next, 'run_command');
    assert.equal(wait.HeartbeatSeconds, 600);
  });

  it('task: MaxConcurrency 2 and TimeoutSeconds 900 by default', () => {
    const definition = buildTaskDefinition(DEV_LIKE.task);
    assert.equal(definition.TimeoutSeconds, 900);
    const map = definition.States.map_state;
    assert.ok(map.Type === 'Map');
    assert.equal(map.MaxConcurrency, 2);
    assert.equal(map.ResultPath, null);
  });

  it('import-zip: HeartbeatSeconds only when childHeartbeatSeconds is given', () => {
    const task = (set: OptionSet) =>
      statesOf(buildImportZipDefinition(set.importZip)).get('trigger_single_csv_and_wait') as TaskState;
    assert.equal(task(DEV_LIKE).HeartbeatSeconds, undefined);
    assert.equal(task(PROD_LIKE).HeartbeatSeconds, 600);
  });
});

describe('asl: serializeDefinition', () => {
  it('gives the same bytes for the same options, whatever the key order', () => {
    const a = serializeDefinition(buildCommandDefinition(PROD_LIKE.command));
    assert.equal(serializeDefinition(buildCommandDefinition(PROD_LIKE.command)), a);
    const reversed = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(reversed);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value)
          .reverse()
          .map(([k, v]) => [k, reversed(v)]),
      );
    };
    const shuffled = reversed(buildCommandDefinition(PROD_LIKE.command)) as StateMachineDefinition;
    assert.notEqual(JSON.stringify(shuffled), JSON.stringify(buildCommandDefinition(PROD_LIKE.command)));
    assert.equal(serializeDefinition(shuffled), a);
  });

  it('refuses values JSON cannot carry', () => {
    const definition = mutable(buildTaskDefinition(DEV_LIKE.task));
    definition.TimeoutSeconds = Number.NaN;
    assert.throws(() => serializeDefinition(definition), /TimeoutSeconds is NaN/);
  });
});

describe('asl: validateDefinition', () => {
  function rejection(machine: string, definition: StateMachineDefinition): DefinitionValidationError {
    try {
      validateDefinition(machine, definition);
    } catch (err) {
      assert.ok(err instanceof DefinitionValidationError, String(err));
      return err;
    }
    assert.fail('validateDefinition accepted a broken definition');
  }

  it('names the machine, the Choice inside the Map iterator and the validator message for a Default pointing nowhere', () => {
    const definition = mutable(buildCommandDefinition(DEV_LIKE.command));
    const map = definition.States.sync_data_all;
    assert.ok(map.Type === 'Map' && map.ItemProcessor);
    const choice = map.ItemProcessor.States.sync_target;
    assert.ok(choice.Type === 'Choice');
    choice.Default = 'nowhere';
    const err = rejection('command', definition);
    assert.match(err.message, /State machine "command"/);
    assert.match(err.message, /state "sync_target"[^\n]*Missing 'StartAt'\|'Next'\|'Default' target: nowhere/);
    assert.ok(err.issues.some((i) => i.stateNames.includes('sync_target')));
  });

  it('rejects a transition out of a Map ItemProcessor, which asl-validator 4 alone accepts', () => {
    const definition = mutable(buildCommandDefinition(DEV_LIKE.command));
    const map = definition.States.sync_data_all;
    assert.ok(map.Type === 'Map' && map.ItemProcessor);
    const choice = map.ItemProcessor.States.sync_target;
    assert.ok(choice.Type === 'Choice');
    choice.Choices.push({ Variable: '$.target', StringEquals: 'skip', Next: 'finish' });
    assert.equal(rawValidate(definition).isValid, true, 'asl-validator 4.0.0 does not scope ItemProcessor transitions');
    const err = rejection('command', definition);
    assert.match(
      err.message,
      /state "sync_target" at \/States\/sync_data_all\/ItemProcessor\/States\/sync_target: OUT_OF_SCOPE_TRANSITION/,
    );
  });

  it('derives the nested state from a schema error path', () => {
    const definition = mutable(buildImportCsvDefinition(DEV_LIKE.importCsv));
    const map = definition.States.import_rows;
    assert.ok(map.Type === 'Map' && map.ItemProcessor);
    const handler = map.ItemProcessor.States.csv_rows_handler;
    assert.ok(handler.Type === 'Task' && handler.Retry);
    handler.Retry[0].BackoffRate = -1;
    const err = rejection('import-csv', definition);
    assert.match(err.message, /State machine "import-csv"/);
    assert.match(
      err.message,
      /state "csv_rows_handler" at \/States\/import_rows\/ItemProcessor\/States\/csv_rows_handler\/Retry\/0\/BackoffRate: SCHEMA_VALIDATION_FAILED: .*must be >= 0/,
    );
  });

  it('rejects HeartbeatSeconds >= TimeoutSeconds inside a Map', () => {
    const definition = mutable(buildImportZipDefinition(PROD_LIKE.importZip));
    forEachState(definition, (name, state) => {
      if (name === 'trigger_single_csv_and_wait' && state.Type === 'Task') state.HeartbeatSeconds = 7200;
    });
    assert.match(
      rejection('import-zip', definition).message,
      /state "trigger_single_csv_and_wait"[^\n]*HeartbeatSeconds \(7200\) must be smaller than TimeoutSeconds \(7200\)/,
    );
  });

  it('names the state that makes a Map iteration lack a terminal state', () => {
    const definition = mutable(buildTaskDefinition(DEV_LIKE.task));
    const map = definition.States.map_state;
    assert.ok(map.Type === 'Map' && map.ItemProcessor);
    map.ItemProcessor.States.iterator_failed = { Type: 'Pass', Next: 'iterator' };
    const iterator = map.ItemProcessor.States.iterator;
    assert.ok(iterator.Type === 'Task');
    delete iterator.End;
    (iterator as { Next?: string }).Next = 'iterator_failed';
    assert.match(rejection('task', definition).message, /state "map_state"[^\n]*MISSING_TERMINAL_STATE/);
  });

  describe('valid ASL that asl-validator 4 crashes on or misreads', () => {
    const F = functionArn('cqrs-dev-command-step');
    const invoke = (payload: Record<string, unknown>) => ({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: F, Payload: payload },
      End: true,
    });
    const cases: [string, unknown][] = [
      [
        'a state named Iterator (and one named States)',
        {
          StartAt: 'Iterator',
          States: { Iterator: { Type: 'Pass', Next: 'States' }, States: { Type: 'Pass', End: true } },
        },
      ],
      [
        'a state named Iterator inside a Map',
        {
          StartAt: 'm',
          States: {
            m: {
              Type: 'Map',
              MaxConcurrency: 1,
              ItemProcessor: { StartAt: 'Iterator', States: { Iterator: { Type: 'Pass', End: true } } },
              End: true,
            },
          },
        },
      ],
      ['a payload key named States', { StartAt: 't', States: { t: invoke({ States: { open: 1 } }) } }],
      ['a payload key named Iterator', { StartAt: 't', States: { t: invoke({ Iterator: { x: 1 } }) } }],
      // The validator writes its default QueryLanguage into whatever sits under a "States" key.
      [
        'a QueryLanguage under a payload key named States',
        {
          StartAt: 't',
          States: { t: invoke({ States: { a: { QueryLanguage: 'JSONata', b: 'c' } } }) },
        },
      ],
      // Not a crash: the validator takes payload keys Next / Default for transitions.
      [
        'payload keys named Next and Default',
        { StartAt: 't', States: { t: invoke({ Next: 'page-2', Default: 'x' }) } },
      ],
    ];
    for (const [label, definition] of cases) {
      it(`accepts ${label}`, () => {
        let raw: string;
        try {
          raw = rawValidate(definition as StateMachineDefinition).isValid ? 'accepted' : 'rejected';
        } catch {
          raw = 'crashed';
        }
        assert.notEqual(raw, 'accepted', 'asl-validator handles this now: the case proves nothing');
        validateDefinition('edge', definition as StateMachineDefinition);
      });
    }

    it('still finds what is wrong in such a definition, under the original names', () => {
      const err = rejection('edge', {
        StartAt: 'Iterator',
        States: { Iterator: { Type: 'Pass', Next: 'nowhere' }, States: { Type: 'Pass', End: true } },
      } as unknown as StateMachineDefinition);
      assert.match(err.message, /state "Iterator"[^\n]*target: nowhere/);
      assert.ok(!/__state|__key/.test(err.message), err.message);
    });

    it('throws DefinitionValidationError with issues, never another error, when nothing can be validated', () => {
      const broken = rejection('edge', { StartAt: 'a', States: { a: 5 } } as unknown as StateMachineDefinition);
      assert.deepEqual(
        broken.issues.map((i) => [i.code, i.stateNames]),
        [['VALIDATOR_FAILURE', ['a']]],
      );
      for (const definition of [null, 'x', { StartAt: 'a' }]) {
        const err = rejection('edge', definition as unknown as StateMachineDefinition);
        assert.ok(err.issues.length > 0);
      }
    });
  });

  it('does not modify the definition it validates', () => {
    const definition = buildCommandDefinition(DEV_LIKE.command);
    const before = serializeDefinition(definition);
    validateDefinition('command', definition);
    assert.equal(serializeDefinition(definition), before);
  });
});

describe('asl: forEachState', () => {
  it('visits states nested in Map ItemProcessor and Parallel Branches with their JSON pointers', () => {
    const definition: StateMachineDefinition = {
      StartAt: 'p',
      States: {
        p: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'a', States: { a: { Type: 'Pass', End: true } } },
            {
              StartAt: 'm',
              States: {
                m: {
                  Type: 'Map',
                  ItemProcessor: { StartAt: 'x/y', States: { 'x/y': { Type: 'Succeed' } } },
                  End: true,
                },
              },
            },
          ],
          End: true,
        },
      },
    };
    const visited: [string, string, string][] = [];
    forEachState(definition, (name, state, path) => visited.push([name, state.Type, path]));
    assert.deepEqual(visited, [
      ['p', 'Parallel', '/States/p'],
      ['a', 'Pass', '/States/p/Branches/0/States/a'],
      ['m', 'Map', '/States/p/Branches/1/States/m'],
      ['x/y', 'Succeed', '/States/p/Branches/1/States/m/ItemProcessor/States/x~1y'],
    ]);
  });
});

describe('asl: lambdaTask', () => {
  it('builds a waiting task with the task token, its limits and ResultPath null', () => {
    const task = lambdaTask(COMMAND_STEP_ARN, {
      waitForTaskToken: true,
      timeoutSeconds: 60,
      heartbeatSeconds: 10,
      end: true,
    });
    assert.equal(task.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    assert.deepEqual(task.Parameters, {
      FunctionName: COMMAND_STEP_ARN,
      Payload: { source: 'step-function', 'context.$': '$$', 'input.$': '$', 'taskToken.$': '$$.Task.Token' },
    });
    assert.equal(task.TimeoutSeconds, 60);
    assert.equal(task.HeartbeatSeconds, 10);
    assert.equal(task.ResultPath, null);
  });

  it('refuses a heartbeat not below the timeout, a missing transition and a non-integer timeout', () => {
    assert.throws(
      () =>
        lambdaTask(COMMAND_STEP_ARN, { waitForTaskToken: true, timeoutSeconds: 10, heartbeatSeconds: 10, end: true }),
      /heartbeatSeconds \(10\) must be less than timeoutSeconds \(10\)/,
    );
    assert.throws(() => lambdaTask(COMMAND_STEP_ARN, {} as never), /exactly one of `next` or `end: true`/);
    assert.throws(
      () =>
        lambdaTask(COMMAND_STEP_ARN, {
          waitForTaskToken: true,
          timeoutSeconds: 1.5,
          heartbeatSeconds: null,
          next: 'x',
        }),
      /timeoutSeconds must be an integer >= 1/,
    );
  });
});

describe('workflows: option validation', () => {
  const command = (patch: Partial<CommandDefinitionOptions>) => () =>
    buildCommandDefinition({ ...DEV_LIKE.command, ...patch });
  const target = (name: string) => ({ name, functionArn: functionArn('consumer') });
  const cases: [string, () => unknown, RegExp][] = [
    [
      'syncMaxConcurrency 0',
      command({ syncMaxConcurrency: 0 }),
      /buildCommandDefinition: option "syncMaxConcurrency" must be an integer >= 1, got 0/,
    ],
    [
      'heartbeat = timeout',
      command({ waitHeartbeatSeconds: 3600 }),
      /option "waitHeartbeatSeconds" \(3600\) must be less than "waitTimeoutSeconds" \(3600\)/,
    ],
    [
      'target name with a space',
      command({ syncTargets: [target('search index')] }),
      /option "syncTargets\[0\]\.name" must match \[A-Za-z0-9_-\]\+/,
    ],
    [
      'duplicate target',
      command({ syncTargets: [target('search'), target('search')] }),
      /option "syncTargets\[1\]\.name" duplicates sync target "search"/,
    ],
    ['target named data', command({ syncTargets: [target('data')] }), /option "syncTargets\[0\]\.name" is "data"/],
    [
      'target clashing with sync_target',
      command({ syncTargets: [target('target')] }),
      /would create state "sync_target"/,
    ],
    [
      'target clashing with sync_data_all',
      command({ syncTargets: [target('data_all')] }),
      /would create state "sync_data_all"/,
    ],
    ['target name too long', command({ syncTargets: [target('x'.repeat(76))] }), /exceeds 80 characters/],
    [
      'target ARN that is a name',
      command({ syncTargets: [{ name: 'search', functionArn: 'search-fn' }] }),
      /option "syncTargets\[0\]\.functionArn" must be a Lambda function ARN/,
    ],
    [
      'commandStepArn not an ARN',
      command({ commandStepArn: '' }),
      /option "commandStepArn" must be a Lambda function ARN/,
    ],
    [
      'task maxConcurrency 0',
      () => buildTaskDefinition({ ...DEV_LIKE.task, maxConcurrency: 0 }),
      /buildTaskDefinition: option "maxConcurrency"/,
    ],
    [
      'task timeout beyond a year',
      () => buildTaskDefinition({ ...DEV_LIKE.task, timeoutSeconds: 31_536_001 }),
      /option "timeoutSeconds" must be an integer between 1 and 31536000/,
    ],
    [
      'csv maxItemsPerBatch 0',
      () => buildImportCsvDefinition({ ...DEV_LIKE.importCsv, maxItemsPerBatch: 0 }),
      /buildImportCsvDefinition: option "maxItemsPerBatch"/,
    ],
    [
      'csv tolerated 101 %',
      () => buildImportCsvDefinition({ ...DEV_LIKE.importCsv, toleratedFailurePercentage: 101 }),
      /option "toleratedFailurePercentage" must be an integer between 0 and 100/,
    ],
    [
      'csv maxConcurrency 0',
      () => buildImportCsvDefinition({ ...DEV_LIKE.importCsv, maxConcurrency: 0 }),
      /option "maxConcurrency" must be an integer between 1 and 10000/,
    ],
    [
      'csv bad bucket',
      () => buildImportCsvDefinition({ ...DEV_LIKE.importCsv, resultBucket: 'Bad_Bucket' }),
      /option "resultBucket" must be an S3 bucket name/,
    ],
    [
      'csv prefix with leading slash',
      () => buildImportCsvDefinition({ ...DEV_LIKE.importCsv, resultPrefix: '/results' }),
      /option "resultPrefix"/,
    ],
    [
      'zip heartbeat > timeout',
      () => buildImportZipDefinition({ ...DEV_LIKE.importZip, childHeartbeatSeconds: 7200 }),
      /option "childHeartbeatSeconds" \(7200\) must be less than "childTimeoutSeconds" \(3600\)/,
    ],
    [
      'zip timeout 0',
      () => buildImportZipDefinition({ ...DEV_LIKE.importZip, childTimeoutSeconds: 0 }),
      /option "childTimeoutSeconds" must be an integer >= 1/,
    ],
  ];
  for (const [label, build, message] of cases) {
    it(`refuses ${label}`, () => assert.throws(build, message));
  }
});
