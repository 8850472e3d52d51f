import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { Queue } from '@pulumi/aws/sqs';
import { Topic } from '@pulumi/aws/sns';
import { get, isSet, UNKNOWN } from './values';

/**
 * A queue is treated as a dead-letter queue (exempt from needing its own redrive policy) when
 * its `name` or `namePrefix` input, or failing those its Pulumi resource name, contains `dlq`
 * (case-insensitive), or when it is tagged `role = dlq`.
 */
export function isDeadLetterQueue(args: Pick<ResourceValidationArgs, 'props' | 'name'>): boolean {
  const names = [get(args.props, 'name'), get(args.props, 'namePrefix'), args.name];
  if (names.some((n) => typeof n === 'string' && /dlq/i.test(n))) {
    return true;
  }
  const role = get(args.props, 'tags', 'role');
  return typeof role === 'string' && role.toLowerCase() === 'dlq';
}

/**
 * A queue without a redrive policy retries a poison message until it expires, blocking its
 * consumer and losing the message silently. Every non-DLQ queue must redrive to a DLQ.
 */
export const sqsRedrivePolicy: ResourceValidationPolicy = {
  name: 'sqs-queue-redrive-policy',
  description:
    "SQS queues other than dead-letter queues (name contains 'dlq' or tag role=dlq) have a redrive policy to a DLQ.",
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(Queue, (_props, args, reportViolation) => {
    if (isDeadLetterQueue(args)) {
      args.notApplicable("dead-letter queue (name contains 'dlq' or tag role=dlq)");
    }
    if (!isSet(get(args.props, 'redrivePolicy'))) {
      reportViolation(
        'The queue has no redrivePolicy: poison messages are retried until they expire. Add a DLQ (or name/tag this queue as a DLQ if it is one).',
      );
    }
  }),
};

/** Messages carry command keys and task payloads; they are encrypted at rest. */
export const sqsEncrypted: ResourceValidationPolicy = {
  name: 'sqs-queue-encrypted',
  description: 'SQS queues are encrypted at rest (sqsManagedSseEnabled or kmsMasterKeyId).',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(Queue, (_props, args, reportViolation) => {
    const sse = get(args.props, 'sqsManagedSseEnabled');
    if (sse === true || isSet(get(args.props, 'kmsMasterKeyId'))) {
      return;
    }
    if (sse === UNKNOWN) {
      return; // unknown at preview: cannot judge, assume set
    }
    reportViolation('The queue is not explicitly encrypted; set sqsManagedSseEnabled: true or kmsMasterKeyId.');
  }),
};

export const snsEncrypted: ResourceValidationPolicy = {
  name: 'sns-topic-encrypted',
  description: 'SNS topics are encrypted at rest with KMS (kmsMasterKeyId, e.g. alias/aws/sns).',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(Topic, (_props, args, reportViolation) => {
    if (!isSet(get(args.props, 'kmsMasterKeyId'))) {
      reportViolation('The topic is not encrypted; set kmsMasterKeyId ("alias/aws/sns" or a customer managed key).');
    }
  }),
};
