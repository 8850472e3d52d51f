import * as pulumi from '@pulumi/pulumi';
import type { ClientConfig } from '../core/client-config';
import { STACK_DIMENSION_ENV } from '../core/metrics';
import { DEFAULT_IMPORT_RECORD_RETENTION_DAYS, DEFAULT_ZIP_BOUNDS } from '../core/limits';
import { CommandPath, DEFAULT_DIRECT_IMPORT_MAX_BYTES, ImportRowType, TaskRowType } from '../core/status';
import { callerArnContext } from './arn-context';
import { AccessLogBucket } from './access-log-bucket';
import { OperationsDashboard } from './dashboard';
import {
  COMMANDS_STREAM_MAX_RECORD_AGE_SECONDS,
  queueSource,
  queueConsumeStatements,
  streamReadStatements,
  streamSource,
} from './event-sources';
import {
  FUNCTION_KEYS,
  FUNCTION_TIMEOUTS,
  MACHINE_KEYS,
  QUEUE_CONSUMERS,
  functionSpecs,
  machineKeysFor,
  machineName as machineNameOf,
  machineType,
  retiredCommandMachineName,
  type FunctionKey,
  type MachineKey,
} from './function-catalog';
import { HandlerFunction, type VpcSettings } from './handler-function';
import { ImportBucket } from './import-bucket';
import { ExecutionEventRule } from './execution-events';
import {
  COMMAND_STREAM_FAILURES_QUEUE,
  EXECUTION_EVENTS_QUEUE,
  Messaging,
  QUEUE_KEYS,
  WATCH_QUEUE_KEYS,
  type QueueKey,
} from './messaging';
import { arns, defaultPrefix, physicalName, prefixProblem, type ArnContext } from './naming';
import { claimPrefix } from './prefix-claims';
import { recordRetainOnDelete } from './resource-options';
import type { LogLevel } from './state-machine';
import { CqrsTables, STREAM_TABLES, TABLE_KEYS, type TableKey } from './tables';
import { WorkflowMachines } from './workflow-machines';

/**
 * A Lambda a consumer registers as an extra sync target of the command workflow. Give it
 * by name (the usual case: the ARN is then built from the name, so the command
 * machine's definition stays known during a first `pulumi preview`) or by ARN.
 */
export interface SyncTarget {
  /**
   * Target name (`[A-Za-z0-9_-]+`, not `data`, unique): `transform_data` lists it and the
   * command machine invokes the Lambda in the state `sync_<name>`.
   */
  name: string;
  /**
   * Name of the Lambda function, in this stack's account and region. Exactly one of
   * `functionName` and `functionArn`. Default: none.
   */
  functionName?: string;
  /**
   * ARN of the Lambda function (another account or region, an alias). A resource output
   * here leaves the command definition unknown during a first preview, so the policy
   * pack cannot judge it; prefer `functionName` or a literal ARN. Default: none.
   */
  functionArn?: pulumi.Input<string>;
  /**
   * The function's configured timeout in seconds (integer, 1 to 900), or more. When a call
   * to this target may still be running after its version ended (the execution was stopped,
   * or Lambda answered with a service error), the next version waits this long before it
   * calls the target. On the EXPRESS command path (the default) it is required and at most
   * 240: one run has 300 seconds for every step. Default: 900 on the STANDARD path (Lambda's
   * maximum, always safe, but the next version may then wait up to 15 minutes after such a
   * failure); none on the EXPRESS path.
   */
  timeoutSeconds?: pulumi.Input<number>;
}

/** Settings of the command workflow. */
export interface CommandSettings {
  /** `wait_prev_command` TimeoutSeconds, in seconds (integer). Default: 3600. */
  waitTimeoutSeconds?: pulumi.Input<number>;
  /** `wait_prev_command` HeartbeatSeconds: the re-check interval, in seconds, below the timeout (integer). Default: 300. */
  waitHeartbeatSeconds?: pulumi.Input<number>;
  /** Total wait for a predecessor across re-checks, in seconds (integer). Default: 86400. */
  maxWaitSeconds?: pulumi.Input<number>;
  /** Days before a superseded command version expires (integer). Default: 90. */
  ttlDays?: pulumi.Input<number>;
  /** `sync_data_all` MaxConcurrency: sync targets run at once (integer). Default: 10. */
  syncMaxConcurrency?: pulumi.Input<number>;
  /** Extra sync targets besides the built-in `data` read model. Default: none. */
  syncTargets?: SyncTarget[];
  /**
   * Which machines run a command version. EXPRESS: one EXPRESS run per version, started
   * synchronously by the stream router, and the STANDARD `command-wait` machine for a version
   * that waits for its predecessor (about a tenth of the price; every sync target then needs
   * a `timeoutSeconds` of at most 240). STANDARD: the seed's shape, one STANDARD execution per
   * version, every command in the execution history.
   * Default: EXPRESS.
   */
  path?: CommandPath;
}

/** Settings of the task workflow. */
export interface TaskSettings {
  /** `map_state` MaxConcurrency: sub-tasks run at once (integer). Default: 2. */
  maxConcurrency?: pulumi.Input<number>;
  /** Task machine TimeoutSeconds, in seconds (integer). Default: 900. */
  timeoutSeconds?: pulumi.Input<number>;
  /**
   * Task type → the Lambda that executes its sub-tasks, by function name (in this
   * stack's account and region) or by ARN. Default: none.
   */
  executors?: Record<string, pulumi.Input<string>>;
}

/** Settings of the CSV and ZIP import workflows and the import bucket. */
export interface ImportSettings {
  /** Distributed Map MaxItemsPerBatch: CSV rows per child execution at most (integer); a batch also stays under 120 KiB. Default: 1000. */
  maxItemsPerBatch?: pulumi.Input<number>;
  /** Distributed Map MaxConcurrency: child executions at once (integer). Default: 50. */
  maxConcurrency?: pulumi.Input<number>;
  /** Distributed Map ToleratedFailurePercentage, 0 to 100 (integer). Default: 5. */
  toleratedFailurePercentage?: pulumi.Input<number>;
  /** `trigger_single_csv_and_wait` TimeoutSeconds: the longest one CSV of a ZIP may take, in seconds (integer). Default: 3600. */
  zipChildTimeoutSeconds?: pulumi.Input<number>;
  /** Files up to this many bytes are imported in DIRECT mode, by one Lambda; 0: never (integer). Default: 262144 (256 KiB). */
  directMaxBytes?: pulumi.Input<number>;
  /** Days unzipped files, staged rows and result files are kept; offloaded payloads are kept for good (integer). Default: 30. */
  resultRetentionDays?: pulumi.Input<number>;
  /** Days uploaded files under `imports/` are kept; 0 keeps them (integer). Default: 30. */
  uploadRetentionDays?: pulumi.Input<number>;
  /** Days an import's per-row items stay in `import_tmp`, by DynamoDB TTL from the job's creation (integer). Default: 30. */
  recordRetentionDays?: pulumi.Input<number>;
  /** Entries a ZIP archive may have (integer). Default: 10000. */
  zipMaxEntries?: pulumi.Input<number>;
  /** CSV files one ZIP job may import, at most 1464 because of the execution history (integer). Default: 1000. */
  zipMaxFiles?: pulumi.Input<number>;
  /** Uncompressed bytes of a ZIP's CSV files together (integer). Default: 1073741824 (1 GiB). */
  zipMaxUncompressedBytes?: pulumi.Input<number>;
  /** Largest uncompressed ÷ compressed size of a ZIP entry (integer). Default: 100. */
  zipMaxCompressionRatio?: pulumi.Input<number>;
  /** Physical bucket name. Default: `<prefix>-import-<account id>`. */
  bucketName?: string;
  /**
   * S3 server access logging of the import bucket into a private log bucket
   * (`<prefix>-import-logs-<account id>`), kept `logRetentionDays`. Default: false.
   */
  accessLogging?: boolean;
}

export interface CqrsWorkflowsArgs {
  /**
   * Prefix of every physical name (`<prefix>-commands`, `<prefix>-command-step`, ...).
   * Two instances in one stack need different prefixes. Default: `<name>-<stack>` from
   * this component's name and the stack, lower-cased and cut to 32 characters.
   */
  prefix?: string;
  /** DynamoDB deletion protection on every table. Default: false. */
  deletionProtection?: pulumi.Input<boolean>;
  /**
   * Pulumi `protect` on the tables and the import bucket, whatever the component's own
   * `protect` option says. Default: unset, so they inherit the component's `protect`
   * like every other child.
   */
  protectData?: boolean;
  /** Retention of every log group, in days (integer, a value CloudWatch Logs accepts). Default: 14. */
  logRetentionDays?: pulumi.Input<number>;
  /** Step Functions log level of every state machine. Default: ERROR. */
  stateMachineLogLevel?: pulumi.Input<LogLevel>;
  /** Execution input and output (imported rows, keys) in state machine logs: an explicit opt-in. Default: false. */
  includeExecutionData?: pulumi.Input<boolean>;
  /** E-mail addresses subscribed to the alarm topic. Default: none. */
  alarmEmails?: pulumi.Input<string>[];
  /**
   * SQS deliveries of a message before it goes to the dead-letter queue (integer); times the
   * longest visibility timeout (5,400 s) it must fit inside the queue retention. Default: 5.
   */
  maxReceiveCount?: pulumi.Input<number>;
  /** Retention of the work queues in days, 1 to 13; the dead-letter queues keep 14 (integer). Default: 4. */
  queueRetentionDays?: pulumi.Input<number>;
  /** Memory of every handler Lambda, in MB (integer). Default: 256. */
  lambdaMemoryMb?: pulumi.Input<number>;
  /**
   * Retries of a failing stream batch before it goes to its on-failure queue: the stream dead-letter
   * queue, or for the commands stream `command-stream-failures`, whose batches execution-watch reads
   * back and ends (integer). Default: 3.
   */
  streamMaxRetryAttempts?: pulumi.Input<number>;
  /**
   * Runs every handler Lambda in these private subnets and security groups (the roles get
   * the network-interface grants that needs). Default: outside any VPC.
   */
  vpc?: VpcSettings;
  /** Command workflow settings. Default: every setting at its own default. */
  command?: CommandSettings;
  /** Task workflow settings. Default: every setting at its own default. */
  task?: TaskSettings;
  /** Import workflow and bucket settings. Default: every setting at its own default. */
  import?: ImportSettings;
  /**
   * Create the CloudWatch operations dashboard (`<prefix>-operations`): alarms, business
   * metrics, executions, queues and functions of this stack.
   * Default: true.
   */
  dashboard?: boolean;
  /** Tags of every resource that takes tags. Default: none. */
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** One value (a name or an ARN) per table. */
export interface PerTable {
  /** The `commands` table: one row per command version. */
  commands: string;
  /** The `data` table: the latest version of each entity. */
  data: string;
  /** The `history` table: every applied version. */
  history: string;
  /** The `tasks` table: tasks and their sub-tasks. */
  tasks: string;
  /** The `import_tmp` table: import jobs and their rows. */
  import_tmp: string;
}

/** One value per table whose stream starts workflows. */
export interface PerStreamTable {
  /** Stream of the `commands` table. */
  commands: string;
  /** Stream of the `tasks` table. */
  tasks: string;
  /** Stream of the `import_tmp` table. */
  import_tmp: string;
}

/** The parts a TypeScript program may reach into; kept off the class so they are not schema outputs. */
interface Parts {
  tables: CqrsTables;
  bucket: ImportBucket;
  accessLogs?: AccessLogBucket;
  messaging: Messaging;
  functions: Record<FunctionKey, HandlerFunction>;
  machines: WorkflowMachines;
  dashboard?: OperationsDashboard;
}
const partsOf = new WeakMap<CqrsWorkflows, Parts>();

const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** A function name (→ an ARN in this stack's account and region) or an ARN, as given. */
function lambdaArnOf(
  context: pulumi.Output<ArnContext>,
  value: pulumi.Input<string>,
  where: string,
): pulumi.Output<string> {
  const check = (v: string) => {
    if (!v.startsWith('arn:') && !FUNCTION_NAME.test(v)) {
      throw new Error(`${where}: "${v}" is neither a Lambda function name ([A-Za-z0-9_-], at most 64) nor an ARN`);
    }
  };
  // A plain value fails now, before anything is registered; an output when it resolves.
  if (typeof value === 'string') check(value);
  return pulumi.all([context, value]).apply(([c, v]) => {
    check(v);
    return v.startsWith('arn:') ? v : arns.lambda(c, v);
  });
}

/**
 * The Step Functions backbone of a CQRS backend: tables with streams, the import
 * bucket, topics and queues, the handler Lambdas with their triggers, the four
 * state machines, and alarms on everything that can fail.
 */
export class CqrsWorkflows extends pulumi.ComponentResource {
  /** The prefix of every physical name. */
  readonly prefix: string;
  /** Physical table names. */
  readonly tableNames: pulumi.Output<PerTable>;
  /** Table ARNs. */
  readonly tableArns: pulumi.Output<PerTable>;
  /** Stream ARNs of the tables workflows start from. */
  readonly tableStreamArns: pulumi.Output<PerStreamTable>;
  /** Name of the import bucket. */
  readonly bucketName: pulumi.Output<string>;
  /** ARN of the import bucket. */
  readonly bucketArn: pulumi.Output<string>;
  /** ARN of the main SNS topic. */
  readonly mainTopicArn: pulumi.Output<string>;
  /** ARN of the alarm SNS topic (subscribe on-call channels here). */
  readonly alarmTopicArn: pulumi.Output<string>;
  /** Queue URLs by queue (`task-action`, `import-action`, `notification`). */
  readonly queueUrls: pulumi.Output<Record<string, string>>;
  /** Queue ARNs by queue. */
  readonly queueArns: pulumi.Output<Record<string, string>>;
  /** Physical Lambda function names by handler (`command-step`, `stream-router`, ...). */
  readonly functionNames: pulumi.Output<Record<string, string>>;
  /** State machine ARNs by machine (`command`, `command-wait` on the EXPRESS command path, `task`, `import-csv`, `import-zip`). */
  readonly stateMachineArns: pulumi.Output<Record<string, string>>;
  /** State machine names by machine. */
  readonly stateMachineNames: pulumi.Output<Record<string, string>>;
  /** Everything `createCqrsClient` (cqrs-workflows/client) needs besides the SDK clients. */
  readonly clientConfig: pulumi.Output<ClientConfig>;
  /** Name of the operations dashboard; undefined when `dashboard` is false. */
  readonly dashboardName: pulumi.Output<string | undefined>;

  /** The tables component (TypeScript only). */
  get tables(): CqrsTables {
    return this.parts().tables;
  }
  /** The import bucket component (TypeScript only). */
  get bucket(): ImportBucket {
    return this.parts().bucket;
  }
  /** The import bucket's access log bucket, when `import.accessLogging` is on (TypeScript only). */
  get accessLogs(): AccessLogBucket | undefined {
    return this.parts().accessLogs;
  }
  /** Topics and queues (TypeScript only). */
  get messaging(): Messaging {
    return this.parts().messaging;
  }
  /** The handler Lambdas by handler (TypeScript only). */
  get functions(): Record<FunctionKey, HandlerFunction> {
    return this.parts().functions;
  }
  /** The state machines of the chosen command path (TypeScript only). */
  get machines(): WorkflowMachines {
    return this.parts().machines;
  }
  /** The operations dashboard, undefined when `dashboard` is false (TypeScript only). */
  get dashboard(): OperationsDashboard | undefined {
    return this.parts().dashboard;
  }

  constructor(name: string, args: CqrsWorkflowsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:CqrsWorkflows', name, {}, opts);
    recordRetainOnDelete(this, opts);
    const label = `CqrsWorkflows "${name}"`;
    const prefix = args.prefix ?? defaultPrefix(pulumi.getStack(), name);
    const problem = prefixProblem(prefix);
    if (problem) throw new Error(`${label}: prefix "${prefix}" ${problem}`);
    claimPrefix(prefix, this, label);
    this.prefix = prefix;
    const child = { parent: this };

    // ARNs are built from names and the caller's account: invokes answer during
    // preview, resource outputs do not, and the state machine definitions must be known.
    const arnContext = callerArnContext(child);

    const tables = new CqrsTables(
      `${name}-tables`,
      { prefix, deletionProtection: args.deletionProtection, protect: args.protectData, tags: args.tags },
      child,
    );
    const bucketName = args.import?.bucketName
      ? pulumi.output(args.import.bucketName)
      : arnContext.apply((c) => physicalName(prefix, `import-${c.accountId}`, 's3Bucket'));
    const bucket = new ImportBucket(
      `${name}-import`,
      {
        bucketName,
        resultRetentionDays: args.import?.resultRetentionDays,
        uploadRetentionDays: args.import?.uploadRetentionDays,
        protect: args.protectData,
        tags: args.tags,
      },
      child,
    );
    const accessLogs = args.import?.accessLogging
      ? new AccessLogBucket(
          `${name}-import-access-logs`,
          {
            bucketName: arnContext.apply((c) => physicalName(prefix, `import-logs-${c.accountId}`, 's3Bucket')),
            sourceBucketName: bucket.name,
            sourceBucketArn: bucket.arn,
            sourceAccountId: arnContext.apply((c) => c.accountId),
            retentionDays: args.logRetentionDays,
            protect: args.protectData,
            tags: args.tags,
          },
          child,
        )
      : undefined;
    const consumerTimeouts = {
      ...(Object.fromEntries(QUEUE_KEYS.map((q) => [q, FUNCTION_TIMEOUTS[QUEUE_CONSUMERS[q]]])) as Record<
        QueueKey,
        number
      >),
      [EXECUTION_EVENTS_QUEUE]: FUNCTION_TIMEOUTS['execution-watch'],
      [COMMAND_STREAM_FAILURES_QUEUE]: FUNCTION_TIMEOUTS['execution-watch'],
    };
    const messaging = new Messaging(
      `${name}-messaging`,
      {
        prefix,
        consumerTimeoutSeconds: consumerTimeouts,
        maxReceiveCount: args.maxReceiveCount,
        queueRetentionSeconds: pulumi.output(args.queueRetentionDays ?? 4).apply((d) => d * 86400),
        alarmEmails: args.alarmEmails,
        tags: args.tags,
      },
      child,
    );

    const commandPath = args.command?.path ?? CommandPath.EXPRESS;
    if (!Object.values(CommandPath).includes(commandPath))
      throw new Error(
        `${label}: command.path must be one of ${Object.values(CommandPath).join(', ')}, got ${JSON.stringify(commandPath)}`,
      );
    const machineKeys = machineKeysFor(commandPath);
    const functionName = (key: FunctionKey) => physicalName(prefix, key, 'lambdaFunction');
    const machineName = (key: MachineKey) => physicalName(prefix, machineNameOf(key, commandPath), 'stateMachine');
    const functionArns = Object.fromEntries(
      FUNCTION_KEYS.map((k) => [k, arnContext.apply((c) => arns.lambda(c, functionName(k)))]),
    ) as Record<FunctionKey, pulumi.Output<string>>;
    const machineArns = Object.fromEntries(
      MACHINE_KEYS.map((k) => [k, arnContext.apply((c) => arns.stateMachine(c, machineName(k)))]),
    ) as Record<MachineKey, pulumi.Output<string>>;
    // Deleted by a commandPath switch while its executions may still run; they are followed to their end.
    const retiredCommandMachineArn = arnContext.apply((c) =>
      arns.stateMachine(c, physicalName(prefix, retiredCommandMachineName(commandPath), 'stateMachine')),
    );

    const syncTargets = (args.command?.syncTargets ?? []).map((t, i) => {
      const where = `${label}: command.syncTargets[${i}] (${JSON.stringify(t.name)})`;
      if ((t.functionName === undefined) === (t.functionArn === undefined)) {
        throw new Error(`${where}: give exactly one of functionName and functionArn`);
      }
      return {
        name: t.name,
        functionArn: lambdaArnOf(arnContext, t.functionName ?? t.functionArn!, where),
        timeoutSeconds: t.timeoutSeconds,
      };
    });
    const taskExecutors = Object.fromEntries(
      Object.entries(args.task?.executors ?? {}).map(([type, fn]) => [
        type,
        lambdaArnOf(arnContext, fn, `${label}: task.executors[${JSON.stringify(type)}]`),
      ]),
    );
    const directImportMaxBytes = args.import?.directMaxBytes ?? DEFAULT_DIRECT_IMPORT_MAX_BYTES;
    const specs = functionSpecs({
      tableNames: tables.names,
      tableArns: Object.fromEntries(TABLE_KEYS.map((k) => [k, tables.tables[k].arn])) as Record<
        TableKey,
        pulumi.Output<string>
      >,
      bucketName: bucket.name,
      bucketArn: bucket.arn,
      mainTopicArn: messaging.mainTopic.arn,
      alarmTopicArn: messaging.alarmTopic.arn,
      alarmKeyArn: messaging.alarmKey.arn,
      machineArns,
      retiredCommandMachineArn,
      commandPath,
      syncTargets,
      taskExecutors,
      commandTtlSeconds: pulumi.output(args.command?.ttlDays ?? 90).apply((d) => d * 86400),
      commandMaxWaitSeconds: args.command?.maxWaitSeconds ?? 86400,
      directImportMaxBytes,
      maxReceiveCount: args.maxReceiveCount ?? 5,
      importRecordTtlSeconds: pulumi
        .output(args.import?.recordRetentionDays ?? DEFAULT_IMPORT_RECORD_RETENTION_DAYS)
        .apply((d) => d * 86400),
      zipBounds: {
        maxEntries: args.import?.zipMaxEntries ?? DEFAULT_ZIP_BOUNDS.maxEntries,
        maxFiles: args.import?.zipMaxFiles ?? DEFAULT_ZIP_BOUNDS.maxFiles,
        maxUncompressedBytes: args.import?.zipMaxUncompressedBytes ?? DEFAULT_ZIP_BOUNDS.maxUncompressedBytes,
        maxCompressionRatio: args.import?.zipMaxCompressionRatio ?? DEFAULT_ZIP_BOUNDS.maxCompressionRatio,
      },
    });

    const streamTableArns = STREAM_TABLES.map((k) => tables.tables[k].arn);
    const extraStatements: Partial<Record<FunctionKey, ReturnType<typeof streamReadStatements>>> = {
      'stream-router': streamReadStatements(
        streamTableArns,
        messaging.streamDlq.arn,
        messaging.commandStreamFailures.queue.arn,
      ),
    };
    for (const q of QUEUE_KEYS) {
      extraStatements[QUEUE_CONSUMERS[q]] = queueConsumeStatements(messaging.queues[q].queue.arn);
    }
    extraStatements['execution-watch'] = queueConsumeStatements(
      messaging.executionEvents.queue.arn,
      messaging.commandStreamFailures.queue.arn,
    );

    const functions = {} as Record<FunctionKey, HandlerFunction>;
    for (const key of FUNCTION_KEYS) {
      functions[key] = new HandlerFunction(
        `${name}-${key}`,
        {
          entry: key,
          functionName: functionName(key),
          statements: [...specs[key].statements, ...(extraStatements[key] ?? [])],
          // The `Stack` dimension of the business metrics the handlers publish.
          environment: { ...specs[key].environment, [STACK_DIMENSION_ENV]: prefix },
          timeoutSeconds: FUNCTION_TIMEOUTS[key],
          memorySize: args.lambdaMemoryMb,
          logRetentionDays: args.logRetentionDays,
          alarmTopicArn: messaging.alarmTopic.arn,
          vpc: args.vpc,
          arnContext,
          tags: args.tags,
        },
        child,
      );
    }

    // Sub-task rows, import jobs and error rows also land in these tables; only the
    // rows a workflow starts from reach the router.
    const startRows: Partial<Record<TableKey, Record<string, string[]>>> = {
      tasks: { type: [TaskRowType.TASK] },
      import_tmp: { type: [ImportRowType.IMPORT_ROW] },
    };
    for (const key of STREAM_TABLES) {
      streamSource(
        `${name}-${key.replace(/_/g, '-')}-stream`,
        functions['stream-router'],
        {
          streamArn: tables.tables[key].streamArn,
          // a commands batch the router gave up on goes to execution-watch, which ends its versions
          onFailureDestinationArn:
            key === 'commands' ? messaging.commandStreamFailures.queue.arn : messaging.streamDlq.arn,
          maximumRetryAttempts: args.streamMaxRetryAttempts,
          ...(key === 'commands' ? { maximumRecordAgeInSeconds: COMMANDS_STREAM_MAX_RECORD_AGE_SECONDS } : {}),
          newImageFilter: startRows[key],
        },
        this,
      );
    }
    for (const q of QUEUE_KEYS) {
      queueSource(`${name}-${q}-queue`, functions[QUEUE_CONSUMERS[q]], messaging.queues[q].queue.arn, this);
    }
    queueSource(
      `${name}-${EXECUTION_EVENTS_QUEUE}-queue`,
      functions['execution-watch'],
      messaging.executionEvents.queue.arn,
      this,
    );
    queueSource(
      `${name}-${COMMAND_STREAM_FAILURES_QUEUE}-queue`,
      functions['execution-watch'],
      messaging.commandStreamFailures.queue.arn,
      this,
    );

    const machines = new WorkflowMachines(
      `${name}-machines`,
      {
        prefix,
        names: Object.fromEntries(machineKeys.map((k) => [k, machineName(k)])),
        commandPath,
        arnContext,
        functionArns,
        bucketName,
        alarmTopicArn: messaging.alarmTopic.arn,
        logRetentionDays: args.logRetentionDays,
        logLevel: args.stateMachineLogLevel,
        includeExecutionData: args.includeExecutionData,
        command: { ...args.command, syncTargets },
        task: args.task,
        import: args.import,
        tags: args.tags,
      },
      { parent: this, dependsOn: Object.values(functions) },
    );

    new ExecutionEventRule(
      `${name}-execution-events`,
      {
        prefix,
        // EXPRESS executions emit no status events: their callers watch them. The retired command
        // machine makes the watched set the same on both paths: a switch leaves the rule alone,
        // and the executions the switch ends still reach execution-watch.
        stateMachineArns: pulumi
          .all([
            ...machineKeys.filter((k) => machineType(k, commandPath) === 'STANDARD').map((k) => machineArns[k]),
            retiredCommandMachineArn,
          ])
          .apply((watched) => [...watched].sort()),
        queue: messaging.executionEvents.queue,
        dlq: messaging.executionEvents.dlq,
        tags: args.tags,
      },
      child,
    );

    let dashboard: OperationsDashboard | undefined;
    if (args.dashboard ?? true) {
      dashboard = new OperationsDashboard(
        `${name}-dashboard`,
        {
          dashboardName: physicalName(prefix, 'operations'),
          title: `${prefix} operations`,
          stack: prefix,
          arnContext,
          stateMachineNames: Object.fromEntries(machineKeys.map((k) => [k, machineName(k)])),
          functionNames: Object.fromEntries(FUNCTION_KEYS.map((k) => [k, functionName(k)])),
          queues: Object.fromEntries(
            [...QUEUE_KEYS, ...WATCH_QUEUE_KEYS].map((k) => [
              k,
              {
                queueName:
                  k === EXECUTION_EVENTS_QUEUE
                    ? messaging.names.executionEvents
                    : k === COMMAND_STREAM_FAILURES_QUEUE
                      ? messaging.names.commandStreamFailures
                      : messaging.names.queues[k],
                deadLetterQueueName: messaging.names.deadLetterQueues[k],
              },
            ]),
          ),
          deadLetterQueueNames: { 'stream-dlq': messaging.names.streamDlq },
          alarmNames: [
            ...machines.alarmNames,
            ...FUNCTION_KEYS.flatMap((k) => functions[k].alarmNames),
            ...messaging.alarmNames,
          ],
        },
        child,
      );
    }
    this.dashboardName = pulumi.output(dashboard?.dashboardName);

    partsOf.set(this, { tables, bucket, accessLogs, messaging, functions, machines, dashboard });
    const byKey = <K extends string>(
      keys: readonly K[],
      value: (k: K) => pulumi.Input<string>,
    ): pulumi.Output<Record<string, string>> =>
      pulumi.all(Object.fromEntries(keys.map((k): [string, pulumi.Input<string>] => [k, value(k)])));
    const table = (value: (k: TableKey) => pulumi.Input<string>) => ({
      commands: value('commands'),
      data: value('data'),
      history: value('history'),
      tasks: value('tasks'),
      import_tmp: value('import_tmp'),
    });
    this.tableNames = pulumi.output(table((k) => tables.names[k]));
    this.tableArns = pulumi.output(table((k) => tables.tables[k].arn));
    this.tableStreamArns = pulumi.output({
      commands: tables.tables.commands.streamArn,
      tasks: tables.tables.tasks.streamArn,
      import_tmp: tables.tables.import_tmp.streamArn,
    });
    this.bucketName = bucket.name;
    this.bucketArn = bucket.arn;
    this.mainTopicArn = messaging.mainTopic.arn;
    this.alarmTopicArn = messaging.alarmTopic.arn;
    this.queueUrls = byKey(QUEUE_KEYS, (q) => messaging.queues[q].queue.url);
    this.queueArns = byKey(QUEUE_KEYS, (q) => messaging.queues[q].queue.arn);
    this.functionNames = byKey(FUNCTION_KEYS, (k) => functions[k].functionName);
    this.stateMachineArns = byKey(machineKeys, (k) => machines.machines[k]!.arn);
    this.stateMachineNames = byKey(machineKeys, (k) => machines.machines[k]!.name);
    this.clientConfig = pulumi
      .all([arnContext, bucket.name, messaging.mainTopic.arn, directImportMaxBytes])
      .apply(([c, importBucket, mainTopicArn, maxBytes]) => ({
        region: c.region,
        tables: {
          commands: tables.names.commands,
          data: tables.names.data,
          tasks: tables.names.tasks,
          importTmp: tables.names.import_tmp,
        },
        importBucket,
        mainTopicArn,
        directImportMaxBytes: maxBytes,
      }));

    this.registerOutputs({
      prefix: this.prefix,
      tableNames: this.tableNames,
      tableArns: this.tableArns,
      tableStreamArns: this.tableStreamArns,
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      mainTopicArn: this.mainTopicArn,
      alarmTopicArn: this.alarmTopicArn,
      queueUrls: this.queueUrls,
      queueArns: this.queueArns,
      functionNames: this.functionNames,
      stateMachineArns: this.stateMachineArns,
      stateMachineNames: this.stateMachineNames,
      clientConfig: this.clientConfig,
      dashboardName: this.dashboardName,
    });
  }

  private parts(): Parts {
    const parts = partsOf.get(this);
    if (!parts) throw new Error('CqrsWorkflows: its parts are not built yet');
    return parts;
  }
}
