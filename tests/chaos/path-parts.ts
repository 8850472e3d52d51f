/**
 * What both command paths share for the chaos harness and the cost benchmark: command-step
 * and task-step with the timeouts the handlers are told about (SYNC_CALL_TIMEOUTS), the task
 * machine, the stream router and execution-watch, and how a call to a sync target is known.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildTaskDefinition } from '../../components/workflows/task-definition';
import { handler as commandStep } from '../../handlers/command-step';
import { handler as taskStep, registerTaskExecutor, unregisterTaskExecutor } from '../../handlers/task-step';
import { handler as streamRouter } from '../../handlers/stream-router';
import { handler as executionWatch } from '../../handlers/execution-watch';
import { ARN } from '../handlers/_support/env';
import type { ChaosTarget, CommandPath } from './harness/chaos';

export const COMMAND_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-command-step';
export const TASK_STEP_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-task-step';
/** command-step's timeout: also how long a call to the built-in `data` target can run. */
export const COMMAND_STEP_TIMEOUT_SECONDS = 5;

/** The parts of a CommandPath that do not depend on which machines run a command. */
export function sharedPathParts(
  targets: readonly ChaosTarget[],
): Omit<CommandPath, 'name' | 'machines' | 'expressMachines' | 'stoppable'> & { taskMachine: StateMachineDefinition } {
  const byArn = new Map(targets.map((t) => [t.functionArn, t.name]));
  return {
    taskMachine: buildTaskDefinition({
      taskStepArn: TASK_STEP_ARN,
      maxConcurrency: 2,
      timeoutSeconds: 600,
    }) as unknown as StateMachineDefinition,
    functions: {
      [COMMAND_STEP_ARN]: { handler: (e) => commandStep(e as never), timeoutMs: COMMAND_STEP_TIMEOUT_SECONDS * 1000 },
      [TASK_STEP_ARN]: { handler: (e) => taskStep(e as never), timeoutMs: 5000 },
    },
    streamRouter: (e, context) => streamRouter(e as never, context),
    executionWatch: (e) => executionWatch(e as never),
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

export { ARN };
