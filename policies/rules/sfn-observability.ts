import { ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { StateMachine } from '@pulumi/aws/sfn';
import { get, UNKNOWN } from './values';

/** True when `obj` has `key` as its own property, found without reading its value (which may be unknown). */
export function hasOwnKey(obj: unknown, key: string): boolean {
  return obj !== null && typeof obj === 'object' && Object.prototype.hasOwnProperty.call(obj, key);
}

/**
 * Without execution logs a failed or stuck execution leaves no trace beyond the console's
 * 90-day history (and EXPRESS executions have no history at all). Logging must be on
 * (`level` ALL, ERROR or FATAL — absent means OFF) with a log destination.
 *
 * Judged during a first preview too: the destination is the log group's ARN, unknown until
 * the group exists, so the rule asks whether a destination is *set* (the key is present)
 * and never reads its value; a level or configuration unknown at preview counts as set.
 */
export const stateMachineLogging: ResourceValidationPolicy = {
  name: 'sfn-logging-enabled',
  description:
    'Step Functions state machines log executions (loggingConfiguration.level not OFF) to a log destination.',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(StateMachine, (_props, args, reportViolation) => {
    const config = get(args.props, 'loggingConfiguration');
    if (config === UNKNOWN) {
      return; // the whole block is computed at preview: set, judged at `up`
    }
    const level = hasOwnKey(config, 'level') ? get(config, 'level') : undefined;
    if (level === undefined || level === null || level === 'OFF') {
      reportViolation(
        `Execution logging is off (loggingConfiguration.level is ${level === 'OFF' ? 'OFF' : 'not set'}); set it to ALL, ERROR or FATAL.`,
      );
    } else if (level !== UNKNOWN && (typeof level !== 'string' || !['ALL', 'ERROR', 'FATAL'].includes(level))) {
      reportViolation(`loggingConfiguration.level ${JSON.stringify(level)} is not one of ALL, ERROR, FATAL.`);
    }
    const destination = hasOwnKey(config, 'logDestination') ? get(config, 'logDestination') : undefined;
    if (destination === undefined || destination === null || destination === '') {
      reportViolation(
        'loggingConfiguration.logDestination is not set; point it at a CloudWatch log group ARN ending in ":*".',
      );
    }
  }),
};

/** X-Ray tracing links an execution to the Lambda invocations and service calls it makes. */
export const stateMachineTracing: ResourceValidationPolicy = {
  name: 'sfn-tracing-enabled',
  description: 'Step Functions state machines enable X-Ray tracing (tracingConfiguration.enabled).',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(StateMachine, (_props, args, reportViolation) => {
    const enabled = get(args.props, 'tracingConfiguration', 'enabled');
    if (enabled !== true && enabled !== UNKNOWN) {
      reportViolation('X-Ray tracing is off; set tracingConfiguration.enabled to true.');
    }
  }),
};
