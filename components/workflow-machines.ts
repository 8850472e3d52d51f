import * as pulumi from '@pulumi/pulumi';
import type { StateMachineDefinition } from './asl/types';
import type { FunctionKey, MachineKey } from './function-catalog';
import { IMPORT_PREFIXES } from './import-bucket';
import type { ArnContext } from './naming';
import { WorkflowStateMachine, type LogLevel } from './state-machine';
import {
  buildCommandDefinition,
  buildImportCsvDefinition,
  buildImportZipDefinition,
  buildTaskDefinition,
  IMPORT_CSV_DEFAULTS,
} from './workflows';

export interface WorkflowMachinesArgs {
  prefix: string;
  names: Record<MachineKey, string>;
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
    syncTargets: { name: string; functionArn: pulumi.Input<string> }[];
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

/** The command, task, import-csv and import-zip state machines. */
export class WorkflowMachines extends pulumi.ComponentResource {
  readonly machines: Record<MachineKey, WorkflowStateMachine>;
  readonly arns: pulumi.Output<Record<MachineKey, string>>;
  readonly names: pulumi.Output<Record<MachineKey, string>>;
  /** Physical names of every machine's alarms. */
  readonly alarmNames: string[];

  constructor(name: string, args: WorkflowMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:WorkflowMachines', name, {}, opts);
    const fn = args.functionArns;
    const definitions: Record<MachineKey, pulumi.Output<StateMachineDefinition>> = {
      command: pulumi
        .all([
          fn['command-step'],
          pulumi.all(args.command.syncTargets.map((t) => pulumi.output(t.functionArn))),
          args.command.waitTimeoutSeconds ?? 3600,
          args.command.waitHeartbeatSeconds ?? 300,
          args.command.syncMaxConcurrency ?? 10,
        ])
        .apply(([commandStepArn, targetArns, waitTimeoutSeconds, waitHeartbeatSeconds, syncMaxConcurrency]) =>
          buildCommandDefinition({
            commandStepArn,
            syncTargets: args.command.syncTargets.map((t, i) => ({ name: t.name, functionArn: targetArns[i] })),
            waitTimeoutSeconds,
            waitHeartbeatSeconds,
            syncMaxConcurrency,
          }),
        ),
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

    const machines = {} as Record<MachineKey, WorkflowStateMachine>;
    for (const key of Object.keys(definitions) as MachineKey[]) {
      machines[key] = new WorkflowStateMachine(
        `${name}-${key}`,
        {
          stateMachineName: args.names[key],
          type: 'STANDARD',
          definition: definitions[key],
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
    this.arns = pulumi.all(Object.fromEntries(Object.entries(machines).map(([k, m]) => [k, m.arn]))) as pulumi.Output<
      Record<MachineKey, string>
    >;
    this.names = pulumi.output(args.names);
    this.registerOutputs({ arns: this.arns, names: this.names });
  }
}
