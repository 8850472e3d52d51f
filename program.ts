import * as pulumi from '@pulumi/pulumi';
import { CqrsWorkflows } from './components/cqrs-workflows';
import type { LogLevel } from './components/state-machine';
import { CONFIG_NAMESPACE, loadStackSettings, type StackSettings } from './components/stack-config';
import type { CommandPath } from './core/status';

/** Reads and validates this stack's settings; throws before any resource exists. */
export function readStackSettings(): StackSettings {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const all = pulumi.runtime.allConfig();
  const prefix = `${CONFIG_NAMESPACE}:`;
  const keys = Object.keys(all)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
  return loadStackSettings(pulumi.getStack(), (key) => config.get(key), keys);
}

/** The program: stack config → the CqrsWorkflows component → stack outputs. */
export function runProgram(): Record<string, pulumi.Output<unknown>> {
  const s = readStackSettings();
  const workflows = new CqrsWorkflows('cqrs', {
    prefix: s.prefix,
    deletionProtection: s.deletionProtection,
    protectData: s.protectData,
    logRetentionDays: s.logRetentionDays,
    stateMachineLogLevel: s.stateMachineLogLevel as LogLevel,
    includeExecutionData: s.includeExecutionData,
    alarmEmails: s.alarmEmails,
    maxReceiveCount: s.maxReceiveCount,
    queueRetentionDays: s.queueRetentionDays,
    lambdaMemoryMb: s.lambdaMemoryMb,
    streamMaxRetryAttempts: s.streamMaxRetryAttempts,
    command: {
      waitTimeoutSeconds: s.commandWaitTimeoutSeconds,
      waitHeartbeatSeconds: s.commandWaitHeartbeatSeconds,
      maxWaitSeconds: s.commandMaxWaitSeconds,
      ttlDays: s.commandTtlDays,
      syncMaxConcurrency: s.syncMaxConcurrency,
      path: s.commandPath as CommandPath,
    },
    task: { maxConcurrency: s.taskMaxConcurrency, timeoutSeconds: s.taskTimeoutSeconds },
    import: {
      maxItemsPerBatch: s.importMaxItemsPerBatch,
      maxConcurrency: s.importMaxConcurrency,
      toleratedFailurePercentage: s.importToleratedFailurePercentage,
      zipChildTimeoutSeconds: s.zipChildTimeoutSeconds,
      directMaxBytes: s.directImportMaxBytes,
      resultRetentionDays: s.importResultRetentionDays,
      uploadRetentionDays: s.importUploadRetentionDays,
      recordRetentionDays: s.importRecordRetentionDays,
      zipMaxEntries: s.zipMaxEntries,
      zipMaxFiles: s.zipMaxFiles,
      zipMaxUncompressedBytes: s.zipMaxUncompressedBytes,
      zipMaxCompressionRatio: s.zipMaxCompressionRatio,
      accessLogging: s.importAccessLogging,
    },
    dashboard: s.dashboard,
    tags: { project: 'cqrs-workflows', stack: s.stack },
  });
  return {
    tableNames: workflows.tableNames,
    tableArns: workflows.tableArns,
    tableStreamArns: workflows.tableStreamArns,
    importBucketName: workflows.bucketName,
    mainTopicArn: workflows.mainTopicArn,
    alarmTopicArn: workflows.alarmTopicArn,
    queueUrls: workflows.queueUrls,
    queueArns: workflows.queueArns,
    functionNames: workflows.functionNames,
    stateMachineArns: workflows.stateMachineArns,
    stateMachineNames: workflows.stateMachineNames,
    directImportMaxBytes: pulumi.output(s.directImportMaxBytes),
    dashboardName: workflows.dashboardName,
    clientConfig: workflows.clientConfig,
  };
}
