import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { EventSourceMapping } from '@pulumi/aws/lambda';
import { get, isSet, UNKNOWN, withDefaults } from './values';

export type EventSourceKind = 'stream' | 'sqs' | 'other';

/**
 * Classifies an event source mapping:
 * - `stream`: `eventSourceArn` is a DynamoDB stream (`:dynamodb:` and `/stream/`) or Kinesis
 *   (`:kinesis:`), or `startingPosition` is set (only stream-like sources take one);
 * - `sqs`: `eventSourceArn` contains `:sqs:`, or is unknown at preview while the mapping has
 *   no startingPosition, `queues` (MQ) or self-managed source — the only remaining source with
 *   an unknown ARN in this project is a queue created in the same stack;
 * - `other` otherwise (not checked).
 */
export function classifyEventSource(args: Pick<ResourceValidationArgs, 'props'>): EventSourceKind {
  const arn = get(args.props, 'eventSourceArn');
  if (typeof arn === 'string') {
    if ((arn.includes(':dynamodb:') && arn.includes('/stream/')) || arn.includes(':kinesis:')) {
      return 'stream';
    }
    if (arn.includes(':sqs:')) {
      return 'sqs';
    }
  }
  if (isSet(get(args.props, 'startingPosition'))) {
    return 'stream';
  }
  if (arn === UNKNOWN && !isSet(get(args.props, 'queues')) && !isSet(get(args.props, 'selfManagedEventSource'))) {
    return 'sqs';
  }
  return 'other';
}

export interface StreamFailureConfig {
  /** Highest maximumRetryAttempts accepted for a stream source. */
  maxRetryAttempts: number;
}

export const STREAM_FAILURE_DEFAULTS: StreamFailureConfig = { maxRetryAttempts: 10 };

/**
 * A stream batch that keeps failing blocks its shard (every later command of that partition)
 * for up to the record's 24 h lifetime and is then dropped. Stream mappings bound their
 * retries and send what they give up on to an on-failure destination.
 */
export const streamFailureHandling: ResourceValidationPolicy = {
  name: 'stream-event-source-failure-handling',
  description:
    'DynamoDB/Kinesis stream event source mappings bound maximumRetryAttempts and set an on-failure destination.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      maxRetryAttempts: {
        type: 'integer',
        minimum: 0,
        maximum: 10000,
        default: STREAM_FAILURE_DEFAULTS.maxRetryAttempts,
        description: 'Highest maximumRetryAttempts accepted on a stream event source mapping.',
      },
    },
  },
  validateResource: validateResourceOfType(EventSourceMapping, (_props, args, reportViolation) => {
    if (classifyEventSource(args) !== 'stream') {
      args.notApplicable('not a DynamoDB/Kinesis stream source');
    }
    const cfg = withDefaults(STREAM_FAILURE_DEFAULTS, args.getConfig<Partial<StreamFailureConfig>>());
    const retries = get(args.props, 'maximumRetryAttempts');
    if (retries === undefined || retries === null) {
      reportViolation(
        `maximumRetryAttempts is not set (default -1 = retry until the record expires); set it between 0 and ${cfg.maxRetryAttempts}.`,
      );
    } else if (retries !== UNKNOWN) {
      if (typeof retries !== 'number' || retries < 0) {
        reportViolation(
          `maximumRetryAttempts is ${JSON.stringify(retries)} (infinite); set it between 0 and ${cfg.maxRetryAttempts}.`,
        );
      } else if (retries > cfg.maxRetryAttempts) {
        reportViolation(
          `maximumRetryAttempts is ${retries}, above the maximum ${cfg.maxRetryAttempts} (policy config "maxRetryAttempts").`,
        );
      }
    }
    if (!isSet(get(args.props, 'destinationConfig', 'onFailure', 'destinationArn'))) {
      reportViolation(
        'destinationConfig.onFailure.destinationArn is not set: records that exhaust their retries are dropped without a trace.',
      );
    }
  }),
};

/**
 * Without `ReportBatchItemFailures` one bad message makes the whole batch visible again, so
 * the good messages are processed twice and the bad one drags them into the DLQ.
 */
export const sqsPartialBatchFailures: ResourceValidationPolicy = {
  name: 'sqs-event-source-partial-batch-failures',
  description: 'SQS event source mappings enable functionResponseTypes ReportBatchItemFailures.',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(EventSourceMapping, (_props, args, reportViolation) => {
    if (classifyEventSource(args) !== 'sqs') {
      args.notApplicable('not an SQS source');
    }
    const types = get(args.props, 'functionResponseTypes');
    if (types === UNKNOWN) {
      return;
    }
    const list = Array.isArray(types) ? types.map((_t, i) => get(types, i)) : [];
    if (!list.includes('ReportBatchItemFailures')) {
      reportViolation(
        'functionResponseTypes does not include "ReportBatchItemFailures": one failed message makes the whole batch retry.',
      );
    }
  }),
};
