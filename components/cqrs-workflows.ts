import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { queueSource, queueConsumeStatements, streamReadStatements, streamSource } from './event-sources';
import {
  FUNCTION_KEYS,
  FUNCTION_TIMEOUTS,
  MACHINE_KEYS,
  QUEUE_CONSUMERS,
  functionSpecs,
  type FunctionKey,
  type MachineKey,
} from './function-catalog';
import { STACK_DIMENSION_ENV } from '../core/metrics';
import { DEFAULT_IMPORT_RECORD_RETENTION_DAYS, DEFAULT_ZIP_BOUNDS } from '../core/limits';
import { DEFAULT_DIRECT_IMPORT_MAX_BYTES, ImportRowType, TaskRowType } from '../core/status';
import { OperationsDashboard } from './dashboard';
import { AccessLogBucket } from './access-log-bucket';
import { HandlerFunction } from './handler-function';
import { ImportBucket } from './import-bucket';
import { ExecutionEventRule } from './execution-events';
import { EXECUTION_EVENTS_QUEUE, Messaging, QUEUE_KEYS, type QueueKey } from './messaging';
import { arns, defaultPrefix, physicalName, prefixProblem, type ArnContext } from './naming';
import { CqrsTables, STREAM_TABLES, TABLE_KEYS, type TableKey } from './tables';
import { WorkflowMachines } from './workflow-machines';

/** A Lambda a consumer registers as an extra sync target of the command workflow. */
export interface SyncTarget {
  /** State-name-safe name (`[A-Za-z0-9_-]+`, not `data`): the state is `sync_<name>`. */
  name: string;
  /** ARN of the Lambda; the command machine's role may invoke exactly these and the built-in handlers. */
  functionArn: pulumi.Input<string>;
  /**
   * The function's configured timeout in seconds (integer, 1 to 900), or more. When a call
   * to this target may still be running after its version ended (the execution was stopped,
   * or Lambda answered with a service error), the next version waits this long before it
   * calls the target. Default: 900 (Lambda's maximum, always safe, but the next version may
   * then wait up to 15 minutes after such a failure).
   */
  timeoutSeconds?: pulumi.Input<number>;
}

export interface CqrsWorkflowsArgs {
  /** Prefix of every physical name. Default: `cqrs-<stack>`. */
  prefix?: string;
  /** DynamoDB deletion protection. Default: false. */
  deletionProtection?: pulumi.Input<boolean>;
  /** Pulumi `protect` on tables and the import bucket. Default: false. */
  protectData?: boolean;
  /** Retention of every log group, in days. Default: 14. */
  logRetentionDays?: pulumi.Input<number>;
  /** Step Functions log level. Default: `ERROR`. */
  stateMachineLogLevel?: pulumi.Input<'ALL' | 'ERROR' | 'FATAL'>;
  /** Execution input/output (imported rows, keys) in state machine logs: an explicit opt-in. Default: false. */
  includeExecutionData?: pulumi.Input<boolean>;
  /** E-mail subscriptions of the alarm topic. Default: none. */
  alarmEmails?: pulumi.Input<string>[];
  /** SQS deliveries before the DLQ; × the longest visibility timeout (5,400 s) must fit inside the queue retention. Default: 5. */
  maxReceiveCount?: pulumi.Input<number>;
  /** Retention of the work queues in days, 1 to 13 (DLQs keep 14). Default: 4. */
  queueRetentionDays?: pulumi.Input<number>;
  /** Memory of every handler Lambda in MB. Default: 256. */
  lambdaMemoryMb?: pulumi.Input<number>;
  /** Stream batch retries before the stream DLQ. Default: 3. */
  streamMaxRetryAttempts?: pulumi.Input<number>;
  command?: {
    /** `wait_prev_command` TimeoutSeconds. Default: 3600. */
    waitTimeoutSeconds?: pulumi.Input<number>;
    /** `wait_prev_command` HeartbeatSeconds (re-check interval), below the timeout. Default: 300. */
    waitHeartbeatSeconds?: pulumi.Input<number>;
    /** Total wait for a predecessor across re-checks. Default: 86400. */
    maxWaitSeconds?: pulumi.Input<number>;
    /** Days before a superseded command version expires. Default: 90. */
    ttlDays?: pulumi.Input<number>;
    /** `sync_data_all` MaxConcurrency. Default: 10. */
    syncMaxConcurrency?: pulumi.Input<number>;
    /** Extra sync targets. Default: none (only the built-in `data` read model). */
    syncTargets?: SyncTarget[];
  };
  task?: {
    /** `map_state` MaxConcurrency. Default: 2. */
    maxConcurrency?: pulumi.Input<number>;
    /** Task machine TimeoutSeconds. Default: 900. */
    timeoutSeconds?: pulumi.Input<number>;
    /** Task type → executor Lambda ARN. Default: none. */
    executors?: Record<string, pulumi.Input<string>>;
  };
  import?: {
    /** Distributed Map MaxItemsPerBatch. Default: 10. */
    maxItemsPerBatch?: pulumi.Input<number>;
    /** Distributed Map MaxConcurrency. Default: 50. */
    maxConcurrency?: pulumi.Input<number>;
    /** Distributed Map ToleratedFailurePercentage. Default: 5. */
    toleratedFailurePercentage?: pulumi.Input<number>;
    /** `trigger_single_csv_and_wait` TimeoutSeconds. Default: 3600. */
    zipChildTimeoutSeconds?: pulumi.Input<number>;
    /** Files up to this size are imported in DIRECT mode; 0: never. Default: 262144 (256 KiB). */
    directMaxBytes?: pulumi.Input<number>;
    /** Days unzipped files, staged rows and result files are kept (offloaded payloads are kept for good). Default: 30. */
    resultRetentionDays?: pulumi.Input<number>;
    /** Days uploaded files under `imports/` are kept; 0 keeps them. Default: 30. */
    uploadRetentionDays?: pulumi.Input<number>;
    /** Days an import's per-row items stay in `import_tmp` (DynamoDB TTL from the job's creation). Default: 30. */
    recordRetentionDays?: pulumi.Input<number>;
    /** Entries a ZIP archive may have. Default: 10000. */
    zipMaxEntries?: pulumi.Input<number>;
    /** CSV files one ZIP job may import, at most 1464 (execution history). Default: 1000. */
    zipMaxFiles?: pulumi.Input<number>;
    /** Uncompressed bytes of a ZIP's CSV files together. Default: 1073741824 (1 GiB). */
    zipMaxUncompressedBytes?: pulumi.Input<number>;
    /** Largest uncompressed ÷ compressed size of a ZIP entry. Default: 100. */
    zipMaxCompressionRatio?: pulumi.Input<number>;
    /** Bucket name. Default: `<prefix>-import-<account id>`. */
    bucketName?: string;
    /**
     * S3 server access logging of the import bucket into a private log bucket
     * (`<prefix>-import-logs-<account id>`), kept `logRetentionDays`. Default: false.
     */
    accessLogging?: boolean;
  };
  /**
   * Create the CloudWatch operations dashboard (`<prefix>-operations`): alarms, business
   * metrics, executions, queues and functions of this stack.
   * Default: true.
   */
  dashboard?: boolean;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The Step Functions backbone of a CQRS backend: tables with streams, the import
 * bucket, topics and queues, the handler Lambdas with their triggers, the four
 * state machines, and alarms on everything that can fail.
 */
export class CqrsWorkflows extends pulumi.ComponentResource {
  readonly prefix: string;
  readonly tables: CqrsTables;
  readonly bucket: ImportBucket;
  /** The import bucket's access log bucket, when `import.accessLogging` is on. */
  readonly accessLogs?: AccessLogBucket;
  readonly messaging: Messaging;
  readonly functions: Record<FunctionKey, HandlerFunction>;
  readonly machines: WorkflowMachines;
  /** The operations dashboard; undefined when `dashboard` is false. */
  readonly dashboard?: OperationsDashboard;

  readonly tableNames: pulumi.Output<Record<TableKey, string>>;
  readonly tableArns: pulumi.Output<Record<TableKey, string>>;
  readonly tableStreamArns: pulumi.Output<Record<string, string>>;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly mainTopicArn: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;
  readonly queueUrls: pulumi.Output<Record<QueueKey, string>>;
  readonly queueArns: pulumi.Output<Record<QueueKey, string>>;
  readonly functionNames: pulumi.Output<Record<FunctionKey, string>>;
  readonly stateMachineArns: pulumi.Output<Record<MachineKey, string>>;
  readonly stateMachineNames: pulumi.Output<Record<MachineKey, string>>;
  /** Name of the operations dashboard; undefined when `dashboard` is false. */
  readonly dashboardName: pulumi.Output<string | undefined>;

  constructor(name: string, args: CqrsWorkflowsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:CqrsWorkflows', name, {}, opts);
    const prefix = args.prefix ?? defaultPrefix(pulumi.getStack());
    const problem = prefixProblem(prefix);
    if (problem) throw new Error(`CqrsWorkflows ${name}: prefix "${prefix}" ${problem}`);
    this.prefix = prefix;
    const child = { parent: this };

    // ARNs are built from names and the caller's account: invokes answer during
    // preview, resource outputs do not, and the state machine definitions must be known.
    const arnContext: pulumi.Output<ArnContext> = pulumi
      .all([aws.getCallerIdentityOutput({}, child), aws.getRegionOutput({}, child), aws.getPartitionOutput({}, child)])
      .apply(([identity, region, partition]) => ({
        accountId: identity.accountId,
        region: region.region,
        partition: partition.partition,
      }));

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

    const functionName = (key: FunctionKey) => physicalName(prefix, key, 'lambdaFunction');
    const machineName = (key: MachineKey) => physicalName(prefix, key, 'stateMachine');
    const functionArns = Object.fromEntries(
      FUNCTION_KEYS.map((k) => [k, arnContext.apply((c) => arns.lambda(c, functionName(k)))]),
    ) as Record<FunctionKey, pulumi.Output<string>>;
    const machineArns = Object.fromEntries(
      MACHINE_KEYS.map((k) => [k, arnContext.apply((c) => arns.stateMachine(c, machineName(k)))]),
    ) as Record<MachineKey, pulumi.Output<string>>;

    const syncTargets = args.command?.syncTargets ?? [];
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
      syncTargets,
      taskExecutors: args.task?.executors ?? {},
      commandTtlSeconds: pulumi.output(args.command?.ttlDays ?? 90).apply((d) => d * 86400),
      commandMaxWaitSeconds: args.command?.maxWaitSeconds ?? 86400,
      directImportMaxBytes: args.import?.directMaxBytes ?? DEFAULT_DIRECT_IMPORT_MAX_BYTES,
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
      'stream-router': streamReadStatements(streamTableArns, messaging.streamDlq.arn),
    };
    for (const q of QUEUE_KEYS) {
      extraStatements[QUEUE_CONSUMERS[q]] = queueConsumeStatements(messaging.queues[q].queue.arn);
    }
    extraStatements['execution-watch'] = queueConsumeStatements(messaging.executionEvents.queue.arn);

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
          onFailureDestinationArn: messaging.streamDlq.arn,
          maximumRetryAttempts: args.streamMaxRetryAttempts,
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

    this.machines = new WorkflowMachines(
      `${name}-machines`,
      {
        prefix,
        names: Object.fromEntries(MACHINE_KEYS.map((k) => [k, machineName(k)])) as Record<MachineKey, string>,
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
        stateMachineArns: MACHINE_KEYS.map((k) => machineArns[k]),
        queue: messaging.executionEvents.queue,
        dlq: messaging.executionEvents.dlq,
        tags: args.tags,
      },
      child,
    );

    if (args.dashboard ?? true) {
      this.dashboard = new OperationsDashboard(
        `${name}-dashboard`,
        {
          dashboardName: physicalName(prefix, 'operations'),
          title: `${prefix} operations`,
          stack: prefix,
          arnContext,
          stateMachineNames: Object.fromEntries(MACHINE_KEYS.map((k) => [k, machineName(k)])),
          functionNames: Object.fromEntries(FUNCTION_KEYS.map((k) => [k, functionName(k)])),
          queues: Object.fromEntries(
            [...QUEUE_KEYS, EXECUTION_EVENTS_QUEUE as typeof EXECUTION_EVENTS_QUEUE].map((k) => [
              k,
              {
                queueName: k === EXECUTION_EVENTS_QUEUE ? messaging.names.executionEvents : messaging.names.queues[k],
                deadLetterQueueName: messaging.names.deadLetterQueues[k],
              },
            ]),
          ),
          deadLetterQueueNames: { 'stream-dlq': messaging.names.streamDlq },
          alarmNames: [
            ...this.machines.alarmNames,
            ...FUNCTION_KEYS.flatMap((k) => functions[k].alarmNames),
            ...messaging.alarmNames,
          ],
        },
        child,
      );
    }
    this.dashboardName = pulumi.output(this.dashboard?.dashboardName);

    this.tables = tables;
    this.bucket = bucket;
    this.accessLogs = accessLogs;
    this.messaging = messaging;
    this.functions = functions;
    this.tableNames = pulumi.output(tables.names);
    this.tableArns = pulumi.all(Object.fromEntries(TABLE_KEYS.map((k) => [k, tables.tables[k].arn]))) as pulumi.Output<
      Record<TableKey, string>
    >;
    this.tableStreamArns = pulumi.all(Object.fromEntries(STREAM_TABLES.map((k) => [k, tables.tables[k].streamArn])));
    this.bucketName = bucket.name;
    this.bucketArn = bucket.arn;
    this.mainTopicArn = messaging.mainTopic.arn;
    this.alarmTopicArn = messaging.alarmTopic.arn;
    this.queueUrls = pulumi.all(
      Object.fromEntries(QUEUE_KEYS.map((q) => [q, messaging.queues[q].queue.url])),
    ) as pulumi.Output<Record<QueueKey, string>>;
    this.queueArns = pulumi.all(
      Object.fromEntries(QUEUE_KEYS.map((q) => [q, messaging.queues[q].queue.arn])),
    ) as pulumi.Output<Record<QueueKey, string>>;
    this.functionNames = pulumi.all(
      Object.fromEntries(FUNCTION_KEYS.map((k) => [k, functions[k].functionName])),
    ) as pulumi.Output<Record<FunctionKey, string>>;
    this.stateMachineArns = this.machines.arns;
    this.stateMachineNames = this.machines.names;

    this.registerOutputs({
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
      dashboardName: this.dashboardName,
    });
  }
}
