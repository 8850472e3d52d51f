import { strict as assert } from 'assert';
import { taskTokenTimeouts } from '../../policies/rules';
import { inlineMap, lambdaTask, machine, messages, run, stateMachine } from './helpers';

const policy = taskTokenTimeouts;

function waitTask(
  extra: Record<string, unknown> = {},
  resourceArn = 'arn:aws:states:::lambda:invoke.waitForTaskToken',
): Record<string, unknown> {
  return {
    Type: 'Task',
    Resource: resourceArn,
    Parameters: { FunctionName: 'fn', Payload: { 'taskToken.$': '$$.Task.Token' } },
    ResultPath: null,
    End: true,
    ...extra,
  };
}

async function violationsFor(def: unknown, config?: Record<string, Record<string, unknown>>): Promise<string[]> {
  return messages(await run(policy, stateMachine(def), config));
}

describe('sfn-task-token-timeout', () => {
  it('is mandatory with maxTimeoutSeconds default 86400', () => {
    assert.equal(policy.enforcementLevel, 'mandatory');
    assert.equal(policy.configSchema?.properties['maxTimeoutSeconds']?.default, 86400);
  });

  it('passes wait_prev_command with TimeoutSeconds and a shorter HeartbeatSeconds', async () => {
    assert.deepEqual(
      await violationsFor(machine({ wait_prev_command: waitTask({ TimeoutSeconds: 3600, HeartbeatSeconds: 300 }) })),
      [],
    );
  });

  it('fails a callback Task without TimeoutSeconds', async () => {
    const msgs = await violationsFor(machine({ wait_prev_command: waitTask() }));
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /"wait_prev_command" has no TimeoutSeconds/);
  });

  it("covers every service's .waitForTaskToken", async () => {
    for (const arn of [
      'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
      'arn:aws:states:::sns:publish.waitForTaskToken',
      'arn:aws:states:::ecs:runTask.waitForTaskToken',
      'arn:aws:states:::events:putEvents.waitForTaskToken',
    ]) {
      assert.equal((await violationsFor(machine({ t: waitTask({}, arn) }))).length, 1, arn);
      assert.equal((await violationsFor(machine({ t: waitTask({ TimeoutSeconds: 60 }, arn) }))).length, 0, arn);
    }
  });

  it('fails HeartbeatSeconds not shorter than TimeoutSeconds', async () => {
    const msgs = await violationsFor(machine({ t: waitTask({ TimeoutSeconds: 300, HeartbeatSeconds: 300 }) }));
    assert.match(msgs[0], /HeartbeatSeconds 300, not shorter than TimeoutSeconds 300/);
  });

  it('fails a timeout above the maximum, and honours a lowered maximum from config', async () => {
    assert.match(
      (await violationsFor(machine({ t: waitTask({ TimeoutSeconds: 86401 }) })))[0],
      /above the maximum 86400/,
    );
    const def = machine({ t: waitTask({ TimeoutSeconds: 3600 }) });
    assert.deepEqual(await violationsFor(def), []);
    assert.match(
      (await violationsFor(def, { 'sfn-task-token-timeout': { maxTimeoutSeconds: 600 } }))[0],
      /TimeoutSeconds 3600, above the maximum 600/,
    );
  });

  it('fails invalid timeouts (0, strings in JSONPath)', async () => {
    assert.equal((await violationsFor(machine({ t: waitTask({ TimeoutSeconds: 0 }) }))).length, 1);
    assert.equal((await violationsFor(machine({ t: waitTask({ TimeoutSeconds: '{% 60 %}' }) }))).length, 1);
  });

  it('accepts TimeoutSecondsPath and JSONata expressions', async () => {
    assert.deepEqual(
      await violationsFor(machine({ t: waitTask({ TimeoutSecondsPath: '$.timeout', HeartbeatSeconds: 60 }) })),
      [],
    );
    const jsonata = machine(
      {
        t: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Arguments: { FunctionName: 'fn', Payload: { token: '{% $states.context.Task.Token %}' } },
          TimeoutSeconds: '{% $states.input.timeout %}',
          End: true,
        },
      },
      't',
      { QueryLanguage: 'JSONata' },
    );
    assert.deepEqual(await violationsFor(jsonata), []);
  });

  it('judges JSONata callback Tasks as Step Functions does: no TimeoutSecondsPath, exact {% %} delimiters', async () => {
    const jsonata = (extra: Record<string, unknown>) =>
      machine(
        {
          t: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
            Arguments: { FunctionName: 'fn', Payload: { token: '{% $states.context.Task.Token %}' } },
            End: true,
            ...extra,
          },
        },
        't',
        { QueryLanguage: 'JSONata' },
      );
    const path = await violationsFor(jsonata({ TimeoutSecondsPath: '$.timeout' }));
    assert.equal(path.length, 1);
    assert.match(path[0], /JSONata state with TimeoutSecondsPath, a JSONPath-only field/);
    assert.match(
      (await violationsFor(jsonata({ TimeoutSeconds: 60, HeartbeatSecondsPath: '$.hb' })))[0],
      /HeartbeatSecondsPath/,
    );
    assert.match(
      (await violationsFor(jsonata({ TimeoutSeconds: ' {% 60 %}' })))[0],
      /invalid TimeoutSeconds " \{% 60 %\}"/,
    );
    assert.deepEqual(await violationsFor(jsonata({ TimeoutSeconds: '{% 60 %}' })), []);
  });

  it('finds a callback Task inside a Map iterator inside a Parallel', async () => {
    const def = machine({
      p: {
        Type: 'Parallel',
        End: true,
        Branches: [
          machine({ a: { Type: 'Pass', End: true } }),
          machine({
            m: {
              Type: 'Map',
              MaxConcurrency: 1,
              Iterator: machine({ trigger_single_csv_and_wait: waitTask() }),
              End: true,
            },
          }),
        ],
      },
    });
    const msgs = await violationsFor(def);
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /"p\/Branches\[1\]\/m\/Iterator\/trigger_single_csv_and_wait"/);
  });

  it('finds one inside a Map ItemProcessor (the ZIP import shape) and passes it once bounded', async () => {
    const bad = machine({
      import_csv_files: inlineMap({ trigger_single_csv_and_wait: waitTask() }, { MaxConcurrency: 1 }),
    });
    assert.match((await violationsFor(bad))[0], /import_csv_files\/ItemProcessor\/trigger_single_csv_and_wait/);
    const good = machine({
      import_csv_files: inlineMap(
        { trigger_single_csv_and_wait: waitTask({ TimeoutSeconds: 7200 }) },
        { MaxConcurrency: 1 },
      ),
    });
    assert.deepEqual(await violationsFor(good), []);
  });

  it('treats activity Tasks like callbacks', async () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:activity:approve';
    assert.match(
      (await violationsFor(machine({ approve: { Type: 'Task', Resource: arn, End: true } })))[0],
      /Activity Task "approve"/,
    );
    assert.deepEqual(
      await violationsFor(
        machine({ approve: { Type: 'Task', Resource: arn, TimeoutSeconds: 600, HeartbeatSeconds: 60, End: true } }),
      ),
      [],
    );
  });

  it('ignores request-response Tasks without timeouts', async () => {
    assert.deepEqual(await violationsFor(machine({ check_version: lambdaTask() })), []);
  });

  it('reports a definition unknown at preview', async () => {
    assert.match(messages(await run(policy, stateMachine(undefined)))[0], /unknown at preview/);
  });
});
