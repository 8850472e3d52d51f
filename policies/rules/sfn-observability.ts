import { ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { StateMachine } from '@pulumi/aws/sfn';
import { get, isSet, UNKNOWN } from './values';

/**
 * Without execution logs a failed or stuck execution leaves no trace beyond the console's
 * 90-day history (and EXPRESS executions have no history at all). Logging must be on
 * (`level` ALL, ERROR or FATAL — absent means OFF) with a log destination. An unknown
 * destination at preview (the log group's ARN) counts as set.
 */
export const stateMachineLogging: ResourceValidationPolicy = {
  name: 'sfn-logging-enabled',
  description:
    'Step Functions state machines log executions (loggingConfiguration.level not OFF) to a log destination.',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(StateMachine, (_props, args, reportViolation) => {
    const level = get(args.props, 'loggingConfiguration', 'level');
    const destination = get(args.props, 'loggingConfiguration', 'logDestination');
    if (level === undefined || level === null || level === 'OFF') {
      reportViolation(
        `Execution logging is off (loggingConfiguration.level is ${level === 'OFF' ? 'OFF' : 'not set'}); set it to ALL, ERROR or FATAL.`,
      );
    } else if (level !== UNKNOWN && (typeof level !== 'string' || !['ALL', 'ERROR', 'FATAL'].includes(level))) {
      reportViolation(`loggingConfiguration.level ${JSON.stringify(level)} is not one of ALL, ERROR, FATAL.`);
    }
    if (!isSet(destination)) {
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
