import { ResourceValidationArgs, ResourceValidationPolicy, ReportViolation } from '@pulumi/policy';
import { get, isJsonObject, Json, toPlain, UNKNOWN } from './values';

/** Where each resource type keeps its policy documents. */
export const POLICY_DOCUMENT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'aws:iam/policy:Policy': ['policy'],
  'aws:iam/rolePolicy:RolePolicy': ['policy'],
  'aws:iam/role:Role': ['assumeRolePolicy', 'inlinePolicies'],
  'aws:sqs/queuePolicy:QueuePolicy': ['policy'],
  'aws:sns/topicPolicy:TopicPolicy': ['policy'],
  'aws:s3/bucketPolicy:BucketPolicy': ['policy'],
  'aws:sqs/queue:Queue': ['policy'],
  'aws:sns/topic:Topic': ['policy'],
};

export interface WildcardFinding {
  /** e.g. `Statement[0]`. */
  statement: string;
  /** The offending action, or `NotAction`. */
  action: string;
}

/**
 * Finds wildcard actions in a policy document (JSON string or object): any `Action` that
 * contains `*` (`*`, `s3:*`, `dynamodb:Get*`), and any `NotAction` (it grants everything not
 * listed). `Deny` statements are exempt: a wildcard there narrows access (e.g. the usual
 * "deny s3:* without TLS"), it never grants it. Returns `undefined` when the document cannot
 * be read (unknown at preview, or not JSON).
 */
export function findWildcardActions(doc: unknown): WildcardFinding[] | undefined {
  let value: Json | undefined | typeof UNKNOWN;
  if (typeof doc === 'string') {
    try {
      value = JSON.parse(doc) as Json;
    } catch {
      return undefined;
    }
  } else {
    value = toPlain(doc);
  }
  if (value === UNKNOWN || !isJsonObject(value)) {
    return undefined;
  }
  const raw = value['Statement'];
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  const findings: WildcardFinding[] = [];
  statements.forEach((st, i) => {
    if (!isJsonObject(st) || st['Effect'] === 'Deny') {
      return;
    }
    const label = typeof st['Sid'] === 'string' ? `Statement[${i}] (${st['Sid']})` : `Statement[${i}]`;
    const actions = st['Action'];
    for (const a of Array.isArray(actions) ? actions : actions === undefined ? [] : [actions]) {
      if (typeof a === 'string' && a.includes('*')) {
        findings.push({ statement: label, action: a });
      }
    }
    if (st['NotAction'] !== undefined) {
      findings.push({ statement: label, action: 'NotAction' });
    }
  });
  return findings;
}

function checkDocument(where: string, doc: unknown, reportViolation: ReportViolation): void {
  if (doc === undefined || doc === null || doc === UNKNOWN) {
    return; // absent, or unknown at preview: nothing to judge (checked again at `up`)
  }
  const findings = findWildcardActions(doc);
  if (findings === undefined) {
    return;
  }
  for (const f of findings) {
    reportViolation(
      f.action === 'NotAction'
        ? `${where} ${f.statement} uses NotAction, which allows every other action; list the actions instead.`
        : `${where} ${f.statement} allows wildcard action "${f.action}"; list the exact actions.`,
    );
  }
}

/**
 * Least privilege: every Allow statement in every policy document (IAM policies, role policies,
 * role inline and assume-role policies, queue/topic/bucket policies) lists exact actions.
 */
export const iamNoWildcardActions: ResourceValidationPolicy = {
  name: 'iam-no-wildcard-actions',
  description:
    "Allow statements in IAM, role, queue, topic and bucket policy documents list exact actions: no '*' in an action, no NotAction.",
  enforcementLevel: 'mandatory',
  validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const fields = POLICY_DOCUMENT_FIELDS[args.type];
    if (!fields) {
      args.notApplicable('resource type carries no policy document');
    }
    for (const field of fields) {
      const value = get(args.props, field);
      if (field === 'inlinePolicies') {
        if (!Array.isArray(value)) {
          continue;
        }
        value.forEach((_p, i) => {
          const name = get(value, i, 'name');
          const label = typeof name === 'string' ? `inlinePolicies[${i}] (${name})` : `inlinePolicies[${i}]`;
          checkDocument(label, get(value, i, 'policy'), reportViolation);
        });
      } else {
        checkDocument(field, value, reportViolation);
      }
    }
  },
};
