import * as pulumi from '@pulumi/pulumi';
import type { PolicyStatement } from './iam';
import { COMMAND_RUN_TIMEOUT_SECONDS, type ZipBounds } from '../core/limits';
import { CommandPath } from '../core/status';
import { CSV_SOURCE_PREFIXES, IMPORT_PREFIXES } from './import-bucket';
import type { QueueKey } from './messaging';
import type { TableKey } from './tables';
import { HANDLER_NAMES, type HandlerName } from '../handlers/bundle-options';

/** The handler Lambdas (docs/architecture.md): logical name = entry under handlers/, one list for the bundler and the stack. */
export const FUNCTION_KEYS = HANDLER_NAMES;
export type FunctionKey = HandlerName;

/** Every state machine a stack can have (`command-wait` only on the EXPRESS command path). */
export const MACHINE_KEYS = ['command', 'command-wait', 'task', 'import-csv', 'import-zip'] as const;
export type MachineKey = (typeof MACHINE_KEYS)[number];

/** The state machines of a stack on the given command path. */
export function machineKeysFor(path: CommandPath): MachineKey[] {
  return MACHINE_KEYS.filter((k) => k !== 'command-wait' || path === CommandPath.EXPRESS);
}

/** A machine's type: the command machine is EXPRESS on the EXPRESS path, every other one STANDARD. */
export function machineType(key: MachineKey, path: CommandPath): 'STANDARD' | 'EXPRESS' {
  return key === 'command' && path === CommandPath.EXPRESS ? 'EXPRESS' : 'STANDARD';
}

/**
 * A machine's name after the prefix. The command machine's follows its type (`command`
 * STANDARD, as in 0.1; `command-express` EXPRESS): Step Functions cannot change a machine's
 * type, so a `commandPath` switch replaces it, and under a second name Pulumi creates the new
 * machine (with its own role, log group and alarms), repoints the functions and only then
 * deletes the old one, instead of failing on a name that is still taken.
 */
export function machineName(key: MachineKey, path: CommandPath): string {
  return key === 'command' && machineType(key, path) === 'EXPRESS' ? 'command-express' : key;
}

/** The other command path. */
export function otherCommandPath(path: CommandPath): CommandPath {
  return path === CommandPath.EXPRESS ? CommandPath.STANDARD : CommandPath.EXPRESS;
}

/**
 * The STANDARD machine on which the other command path runs versions (this stack on the
 * EXPRESS path: the STANDARD path's `command`; on the STANDARD path: `command-wait`), by its
 * name after the prefix. A `commandPath` switch deletes it while executions of it may still run:
 * Step Functions ends them FAILED (States.Runtime) at their next transition, and the
 * execution-events rule and execution-watch keep following it so their versions still end.
 */
export function retiredCommandMachineName(path: CommandPath): string {
  const other = otherCommandPath(path);
  const current = new Set(machineKeysFor(path).map((k) => machineName(k, path)));
  const retired = machineKeysFor(other).filter(
    (k) => k.startsWith('command') && machineType(k, other) === 'STANDARD' && !current.has(machineName(k, other)),
  );
  if (retired.length !== 1) throw new Error(`expected one retired command machine on the ${path} path`);
  return machineName(retired[0], other);
}

/** Timeouts in seconds; queue visibility timeouts are derived from the consumers' (6×). */
export const FUNCTION_TIMEOUTS: Record<FunctionKey, number> = {
  'command-step': 60,
  'task-step': 300,
  'import-csv-step': 300,
  'import-zip-step': 900,
  // EXPRESS path: it waits for a version's run (≤ 300 s), another run's lease, and a run again
  'stream-router': 900,
  'task-action-consumer': 300,
  'import-action-consumer': 900,
  'notification-consumer': 30,
  'execution-watch': 60,
};

export const QUEUE_CONSUMERS: Record<QueueKey, FunctionKey> = {
  'task-action': 'task-action-consumer',
  'import-action': 'import-action-consumer',
  notification: 'notification-consumer',
};

/** Everything the grants and environments are written against. */
export interface CatalogContext {
  tableNames: Record<TableKey, string>;
  tableArns: Record<TableKey, pulumi.Input<string>>;
  bucketName: pulumi.Input<string>;
  bucketArn: pulumi.Input<string>;
  mainTopicArn: pulumi.Input<string>;
  alarmTopicArn: pulumi.Input<string>;
  alarmKeyArn: pulumi.Input<string>;
  machineArns: Record<MachineKey, pulumi.Input<string>>;
  /** ARN of the machine {@link retiredCommandMachineName} names: execution-watch still ends its executions' versions. */
  retiredCommandMachineArn: pulumi.Input<string>;
  /** Which machines run a command version. */
  commandPath: CommandPath;
  syncTargets: { name: string; functionArn: pulumi.Input<string>; timeoutSeconds?: pulumi.Input<number> }[];
  taskExecutors: Record<string, pulumi.Input<string>>;
  commandTtlSeconds: pulumi.Input<number>;
  commandMaxWaitSeconds: pulumi.Input<number>;
  directImportMaxBytes: pulumi.Input<number>;
  /** TTL of an import's per-row items, counted from the job's creation. */
  importRecordTtlSeconds: pulumi.Input<number>;
  /** The work queues' maxReceiveCount: the import-action consumer ends a DIRECT job on the last delivery. */
  maxReceiveCount: pulumi.Input<number>;
  /** Bounds of a ZIP archive (import-zip-step). */
  zipBounds: { [K in keyof ZipBounds]: pulumi.Input<number> };
}

export interface FunctionSpec {
  environment: Record<string, pulumi.Input<string>>;
  statements: PolicyStatement[];
}

const str = (v: pulumi.Input<number>) => pulumi.output(v).apply(String);

/** Lambda's longest timeout: how long a sync call may run when its target's timeout is not given. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/**
 * `SYNC_CALL_TIMEOUTS`: how long a call to each sync target can run (the built-in `data`
 * target is command-step itself). mark_failed makes a version's successor wait this long
 * after a call that may still be running (docs/architecture.md, "Sync calls never overlap").
 */
function syncCallTimeouts(c: CatalogContext): pulumi.Output<string> {
  return pulumi
    .all(c.syncTargets.map((t) => pulumi.output(t.timeoutSeconds ?? LAMBDA_MAX_TIMEOUT_SECONDS)))
    .apply((seconds) => {
      seconds.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 1)
          throw new Error(`command.syncTargets[${i}].timeoutSeconds must be an integer >= 1, got ${String(v)}`);
      });
      return JSON.stringify({
        data: FUNCTION_TIMEOUTS['command-step'],
        ...Object.fromEntries(c.syncTargets.map((t, i) => [t.name, seconds[i]])),
      });
    });
}

/** `arn:…:stateMachine:<name>` → `arn:…:execution:<name>:*`, every execution of that machine. */
export function executionsOf(stateMachineArn: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:*`;
}

function table(c: CatalogContext, key: TableKey, sid: string, actions: string[]): PolicyStatement {
  return { Sid: sid, Action: actions, Resource: [c.tableArns[key]] };
}
function publish(c: CatalogContext, which: 'main' | 'alarm' | 'both'): PolicyStatement[] {
  const topics =
    which === 'both' ? [c.mainTopicArn, c.alarmTopicArn] : [which === 'main' ? c.mainTopicArn : c.alarmTopicArn];
  const out: PolicyStatement[] = [{ Sid: 'Publish', Action: ['sns:Publish'], Resource: topics }];
  if (which !== 'main') {
    // The alarm topic is under a customer-managed key: SNS uses it on the publisher's
    // behalf, and only SNS (in the topic's region) may.
    out.push({
      Sid: 'AlarmTopicKey',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: [c.alarmKeyArn],
      Condition: {
        StringEquals: {
          'kms:ViaService': pulumi.output(c.alarmTopicArn).apply((arn) => `sns.${arn.split(':')[3]}.amazonaws.com`),
        },
      },
    });
  }
  return out;
}
function objects(c: CatalogContext, sid: string, actions: string[], prefix: string): PolicyStatement {
  return { Sid: sid, Action: actions, Resource: [pulumi.interpolate`${c.bucketArn}/${prefix}*`] };
}
/**
 * Answering a task token. The Service Authorization Reference lists no resource type for
 * SendTaskSuccess / SendTaskFailure (the token itself names the waiting execution), so IAM
 * evaluates them against "*" only: a statement scoped to a state machine ARN never allows
 * them. "*" is the only grant that works; the token is the capability, and these two
 * actions can do nothing but answer a token the caller already holds.
 */
function taskTokens(): PolicyStatement {
  return { Sid: 'TaskTokens', Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'], Resource: ['*'] };
}
function start(c: CatalogContext, machines: MachineKey[]): PolicyStatement {
  return { Sid: 'StartExecutions', Action: ['states:StartExecution'], Resource: machines.map((m) => c.machineArns[m]) };
}
/** Running command versions on the EXPRESS machine (StartSyncExecution: the caller sees how the run ended). */
function runCommands(c: CatalogContext): PolicyStatement {
  return { Sid: 'RunCommands', Action: ['states:StartSyncExecution'], Resource: [c.machineArns.command] };
}
function invoke(sid: string, arns: pulumi.Input<string>[]): PolicyStatement[] {
  return arns.length === 0 ? [] : [{ Sid: sid, Action: ['lambda:InvokeFunction'], Resource: arns }];
}

const ROW_RW = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'];

/**
 * Environment and exact grants of every handler (what its code calls, on which
 * table, bucket prefix, topic, state machine or function; docs/architecture.md).
 */
export function functionSpecs(c: CatalogContext): Record<FunctionKey, FunctionSpec> {
  const tables = {
    COMMANDS_TABLE: c.tableNames.commands,
    DATA_TABLE: c.tableNames.data,
    HISTORY_TABLE: c.tableNames.history,
    TASKS_TABLE: c.tableNames.tasks,
    IMPORT_TMP_TABLE: c.tableNames.import_tmp,
  };
  const topics = { MAIN_TOPIC_ARN: c.mainTopicArn, ALARM_TOPIC_ARN: c.alarmTopicArn };
  const executors = pulumi.output(c.taskExecutors).apply((e) => JSON.stringify(e));
  const executorArns = Object.values(c.taskExecutors);
  const P = IMPORT_PREFIXES;
  const recordTtl = { IMPORT_RECORD_TTL_SECONDS: str(c.importRecordTtlSeconds) };
  const express = c.commandPath === CommandPath.EXPRESS;
  // EXPRESS path: the run's TimeoutSeconds bounds when its sync calls can start (the sync lease)
  const runTimeout: Record<string, string> = express
    ? { COMMAND_RUN_TIMEOUT_SECONDS: String(COMMAND_RUN_TIMEOUT_SECONDS) }
    : {};
  const commandPathEnv: Record<string, pulumi.Input<string>> = {
    COMMAND_PATH: c.commandPath,
    ...(express ? { COMMAND_WAIT_STATE_MACHINE_ARN: c.machineArns['command-wait'] } : {}),
  };
  // the machines whose executions are STANDARD (described by name; EXPRESS runs are not)
  const standardMachines = machineKeysFor(c.commandPath).filter((m) => machineType(m, c.commandPath) === 'STANDARD');
  // What import-csv-step does is also done in one Lambda by the import-action consumer
  // (DIRECT mode); only the machine's steps stage rows (csv_loader) and read the
  // Distributed Map's result files (the finalizer).
  const csvImport = (machine: boolean): PolicyStatement[] => [
    table(c, 'import_tmp', 'ImportTmp', [...ROW_RW, 'dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem']),
    {
      Sid: 'ReadImports',
      Action: ['s3:GetObject'],
      Resource: [...CSV_SOURCE_PREFIXES, P.staged, ...(machine ? [P.results] : [])].map(
        (p) => pulumi.interpolate`${c.bucketArn}/${p}*`,
      ),
    },
    objects(c, 'WritePayloads', ['s3:PutObject'], P.payloads),
    // csv_loader stages the prepared rows (multipart for large files, aborted on failure)
    ...(machine ? [objects(c, 'StageRows', ['s3:PutObject', 's3:AbortMultipartUpload'], P.staged)] : []),
    taskTokens(),
  ];
  return {
    'command-step': {
      environment: {
        COMMANDS_TABLE: c.tableNames.commands,
        DATA_TABLE: c.tableNames.data,
        HISTORY_TABLE: c.tableNames.history,
        ALARM_TOPIC_ARN: c.alarmTopicArn,
        SYNC_TARGETS: JSON.stringify(c.syncTargets.map((t) => t.name)),
        SYNC_CALL_TIMEOUTS: syncCallTimeouts(c),
        COMMAND_TTL_SECONDS: str(c.commandTtlSeconds),
        COMMAND_MAX_WAIT_SECONDS: str(c.commandMaxWaitSeconds),
        ...runTimeout,
      },
      statements: [
        table(c, 'commands', 'Commands', ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem']),
        table(c, 'data', 'Data', ['dynamodb:GetItem', 'dynamodb:PutItem']),
        table(c, 'history', 'History', ['dynamodb:PutItem']),
        taskTokens(),
        ...publish(c, 'alarm'),
      ],
    },
    'task-step': {
      environment: {
        TASKS_TABLE: c.tableNames.tasks,
        IMPORT_BUCKET: c.bucketName,
        TASK_EXECUTORS: executors,
        ...topics,
      },
      statements: [
        table(c, 'tasks', 'Tasks', ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query']),
        ...invoke('Executors', executorArns),
        objects(c, 'WritePayloads', ['s3:PutObject'], P.payloads),
        ...publish(c, 'both'),
      ],
    },
    'import-csv-step': {
      environment: { IMPORT_TMP_TABLE: c.tableNames.import_tmp, IMPORT_BUCKET: c.bucketName, ...recordTtl, ...topics },
      statements: [...csvImport(true), ...publish(c, 'both')],
    },
    'import-zip-step': {
      environment: {
        IMPORT_TMP_TABLE: c.tableNames.import_tmp,
        IMPORT_BUCKET: c.bucketName,
        DIRECT_IMPORT_MAX_BYTES: str(c.directImportMaxBytes),
        ZIP_MAX_ENTRIES: str(c.zipBounds.maxEntries),
        ZIP_MAX_FILES: str(c.zipBounds.maxFiles),
        ZIP_MAX_UNCOMPRESSED_BYTES: str(c.zipBounds.maxUncompressedBytes),
        ZIP_MAX_COMPRESSION_RATIO: str(c.zipBounds.maxCompressionRatio),
        ...topics,
      },
      statements: [
        table(c, 'import_tmp', 'ImportTmp', ROW_RW),
        {
          Sid: 'ReadZips',
          Action: ['s3:GetObject'],
          Resource: CSV_SOURCE_PREFIXES.map((p) => pulumi.interpolate`${c.bucketArn}/${p}*`),
        },
        objects(c, 'WriteCsvs', ['s3:PutObject'], P.unzipped),
        taskTokens(),
        ...publish(c, 'both'),
      ],
    },
    'stream-router': {
      environment: {
        ...tables,
        IMPORT_BUCKET: c.bucketName,
        COMMAND_STATE_MACHINE_ARN: c.machineArns.command,
        TASK_STATE_MACHINE_ARN: c.machineArns.task,
        ...commandPathEnv,
        ...runTimeout,
        ...topics,
      },
      statements: [
        // EXPRESS path: GetItem follows a version whose sync another run holds
        table(c, 'commands', 'Commands', [
          'dynamodb:Query',
          'dynamodb:PutItem',
          ...(express ? ['dynamodb:GetItem'] : []),
        ]),
        table(c, 'data', 'Data', ['dynamodb:GetItem']),
        table(c, 'tasks', 'Tasks', ['dynamodb:GetItem', 'dynamodb:UpdateItem']),
        table(c, 'import_tmp', 'ImportTmp', ['dynamodb:UpdateItem']),
        ...(express ? [runCommands(c), start(c, ['command-wait', 'task'])] : [start(c, ['command', 'task'])]),
        objects(c, 'Payloads', ['s3:GetObject', 's3:PutObject'], P.payloads),
        ...publish(c, 'both'),
      ],
    },
    'task-action-consumer': {
      environment: {
        TASKS_TABLE: c.tableNames.tasks,
        IMPORT_BUCKET: c.bucketName,
        TASK_STATE_MACHINE_ARN: c.machineArns.task,
        TASK_EXECUTORS: executors,
        ...topics,
      },
      statements: [
        table(c, 'tasks', 'Tasks', ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query']),
        start(c, ['task']),
        ...invoke('Executors', executorArns),
        objects(c, 'Payloads', ['s3:GetObject', 's3:PutObject'], P.payloads),
        ...publish(c, 'both'),
      ],
    },
    'import-action-consumer': {
      environment: {
        IMPORT_TMP_TABLE: c.tableNames.import_tmp,
        IMPORT_BUCKET: c.bucketName,
        IMPORT_CSV_STATE_MACHINE_ARN: c.machineArns['import-csv'],
        IMPORT_ZIP_STATE_MACHINE_ARN: c.machineArns['import-zip'],
        DIRECT_IMPORT_MAX_BYTES: str(c.directImportMaxBytes),
        MAX_RECEIVE_COUNT: str(c.maxReceiveCount),
        ...recordTtl,
        ...topics,
      },
      statements: [...csvImport(false), start(c, ['import-csv', 'import-zip']), ...publish(c, 'both')],
    },
    // Logs each status event as a structured line; it calls no AWS API.
    'notification-consumer': { environment: {}, statements: [] },
    // Closes what an execution that ended without its own failure path left open.
    'execution-watch': {
      environment: {
        COMMANDS_TABLE: c.tableNames.commands,
        DATA_TABLE: c.tableNames.data,
        TASKS_TABLE: c.tableNames.tasks,
        IMPORT_TMP_TABLE: c.tableNames.import_tmp,
        COMMAND_STATE_MACHINE_ARN: c.machineArns.command,
        TASK_STATE_MACHINE_ARN: c.machineArns.task,
        IMPORT_CSV_STATE_MACHINE_ARN: c.machineArns['import-csv'],
        IMPORT_ZIP_STATE_MACHINE_ARN: c.machineArns['import-zip'],
        ...commandPathEnv,
        // a commandPath switch deletes this machine; its executions still end (FAILED) afterwards
        RETIRED_COMMAND_STATE_MACHINE_ARN: c.retiredCommandMachineArn,
        // mark_failed of a version stopped during its sync: which targets, how long their calls may run
        SYNC_TARGETS: JSON.stringify(c.syncTargets.map((t) => t.name)),
        SYNC_CALL_TIMEOUTS: syncCallTimeouts(c),
        ...recordTtl,
        ...topics,
      },
      statements: [
        table(c, 'commands', 'Commands', ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem']),
        table(c, 'data', 'Data', ['dynamodb:GetItem']),
        table(c, 'tasks', 'Tasks', ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query']),
        table(c, 'import_tmp', 'ImportTmp', [...ROW_RW, 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem']),
        taskTokens(),
        // The shared CSV finalizer looks up staged rows no batch reported (never a result
        // manifest: execution-watch finalizes without one).
        objects(c, 'ReadStagedRows', ['s3:GetObject'], P.staged),
        {
          // EventBridge leaves out inputs over its size limit; the execution still has it.
          Sid: 'ReadExecutionInput',
          Action: ['states:DescribeExecution'],
          Resource: [...standardMachines.map((m) => c.machineArns[m]), c.retiredCommandMachineArn].map((arn) =>
            pulumi.output(arn).apply(executionsOf),
          ),
        },
        {
          // the records of a commands stream batch the router gave up on (its on-failure record names them)
          Sid: 'ReadCommandStream',
          Action: ['dynamodb:GetShardIterator', 'dynamodb:GetRecords'],
          Resource: [pulumi.interpolate`${c.tableArns.commands}/stream/*`],
        },
        ...publish(c, 'both'),
      ],
    },
  };
}
