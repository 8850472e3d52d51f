/**
 * The seed-shaped STANDARD command path (`commandPath: STANDARD`), for the chaos harness and
 * the cost benchmark: one STANDARD command execution per version, started by the stream router.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { buildCommandDefinition } from '../../components/workflows/command-definition';
import type { ChaosTarget, CommandPath, PathSettings } from './harness/chaos';
import { ARN, COMMAND_STEP_ARN, sharedPathParts } from './path-parts';

export function standardPath(targets: readonly ChaosTarget[], settings: PathSettings = {}): CommandPath {
  const command = buildCommandDefinition({
    commandStepArn: COMMAND_STEP_ARN,
    syncTargets: targets.map((t) => ({ name: t.name, functionArn: t.functionArn })),
    waitTimeoutSeconds: settings.waitTimeoutSeconds ?? 30,
    waitHeartbeatSeconds: settings.waitHeartbeatSeconds ?? 1,
    syncMaxConcurrency: 3,
  });
  const { taskMachine, ...shared } = sharedPathParts(targets);
  return {
    ...shared,
    name: 'standard (STANDARD command machine, one Lambda call per state)',
    machines: {
      [ARN.command]: command as unknown as StateMachineDefinition,
      [ARN.task]: taskMachine,
    },
    stoppable: { commands: [ARN.command], tasks: [ARN.task] },
  };
}
