/**
 * Every rule of the pack with its documentation, for reuse: a platform team imports the
 * rules it wants (each a `ResourceValidationPolicy` with its `configSchema`) into its own
 * PolicyPack, the way @pulumi/awsguard's rules are composed. The rule and setting tables of
 * README.md are generated from this catalog, so code and documentation say the same.
 */
import { EnforcementLevel, ResourceValidationPolicy } from '@pulumi/policy';
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

/** What a rule checks and what it protects against (Markdown), as the README shows it. */
export interface RuleDocumentation {
  checks: string;
  protectsAgainst: string;
}

export interface RuleEntry {
  policy: ResourceValidationPolicy;
  docs: RuleDocumentation;
}

function entry(policy: ResourceValidationPolicy, checks: string, protectsAgainst: string): RuleEntry {
  return { policy, docs: { checks, protectsAgainst } };
}

/** The rules, by policy name, in the order the pack runs them. */
export const ruleCatalog = {
  'sfn-map-finite-concurrency': entry(
    mapFiniteConcurrency,
    'every Map state (top level, in Parallel branches, in `ItemProcessor`/`Iterator`, nested; inline or `DISTRIBUTED`) has `MaxConcurrency` in [1, ceiling] (inline / distributed ceilings), or `MaxConcurrencyPath` in a JSONPath state, or a JSONata `{% %}` expression in a JSONata state (a JSONPath-only field there, or a string with anything around `{% %}`, is a violation)',
    "a fan-out the definition does not choose: without a bound an inline Map runs as many iterations as Step Functions allows (about 40 at once), a Distributed Map up to 10,000 child executions, exhausting Lambda concurrency and throttling the tables (the seed's `sync_data_all`)",
  ),
  'sfn-map-effective-concurrency': entry(
    mapEffectiveConcurrency,
    'for Map states nested in Map states (through Parallel branches too), the product of their concurrencies along the nesting — each `MaxConcurrency` capped by the service (about 40 inline, 10,000 distributed), the service limit where none is set or it is decided at run time — is at most `maxEffectiveConcurrency`; the Map where the product crosses it is reported with the path and every factor',
    'nested fan-out that multiplies: an inline Map of 40 around a Distributed Map of 1,000 runs 40,000 children at once although each Map alone looks bounded',
  ),
  'sfn-task-token-timeout': entry(
    taskTokenTimeouts,
    'every `.waitForTaskToken` Task (any service) and activity Task, wherever nested, sets `TimeoutSeconds` ≤ max (or `TimeoutSecondsPath` in a JSONPath state, a `{% %}` expression in a JSONata state); numeric `HeartbeatSeconds` < timeout; no `TimeoutSecondsPath`/`HeartbeatSecondsPath` in a JSONata state',
    'a lost token hanging an execution for a year, and with it a chain of executions waiting on it (a command version chain, a ZIP import)',
  ),
  'sfn-express-no-wait-integrations': entry(
    expressNoWaitIntegrations,
    'EXPRESS machines, and EXPRESS children of a Distributed Map, use no `.waitForTaskToken`, `.sync`/`.sync:2` or activity',
    'a definition AWS rejects at deploy time (or child executions that all fail)',
  ),
  'sfn-distributed-map-batch-bytes': entry(
    distributedMapBatchBytes,
    '`ItemBatcher.MaxInputBytesPerBatch`, when set, is ≥ minimum and ≤ 262144',
    "batches of a few bytes (one row per child, or failures, as the seed's 10-byte setting) and AWS's 256 KiB limit",
  ),
  'sfn-retry-jitter': entry(
    retryJitter,
    'retriers that back off (`BackoffRate` > 1, AWS default 2.0 when omitted, and `MaxAttempts` > 1, default 3) set `JitterStrategy: "FULL"`',
    'retry storms in lock-step after throttling',
  ),
  'sfn-logging-enabled': entry(
    stateMachineLogging,
    '`loggingConfiguration.level` is ALL/ERROR/FATAL and a `logDestination` is set (judged by presence, so a destination unknown during a first preview counts as set)',
    'failures without a trace (EXPRESS executions have no history)',
  ),
  'sfn-tracing-enabled': entry(
    stateMachineTracing,
    '`tracingConfiguration.enabled`',
    'no end-to-end view across Lambda and service calls',
  ),
  'sqs-queue-redrive-policy': entry(
    sqsRedrivePolicy,
    'queues other than DLQs have a `redrivePolicy`',
    'poison messages retried until they expire, blocking consumers',
  ),
  'sqs-queue-encrypted': entry(
    sqsEncrypted,
    '`sqsManagedSseEnabled: true` or `kmsMasterKeyId`',
    'plaintext messages at rest',
  ),
  'sns-topic-encrypted': entry(snsEncrypted, '`kmsMasterKeyId`', 'plaintext messages at rest'),
  'dynamodb-point-in-time-recovery': entry(
    dynamodbPointInTimeRecovery,
    '`pointInTimeRecovery.enabled`',
    'unrecoverable writes to system-of-record tables',
  ),
  'dynamodb-deletion-protection': entry(
    dynamodbDeletionProtection,
    '`deletionProtectionEnabled` when `requireDeletionProtection` is true; otherwise not applicable',
    'a destroy/replace deleting production data',
  ),
  'log-group-retention': entry(logGroupRetention, '`retentionInDays` set and not 0', 'logs kept (and billed) forever'),
  'stream-event-source-failure-handling': entry(
    streamFailureHandling,
    'DynamoDB/Kinesis stream mappings: `maximumRetryAttempts` in [0, max] and `destinationConfig.onFailure.destinationArn`',
    'a failing batch blocking its shard for 24 h, then records dropped silently',
  ),
  'sqs-event-source-partial-batch-failures': entry(
    sqsPartialBatchFailures,
    'SQS mappings: `functionResponseTypes` includes `ReportBatchItemFailures`',
    'one bad message re-running (and dead-lettering) its whole batch',
  ),
  'iam-no-wildcard-actions': entry(
    iamNoWildcardActions,
    'Allow statements of `aws:iam/policy:Policy`, `aws:iam/rolePolicy:RolePolicy`, `aws:iam/role:Role` (`inlinePolicies` and `assumeRolePolicy`), `aws:sqs/queuePolicy:QueuePolicy`, `aws:sns/topicPolicy:TopicPolicy`, `aws:s3/bucketPolicy:BucketPolicy` and the inline `policy` of queues/topics: no action containing `*`, no `NotAction` (documents as JSON strings or objects, `Action` string or array; Deny statements are exempt)',
    'over-broad grants',
  ),
} satisfies Record<string, RuleEntry>;

export type RuleName = keyof typeof ruleCatalog;

/** Every rule, in the order the pack runs them. */
export const allPolicies: ResourceValidationPolicy[] = Object.values(ruleCatalog).map((e) => e.policy);

export interface PolicySelection {
  /** Only these rules. Default: every rule. */
  include?: RuleName[];
  /** Leave these out. Default: none. */
  exclude?: RuleName[];
  /** Default enforcement level per rule, instead of the rule's own (a pack's config can still override it). */
  enforcementLevels?: Partial<Record<RuleName, EnforcementLevel>>;
}

/**
 * Rules to put into your own PolicyPack, with your default levels:
 *
 * ```ts
 * new PolicyPack("platform", {
 *   policies: [
 *     ...selectPolicies({ exclude: ["dynamodb-deletion-protection"], enforcementLevels: { "sfn-retry-jitter": "mandatory" } }),
 *     myOwnPolicy,
 *   ],
 * });
 * ```
 * The returned policies are copies: the catalog's rules are never modified.
 */
export function selectPolicies(selection: PolicySelection = {}): ResourceValidationPolicy[] {
  const names = Object.keys(ruleCatalog) as RuleName[];
  for (const name of [
    ...(selection.include ?? []),
    ...(selection.exclude ?? []),
    ...Object.keys(selection.enforcementLevels ?? {}),
  ]) {
    if (!(name in ruleCatalog))
      throw new Error(`cqrs-workflows-policies: no rule named "${name}" (rules: ${names.join(', ')})`);
  }
  return names
    .filter((n) => !selection.include || selection.include.includes(n))
    .filter((n) => !selection.exclude?.includes(n))
    .map((n) => {
      const level = selection.enforcementLevels?.[n];
      const policy = ruleCatalog[n].policy;
      return level ? { ...policy, enforcementLevel: level } : { ...policy };
    });
}
