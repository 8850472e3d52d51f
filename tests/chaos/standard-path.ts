/**
 * The command path as this package deploys it, for the chaos harness: the generated command
 * and task definitions, command-step / task-step, the stream router and execution-watch —
 * with the function timeouts the handlers are told about (SYNC_CALL_TIMEOUTS) enforced by the
 * harness's Lambda runtime.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import { buildTaskDefinition } from '../../components/workflows/task-definition';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as executionWatch } from '../../handlers/execution-watch';
import { ARN } from '../handlers/_support/env';
import type { ChaosTarget, CommandPath, PathSettings } from './harness/chaos';

const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';
const TASK_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-task-step';
/** command-step's timeout: also how long a call to the built-in `data` target can run. */
const COMMAND_STEP_TIMEOUT_SECONDS = 5;

export function standardPath(targets: readonly ChaosTarget[], settings: PathSettings = {}): CommandPath {
  const command = buildCommandDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: targets.map((t) => ({ name: t.name, functionArn: t.functionArn })),
    waitTimeoutSeconds: settings.waitTimeoutSeconds ?? 30,
    waitHeartbeatSeconds: settings.waitHeartbeatSeconds ?? 1,
    syncMaxConcurrency: 3,
  });
  const task = buildTaskDefinition({ taskStepArn: TASK_STEP_ARN, maxConcurrency: 2, timeoutSeconds: 600 });
  const byArn = new Map(targets.map((t) => [t.functionArn, t.name]));
  return {
    name: 'standard (STANDARD command machine, one Lambda call per state)',
    machines: {
      [ARN.command]: command as unknown as StateMachineDefinition,
      [ARN.task]: task as unknown as StateMachineDefinition,
    },
    functions: {
      [COMMAND_STEP_ARN]: { handler: (e) => commandStep(e as never), timeoutMs: COMMAND_STEP_TIMEOUT_SECONDS * 1000 },
      [TASK_STEP_ARN]: { handler: (e) => taskStep(e as never), timeoutMs: 5000 },
    },
    streamRouter: (e) => streamRouter(e as never),
    executionWatch: (e) => executionWatch(e as never),
    stoppable: { commands: [ARN.command], tasks: [ARN.task] },
    registerTaskExecutor(taskType, executor) {
      registerTaskExecutor(taskType, executor);
      return () => unregisterTaskExecutor(taskType);
    },
    env: {
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
