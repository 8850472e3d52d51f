/**
 * The EXPRESS command path (the default `commandPath`), for the chaos harness: the stream
 * router runs every command version on the EXPRESS command machine (StartSyncExecution), a
 * version that must wait goes to the STANDARD command-wait machine whose run_command (the
 * router's function again) runs it once released, and the commands stream's on-failure
 * records reach execution-watch. The EXPRESS machine's TimeoutSeconds is short here, so runs
 * time out under the harness's slow targets and the sync lease is taken over for real.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandExpressDefinition } from '../../components/workflows/command-express-definition';
import { buildCommandWaitDefinition } from '../../components/workflows/command-wait-definition';
import { buildTaskDefinition } from '../../components/workflows/task-definition';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as executionWatch } from '../../handlers/execution-watch';
import { ARN } from '../handlers/_support/env';
import type { ChaosTarget, CommandPath, PathSettings } from './harness/chaos';

const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';
const TASK_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-task-step';
/** The router's function as the command-wait machine's run_command invokes it. */
const RUNNER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-stream-router';
export const COMMAND_WAIT_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command-wait';
/** command-step's timeout: also how long a call to the built-in `data` target can run. */
const COMMAND_STEP_TIMEOUT_SECONDS = 5;
/** The EXPRESS machine's TimeoutSeconds in this harness (300 in a stack). */
export const CHAOS_RUN_TIMEOUT_SECONDS = 3;

export function expressPath(targets: readonly ChaosTarget[], settings: PathSettings = {}): CommandPath {
  const command = buildCommandExpressDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: targets.map((t) => ({ name: t.name, functionArn: t.functionArn, timeoutSeconds: t.timeoutSeconds })),
    syncMaxConcurrency: 3,
    timeoutSeconds: settings.runTimeoutSeconds ?? CHAOS_RUN_TIMEOUT_SECONDS,
  });
  const wait = buildCommandWaitDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    commandRunnerArn: RUNNER_ARN,
    waitTimeoutSeconds: settings.waitTimeoutSeconds ?? 30,
    waitHeartbeatSeconds: settings.waitHeartbeatSeconds ?? 1,
  });
  const task = buildTaskDefinition({ taskStepArn: TASK_STEP_ARN, maxConcurrency: 2, timeoutSeconds: 600 });
  const byArn = new Map(targets.map((t) => [t.functionArn, t.name]));
  return {
    name: 'express (EXPRESS run per version, STANDARD command-wait for versions that wait)',
    machines: {
      [ARN.command]: command as unknown as StateMachineDefinition,
      [COMMAND_WAIT_ARN]: wait as unknown as StateMachineDefinition,
      [ARN.task]: task as unknown as StateMachineDefinition,
    },
    expressMachines: [ARN.command],
    functions: {
      [COMMAND_STEP_ARN]: { handler: (e) => commandStep(e as never), timeoutMs: COMMAND_STEP_TIMEOUT_SECONDS * 1000 },
      [TASK_STEP_ARN]: { handler: (e) => taskStep(e as never), timeoutMs: 5000 },
      [RUNNER_ARN]: { handler: (e, context) => streamRouter(e as never, context), timeoutMs: 15_000 },
    },
    streamRouter: (e, context) => streamRouter(e as never, context),
    executionWatch: (e) => executionWatch(e as never),
    // EXPRESS executions cannot be stopped; waiting versions can
    stoppable: { commands: [COMMAND_WAIT_ARN], tasks: [ARN.task] },
    registerTaskExecutor(taskType, executor) {
      registerTaskExecutor(taskType, executor);
      return () => unregisterTaskExecutor(taskType);
    },
    env: {
      COMMAND_PATH: 'EXPRESS',
      COMMAND_WAIT_STATE_MACHINE_ARN: COMMAND_WAIT_ARN,
      COMMAND_RUN_TIMEOUT_SECONDS: String(settings.runTimeoutSeconds ?? CHAOS_RUN_TIMEOUT_SECONDS),
      SYNC_TARGETS: JSON.stringify(targets.map((t) => t.name)),
      SYNC_CALL_TIMEOUTS: JSON.stringify({
        data: COMMAND_STEP_TIMEOUT_SECONDS,
        ...Object.fromEntries(targets.map((t) => [t.name, t.timeoutSeconds])),
      }),
      COMMAND_MAX_WAIT_SECONDS: '600',
      COMMAND_TTL_SECONDS: '86400',
    },
    syncCall(functionArn, event) {
      const e = event as { input?: { pk?: string; sk?: string }; context?: { State?: { Name?: string } } };
      const pk = String(e.input?.pk);
      const sk = String(e.input?.sk);
      if (functionArn === COMMAND_STEP_ARN)
        return e.context?.State?.Name === 'sync_data' ? { target: 'data', pk, sk } : undefined;
      const target = byArn.get(functionArn);
      return target ? { target, pk, sk } : undefined;
    },
  };
}
