import { ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { Table } from '@pulumi/aws/dynamodb';
import { get, UNKNOWN, withDefaults } from './values';

/** The command/data/history tables are the system of record: point-in-time recovery is on. */
export const dynamodbPointInTimeRecovery: ResourceValidationPolicy = {
  name: 'dynamodb-point-in-time-recovery',
  description: 'DynamoDB tables enable point-in-time recovery (pointInTimeRecovery.enabled).',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(Table, (_props, args, reportViolation) => {
    const enabled = get(args.props, 'pointInTimeRecovery', 'enabled');
    if (enabled !== true && enabled !== UNKNOWN) {
      reportViolation('Point-in-time recovery is off; set pointInTimeRecovery: { enabled: true }.');
    }
  }),
};

export interface DeletionProtectionConfig {
  /** When false (default), the policy is not applicable: tables of throw-away stacks stay deletable. */
  requireDeletionProtection: boolean;
}

export const DELETION_PROTECTION_DEFAULTS: DeletionProtectionConfig = { requireDeletionProtection: false };

/**
 * Deletion protection stops a `pulumi destroy`, a replacement or a console slip from deleting
 * a table. Only stacks whose policy config sets `requireDeletionProtection: true` (this
 * project's `config.prod.json`, which also makes the policy mandatory) are checked; elsewhere
 * the policy reports "not applicable".
 */
export const dynamodbDeletionProtection: ResourceValidationPolicy = {
  name: 'dynamodb-deletion-protection',
  description:
    'DynamoDB tables enable deletion protection where the policy config requires it (requireDeletionProtection).',
  enforcementLevel: 'advisory',
  configSchema: {
    properties: {
      requireDeletionProtection: {
        type: 'boolean',
        default: DELETION_PROTECTION_DEFAULTS.requireDeletionProtection,
        description: 'Check deletionProtectionEnabled on every table (set true for production stacks).',
      },
    },
  },
  validateResource: validateResourceOfType(Table, (_props, args, reportViolation) => {
    const cfg = withDefaults(DELETION_PROTECTION_DEFAULTS, args.getConfig<Partial<DeletionProtectionConfig>>());
    if (cfg.requireDeletionProtection !== true) {
      args.notApplicable('requireDeletionProtection is false for this stack');
    }
    const enabled = get(args.props, 'deletionProtectionEnabled');
    if (enabled !== true && enabled !== UNKNOWN) {
      reportViolation(
        "Deletion protection is off; set deletionProtectionEnabled: true (required by this stack's policy config).",
      );
    }
  }),
};
