import * as pulumi from '@pulumi/pulumi';
import type { StateMachineDefinition } from './asl/types';
import { machineKeysFor, machineType, type FunctionKey, type MachineKey } from './function-catalog';
import { CommandPath } from '../core/status';
import { IMPORT_PREFIXES } from './import-bucket';
import type { ArnContext } from './naming';
import { WorkflowStateMachine, type LogLevel } from './state-machine';
import {
  buildCommandDefinition,
  buildCommandExpressDefinition,
  buildCommandWaitDefinition,
  buildImportCsvDefinition,
  buildImportZipDefinition,
  buildTaskDefinition,
  IMPORT_CSV_DEFAULTS,
} from './workflows';

export interface WorkflowMachinesArgs {
  prefix: string;
  /** Physical name of every machine the command path has (see machineKeysFor). */
  names: Partial<Record<MachineKey, string>>;
  /** Which machines run a command version. Default: EXPRESS. */
  commandPath?: CommandPath;
  arnContext: pulumi.Output<ArnContext>;
  /** Built from function names, not from the functions' outputs: known at preview. */
  functionArns: Record<FunctionKey, pulumi.Output<string>>;
  /** The import bucket: Distributed Map results are written there. */
  bucketName: pulumi.Input<string>;
  alarmTopicArn: pulumi.Input<string>;
  logRetentionDays?: pulumi.Input<number>;
  logLevel?: pulumi.Input<LogLevel>;
  includeExecutionData?: pulumi.Input<boolean>;
  command: {
    waitTimeoutSeconds?: pulumi.Input<number>;
    waitHeartbeatSeconds?: pulumi.Input<number>;
    syncMaxConcurrency?: pulumi.Input<number>;
    syncTargets: { name: string; functionArn: pulumi.Input<string>; timeoutSeconds?: pulumi.Input<number> }[];
  };
  task?: { maxConcurrency?: pulumi.Input<number>; timeoutSeconds?: pulumi.Input<number> };
  import?: {
    maxItemsPerBatch?: pulumi.Input<number>;
    maxConcurrency?: pulumi.Input<number>;
    toleratedFailurePercentage?: pulumi.Input<number>;
    zipChildTimeoutSeconds?: pulumi.Input<number>;
  };
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The state machines: command (EXPRESS, with command-wait for versions that wait, or the
 * seed-shaped STANDARD one), task, import-csv and import-zip.
 */
export class WorkflowMachines extends pulumi.ComponentResource {
  readonly machines: Partial<Record<MachineKey, WorkflowStateMachine>>;
  readonly arns: pulumi.Output<Partial<Record<MachineKey, string>>>;
  readonly names: pulumi.Output<Partial<Record<MachineKey, string>>>;
  /** Physical names of every machine's alarms. */
  readonly alarmNames: string[];

  constructor(name: string, args: WorkflowMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:WorkflowMachines', name, {}, opts);
    const fn = args.functionArns;
    const path = args.commandPath ?? CommandPath.EXPRESS;
    const targets = pulumi.all(
      args.command.syncTargets.map((t) =>
        pulumi.all([pulumi.output(t.functionArn), pulumi.output(t.timeoutSeconds)]).apply(([functionArn, timeout]) => ({
          name: t.name,
          functionArn,
          timeoutSeconds: timeout,
        })),
      ),
    );
    const wait = {
      waitTimeoutSeconds: pulumi.output(args.command.waitTimeoutSeconds ?? 3600),
      waitHeartbeatSeconds: pulumi.output(args.command.waitHeartbeatSeconds ?? 300),
    };
    const syncMaxConcurrency = pulumi.output(args.command.syncMaxConcurrency ?? 10);
    const commandDefinitions: Pick<Record<MachineKey, pulumi.Output<StateMachineDefinition>>, 'command'> &
      Partial<Record<MachineKey, pulumi.Output<StateMachineDefinition>>> =
      path === CommandPath.EXPRESS
        ? {
            command: pulumi
              .all([fn['command-step'], targets, syncMaxConcurrency])
              .apply(([commandStepArn, syncTargets, concurrency]) =>
                buildCommandExpressDefinition({
                  commandStepArn,
                  syncTargets: syncTargets.map((t) => ({
                    name: t.name,
                    functionArn: t.functionArn,
                    // required on this path; the builder refuses a missing or too long one with its reason
                    timeoutSeconds: t.timeoutSeconds as number,
                  })),
                  syncMaxConcurrency: concurrency,
                }),
              ),
            'command-wait': pulumi
              .all([fn['command-step'], fn['stream-router'], wait.waitTimeoutSeconds, wait.waitHeartbeatSeconds])
              .apply(([commandStepArn, commandRunnerArn, waitTimeoutSeconds, waitHeartbeatSeconds]) =>
                buildCommandWaitDefinition({
                  commandStepArn,
                  commandRunnerArn,
                  waitTimeoutSeconds,
                  waitHeartbeatSeconds,
                }),
              ),
          }
        : {
            command: pulumi
              .all([
                fn['command-step'],
                targets,
                wait.waitTimeoutSeconds,
                wait.waitHeartbeatSeconds,
                syncMaxConcurrency,
              ])
              .apply(([commandStepArn, syncTargets, waitTimeoutSeconds, waitHeartbeatSeconds, concurrency]) =>
                buildCommandDefinition({
                  commandStepArn,
                  syncTargets: syncTargets.map((t) => ({ name: t.name, functionArn: t.functionArn })),
                  waitTimeoutSeconds,
                  waitHeartbeatSeconds,
                  syncMaxConcurrency: concurrency,
                }),
              ),
          };
    const definitions: Partial<Record<MachineKey, pulumi.Output<StateMachineDefinition>>> = {
      ...commandDefinitions,
      task: pulumi
        .all([fn['task-step'], args.task?.maxConcurrency ?? 2, args.task?.timeoutSeconds ?? 900])
        .apply(([taskStepArn, maxConcurrency, timeoutSeconds]) =>
          buildTaskDefinition({ taskStepArn, maxConcurrency, timeoutSeconds }),
        ),
      'import-csv': pulumi
        .all([
          fn['import-csv-step'],
          args.bucketName,
          args.import?.maxItemsPerBatch ?? IMPORT_CSV_DEFAULTS.maxItemsPerBatch,
          args.import?.maxConcurrency ?? 50,
          args.import?.toleratedFailurePercentage ?? 5,
        ])
        .apply(([importCsvStepArn, resultBucket, maxItemsPerBatch, maxConcurrency, toleratedFailurePercentage]) =>
          buildImportCsvDefinition({
            importCsvStepArn,
            resultBucket,
            resultPrefix: IMPORT_PREFIXES.results,
            maxItemsPerBatch,
            maxConcurrency,
            toleratedFailurePercentage,
          }),
        ),
      'import-zip': pulumi
        .all([fn['import-zip-step'], args.import?.zipChildTimeoutSeconds ?? 3600])
        .apply(([importZipStepArn, childTimeoutSeconds]) =>
          buildImportZipDefinition({ importZipStepArn, childTimeoutSeconds }),
        ),
    };

    const machines: Partial<Record<MachineKey, WorkflowStateMachine>> = {};
    for (const key of machineKeysFor(path)) {
      const definition = definitions[key];
      const stateMachineName = args.names[key];
      if (!definition || !stateMachineName)
        throw new Error(`WorkflowMachines ${name}: no name or definition for ${key}`);
      machines[key] = new WorkflowStateMachine(
        `${name}-${key}`,
        {
          stateMachineName,
          type: machineType(key, path),
          definition,
          arnContext: args.arnContext,
          bucketName: args.bucketName,
          alarmTopicArn: args.alarmTopicArn,
          logRetentionDays: args.logRetentionDays,
          logLevel: args.logLevel,
          includeExecutionData: args.includeExecutionData,
          tags: args.tags,
        },
        { parent: this },
      );
    }
    this.machines = machines;
    this.alarmNames = Object.values(machines).flatMap((m) => m.alarmNames);
    this.arns = pulumi.all(Object.fromEntries(Object.entries(machines).map(([k, m]) => [k, m.arn])));
    this.names = pulumi.output(args.names);
    this.registerOutputs({ arns: this.arns, names: this.names });
  }
}
