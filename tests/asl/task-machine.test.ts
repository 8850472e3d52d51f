import assert from 'node:assert/strict';
import { buildTaskDefinition } from '../../components/workflows';
import { TASK_STEP_ARN } from './fixtures';
import { ConcurrencyProbe, callsOf, lambdaError, runDefinition, sleep, type LambdaDouble } from './harness';

const subTasks = Array.from({ length: 5 }, (_, i) => ({ pk: 'TENANT#t1', sk: `TASK#job1#${i}` }));
const INPUT = { pk: 'TENANT#t1', sk: 'TASK#job1', subTasks };

describe('task machine (executed with aws-local-stepfunctions)', function () {
  this.timeout(20_000);

  it('a failing sub-task lets the others finish, and finalize_task still runs', async () => {
    const probe = new ConcurrencyProbe();
    const iterator: LambdaDouble = (input) => {
      if (input.sk === 'TASK#job1#2') throw lambdaError('ExecutorFailed', 'sub-task 2 broke');
      return { ...input, status: 'COMPLETED' };
    };
    const run = await runDefinition(buildTaskDefinition({ taskStepArn: TASK_STEP_ARN }), INPUT, {
      doubles: { iterator: probe.wrap(iterator, 20), finalize_task: (input) => ({ ...input, status: 'FAILED' }) },
    });
    assert.equal(run.status, 'SUCCEEDED');
    assert.deepEqual(run.path, ['map_state', 'finalize_task', 'success']);
    assert.deepEqual(
      callsOf(run, 'iterator')
        .map((c) => c.input.sk)
        .sort(),
      subTasks.map((s) => s.sk),
    );
    const finalize = callsOf(run, 'finalize_task');
    assert.equal(finalize.length, 1);
    // ResultPath null: finalize_task gets the task's own input, not the iteration results.
    assert.deepEqual(finalize[0].input, INPUT);
    assert.ok(probe.peak <= 2 && probe.peak > 1, `peak ${probe.peak}, default MaxConcurrency is 2`);
  });

  it('stops at the machine-level TimeoutSeconds', async () => {
    const run = await runDefinition(buildTaskDefinition({ taskStepArn: TASK_STEP_ARN, timeoutSeconds: 1 }), INPUT, {
      // Each item outlasts the 1 s machine timeout but does end: the interpreter keeps
      // a task's own 60 s default timer alive until the task settles, which would hold
      // the test process open long after the run is over.
      doubles: { iterator: () => sleep(1500).then(() => ({})), finalize_task: (input) => input },
    });
    assert.equal(run.status, 'TIMED_OUT');
    assert.equal(callsOf(run, 'finalize_task').length, 0);
  });
});
