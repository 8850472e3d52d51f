/**
 * Every policy of the `cqrs-workflows` pack. Tests and the offline runner import this module;
 * only `policies/index.ts` constructs the PolicyPack (which starts a gRPC server).
 */
import { ResourceValidationPolicy } from '@pulumi/policy';
import { dynamodbDeletionProtection, dynamodbPointInTimeRecovery } from './dynamodb';
import { sqsPartialBatchFailures, streamFailureHandling } from './event-source-mapping';
import { iamNoWildcardActions } from './iam';
import { logGroupRetention } from './log-group';
import { snsEncrypted, sqsEncrypted, sqsRedrivePolicy } from './messaging';
import { distributedMapBatchBytes } from './sfn-batching';
import { expressNoWaitIntegrations } from './sfn-express';
import { mapEffectiveConcurrency, mapFiniteConcurrency } from './sfn-map-concurrency';
import { stateMachineLogging, stateMachineTracing } from './sfn-observability';
import { retryJitter } from './sfn-retry-jitter';
import { taskTokenTimeouts } from './sfn-task-token';

export * from './asl';
export * from './values';
export * from './sfn-map-concurrency';
export * from './sfn-task-token';
export * from './sfn-express';
export * from './sfn-batching';
export * from './sfn-retry-jitter';
export * from './sfn-observability';
export * from './messaging';
export * from './dynamodb';
export * from './log-group';
export * from './event-source-mapping';
export * from './iam';

export const allPolicies: ResourceValidationPolicy[] = [
  mapFiniteConcurrency,
  mapEffectiveConcurrency,
  taskTokenTimeouts,
  expressNoWaitIntegrations,
  distributedMapBatchBytes,
  retryJitter,
  stateMachineLogging,
  stateMachineTracing,
  sqsRedrivePolicy,
  sqsEncrypted,
  snsEncrypted,
  dynamodbPointInTimeRecovery,
  dynamodbDeletionProtection,
  logGroupRetention,
  streamFailureHandling,
  sqsPartialBatchFailures,
  iamNoWildcardActions,
];
