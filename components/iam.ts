import * as crypto from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';

/** One IAM statement. Actions are explicit: no `*` anywhere in an action name. */
export interface PolicyStatement {
  Sid?: string;
  Effect?: 'Allow' | 'Deny';
  Action: string[];
  Resource: pulumi.Input<pulumi.Input<string>[]>;
  Condition?: pulumi.Input<Record<string, Record<string, pulumi.Input<string | string[]>>>>;
}

/** Throws when an action is a wildcard: least privilege is checked where the grant is written. */
export function assertExplicitActions(owner: string, statements: readonly PolicyStatement[]): void {
  for (const s of statements) {
    if (s.Action.length === 0) throw new Error(`${owner}: a statement${s.Sid ? ` (${s.Sid})` : ''} grants no action`);
    const wild = s.Action.filter((a) => a.includes('*'));
    if (wild.length > 0) {
      throw new Error(`${owner}: wildcard action(s) ${wild.join(', ')} are not allowed; list the actions needed`);
    }
  }
}

export function policyDocument(statements: readonly PolicyStatement[]): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({ Effect: 'Allow', ...s })),
  });
}

export function assumeRolePolicy(
  service: string,
  conditions?: Record<string, Record<string, pulumi.Input<string>>>,
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: 'sts:AssumeRole',
        ...(conditions ? { Condition: conditions } : {}),
      },
    ],
  });
}

/**
 * `<base>-<suffix>` within IAM's 64-character role name limit. A name that would
 * be longer keeps a hash of the whole, so two long bases never share a role name.
 */
export function boundedRoleName(base: string, suffix: string): string {
  const name = `${base}-${suffix}`;
  if (name.length <= 64) return name;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${base.slice(0, 64 - suffix.length - 10)}-${hash}-${suffix}`;
}
