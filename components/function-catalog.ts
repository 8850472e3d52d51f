import * as pulumi from "@pulumi/pulumi";
import type { PolicyStatement } from "./iam";
import { IMPORT_PREFIXES } from "./import-bucket";
import type { QueueKey } from "./messaging";
import type { TableKey } from "./tables";

/** The handler Lambdas (docs/architecture.md): logical name = entry under handlers/. */
export const FUNCTION_KEYS = [
  "command-step",
  "task-step",
  "import-csv-step",
  "import-zip-step",
  "stream-router",
  "task-action-consumer",
  "import-action-consumer",
  "notification-consumer",
] as const;
export type FunctionKey = (typeof FUNCTION_KEYS)[number];

export const MACHINE_KEYS = ["command", "task", "import-csv", "import-zip"] as const;
export type MachineKey = (typeof MACHINE_KEYS)[number];

/** Timeouts in seconds; queue visibility timeouts are derived from the consumers' (6×). */
export const FUNCTION_TIMEOUTS: Record<FunctionKey, number> = {
  "command-step": 60,
  "task-step": 300,
  "import-csv-step": 300,
  "import-zip-step": 900,
  "stream-router": 60,
  "task-action-consumer": 300,
  "import-action-consumer": 900,
  "notification-consumer": 30,
};

export const QUEUE_CONSUMERS: Record<QueueKey, FunctionKey> = {
  "task-action": "task-action-consumer",
  "import-action": "import-action-consumer",
  notification: "notification-consumer",
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
  syncTargets: { name: string; functionArn: pulumi.Input<string> }[];
  taskExecutors: Record<string, pulumi.Input<string>>;
  commandTtlSeconds: pulumi.Input<number>;
  commandMaxWaitSeconds: pulumi.Input<number>;
  directImportMaxBytes: pulumi.Input<number>;
}

export interface FunctionSpec {
  environment: Record<string, pulumi.Input<string>>;
  statements: PolicyStatement[];
}

const str = (v: pulumi.Input<number>) => pulumi.output(v).apply(String);

function table(c: CatalogContext, key: TableKey, sid: string, actions: string[]): PolicyStatement {
  return { Sid: sid, Action: actions, Resource: [c.tableArns[key]] };
}
function publish(c: CatalogContext, which: "main" | "alarm" | "both"): PolicyStatement[] {
  const topics = which === "both" ? [c.mainTopicArn, c.alarmTopicArn] : [which === "main" ? c.mainTopicArn : c.alarmTopicArn];
  const out: PolicyStatement[] = [{ Sid: "Publish", Action: ["sns:Publish"], Resource: topics }];
  if (which !== "main") {
    // The alarm topic is under a customer-managed key; publishers encrypt with it.
    out.push({ Sid: "AlarmTopicKey", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: [c.alarmKeyArn] });
  }
  return out;
}
function objects(c: CatalogContext, sid: string, actions: string[], prefix: string): PolicyStatement {
  return { Sid: sid, Action: actions, Resource: [pulumi.interpolate`${c.bucketArn}/${prefix}*`] };
}
function taskTokens(c: CatalogContext, machine: MachineKey): PolicyStatement {
  return {
    Sid: `TaskTokens${machine.replace(/-/g, "")}`,
    Action: ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
    Resource: [c.machineArns[machine]],
  };
}
function start(c: CatalogContext, machines: MachineKey[]): PolicyStatement {
  return { Sid: "StartExecutions", Action: ["states:StartExecution"], Resource: machines.map((m) => c.machineArns[m]) };
}
function invoke(sid: string, arns: pulumi.Input<string>[]): PolicyStatement[] {
  return arns.length === 0 ? [] : [{ Sid: sid, Action: ["lambda:InvokeFunction"], Resource: arns }];
}

const ROW_RW = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"];

/**
 * Environment and exact grants of every handler. Each grant names the table,
 * bucket prefix, topic, state machine or function it is for.
 */
export function functionSpecs(c: CatalogContext): Record<FunctionKey, FunctionSpec> {
  const env = {
    COMMANDS_TABLE: c.tableNames.commands,
    DATA_TABLE: c.tableNames.data,
    HISTORY_TABLE: c.tableNames.history,
    TASKS_TABLE: c.tableNames.tasks,
    IMPORT_TMP_TABLE: c.tableNames.import_tmp,
    IMPORT_BUCKET: c.bucketName,
    MAIN_TOPIC_ARN: c.mainTopicArn,
    ALARM_TOPIC_ARN: c.alarmTopicArn,
  };
  const machines = {
    COMMAND_STATE_MACHINE_ARN: c.machineArns.command,
    TASK_STATE_MACHINE_ARN: c.machineArns.task,
    IMPORT_CSV_STATE_MACHINE_ARN: c.machineArns["import-csv"],
    IMPORT_ZIP_STATE_MACHINE_ARN: c.machineArns["import-zip"],
  };
  const executors = pulumi.output(c.taskExecutors).apply((e) => JSON.stringify(e));
  const executorArns = Object.values(c.taskExecutors);
  const payloads = IMPORT_PREFIXES.payloads;
  return {
    "command-step": {
      environment: {
        ...env,
        COMMAND_STATE_MACHINE_ARN: c.machineArns.command,
        SYNC_TARGETS: JSON.stringify(c.syncTargets.map((t) => t.name)),
        COMMAND_TTL_SECONDS: str(c.commandTtlSeconds),
        COMMAND_MAX_WAIT_SECONDS: str(c.commandMaxWaitSeconds),
      },
      statements: [
        table(c, "commands", "Commands", ROW_RW),
        table(c, "data", "Data", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]),
        table(c, "history", "History", ["dynamodb:GetItem", "dynamodb:PutItem"]),
        taskTokens(c, "command"),
        objects(c, "Payloads", ["s3:GetObject", "s3:PutObject"], payloads),
        ...publish(c, "both"),
      ],
    },
    "task-step": {
      environment: { ...env, TASK_EXECUTORS: executors },
      statements: [table(c, "tasks", "Tasks", ROW_RW), ...invoke("Executors", executorArns), ...publish(c, "both")],
    },
    "import-csv-step": {
      environment: { ...env, ...machines },
      statements: [
        table(c, "import_tmp", "ImportTmp", [...ROW_RW, "dynamodb:BatchWriteItem"]),
        objects(c, "ReadImports", ["s3:GetObject"], ""),
        taskTokens(c, "import-zip"),
        ...publish(c, "both"),
      ],
    },
    "import-zip-step": {
      environment: { ...env, ...machines },
      statements: [
        table(c, "import_tmp", "ImportTmp", ROW_RW),
        objects(c, "ReadZips", ["s3:GetObject"], IMPORT_PREFIXES.uploads),
        objects(c, "WriteCsvs", ["s3:PutObject", "s3:AbortMultipartUpload"], IMPORT_PREFIXES.unzipped),
        start(c, ["import-csv"]),
        ...publish(c, "both"),
      ],
    },
    "stream-router": {
      environment: { ...env, ...machines, COMMAND_TTL_SECONDS: str(c.commandTtlSeconds) },
      statements: [
        table(c, "commands", "Commands", ROW_RW),
        table(c, "tasks", "Tasks", [...ROW_RW, "dynamodb:BatchWriteItem"]),
        table(c, "import_tmp", "ImportTmp", ["dynamodb:GetItem", "dynamodb:UpdateItem"]),
        start(c, ["command", "task"]),
        ...publish(c, "both"),
      ],
    },
    "task-action-consumer": {
      environment: { ...env, TASK_EXECUTORS: executors },
      statements: [table(c, "tasks", "Tasks", ROW_RW), ...invoke("Executors", executorArns), ...publish(c, "both")],
    },
    "import-action-consumer": {
      environment: { ...env, ...machines, DIRECT_IMPORT_MAX_BYTES: str(c.directImportMaxBytes) },
      statements: [
        table(c, "import_tmp", "ImportTmp", [...ROW_RW, "dynamodb:BatchWriteItem"]),
        objects(c, "ReadImports", ["s3:GetObject"], ""),
        start(c, ["import-csv", "import-zip"]),
        taskTokens(c, "import-zip"),
        ...publish(c, "both"),
      ],
    },
    "notification-consumer": {
      environment: { ...env },
      statements: [...publish(c, "alarm")],
    },
  };
}
