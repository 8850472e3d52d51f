/**
 * The EXPRESS command path (the default `commandPath`), for the chaos harness and the cost
 * benchmark: the stream router runs every command version on the EXPRESS command machine
 * (StartSyncExecution), a version that must wait goes to the STANDARD command-wait machine
 * whose run_command (the router's function again) runs it once released, and the commands
 * stream's on-failure records reach execution-watch. The EXPRESS machine's TimeoutSeconds is
 * short in the chaos run, so runs time out under its slow targets and the sync lease is taken
 * over for real.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandExpressDefinition } from '../../components/workflows/command-express-definition';
import { buildCommandWaitDefinition } from '../../components/workflows/command-wait-definition';
import { handler as streamRouter } from '../../handlers/stream-router';
import type { ChaosTarget, CommandPath, PathSettings } from './harness/chaos';
import { ARN, COMMAND_STEP_ARN, sharedPathParts } from './path-parts';

/** The router's function as the command-wait machine's run_command invokes it. */
const RUNNER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cqrs-test-stream-router';
export const COMMAND_WAIT_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command-wait';
/** The EXPRESS machine's TimeoutSeconds in the chaos run (300 in a stack). */
export const CHAOS_RUN_TIMEOUT_SECONDS = 2;

export function expressPath(targets: readonly ChaosTarget[], settings: PathSettings = {}): CommandPath {
  const runTimeout = settings.runTimeoutSeconds ?? CHAOS_RUN_TIMEOUT_SECONDS;
  const command = buildCommandExpressDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: targets.map((t) => ({ name: t.name, functionArn: t.functionArn, timeoutSeconds: t.timeoutSeconds })),
    syncMaxConcurrency: 3,
    timeoutSeconds: runTimeout,
  });
  const wait = buildCommandWaitDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    commandRunnerArn: RUNNER_ARN,
    waitTimeoutSeconds: settings.waitTimeoutSeconds ?? 30,
    waitHeartbeatSeconds: settings.waitHeartbeatSeconds ?? 1,
  });
  const { taskMachine, functions, env, ...shared } = sharedPathParts(targets);
  return {
    ...shared,
    name: 'express (EXPRESS run per version, STANDARD command-wait for versions that wait)',
    machines: {
      [ARN.command]: command as unknown as StateMachineDefinition,
      [COMMAND_WAIT_ARN]: wait as unknown as StateMachineDefinition,
      [ARN.task]: taskMachine,
    },
    expressMachines: [ARN.command],
    functions: {
      ...functions,
      [RUNNER_ARN]: { handler: (e, context) => streamRouter(e as never, context), timeoutMs: 15_000 },
    },
    // EXPRESS executions cannot be stopped; waiting versions can
    stoppable: { commands: [COMMAND_WAIT_ARN], tasks: [ARN.task] },
    env: {
      ...env,
      COMMAND_PATH: 'EXPRESS',
      COMMAND_WAIT_STATE_MACHINE_ARN: COMMAND_WAIT_ARN,
      COMMAND_RUN_TIMEOUT_SECONDS: String(runTimeout),
    },
  };
}
