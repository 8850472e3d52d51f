import { ResourceValidationPolicy } from '@pulumi/policy';
import { isJsonataExpression, jsonPathOnlyIn, validateDefinition, VisitedState, walkStates } from './asl';
import { withDefaults } from './values';

export interface TaskTokenTimeoutConfig {
  /** Highest TimeoutSeconds accepted on a callback (.waitForTaskToken) or activity Task. */
  maxTimeoutSeconds: number;
}

export const TASK_TOKEN_DEFAULTS: TaskTokenTimeoutConfig = { maxTimeoutSeconds: 86400 };

const ACTIVITY_ARN = /^arn:aws[a-z-]*:states:[^:]*:[^:]*:activity:/;

/** True for Task states that wait for an external party: `.waitForTaskToken` integrations and activities. */
export function isCallbackTask(s: VisitedState): 'callback' | 'activity' | undefined {
  if (s.type !== 'Task') {
    return undefined;
  }
  const resource = s.state['Resource'];
  if (typeof resource !== 'string') {
    return undefined;
  }
  if (resource.endsWith('.waitForTaskToken')) {
    return 'callback';
  }
  return ACTIVITY_ARN.test(resource) ? 'activity' : undefined;
}

/**
 * A Task that waits for a task token (any service) or an activity worker waits, by default,
 * for up to a year: a lost token hangs the execution (and, in the command chain, every later
 * version). Each such Task must set TimeoutSeconds (or TimeoutSecondsPath / a JSONata
 * expression) no greater than the configured maximum, and a numeric HeartbeatSeconds must be
 * shorter than the timeout.
 */
export const taskTokenTimeouts: ResourceValidationPolicy = {
  name: 'sfn-task-token-timeout',
  description:
    'Every .waitForTaskToken or activity Task state (at any nesting level) sets a bounded TimeoutSeconds, and HeartbeatSeconds shorter than it.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      maxTimeoutSeconds: {
        type: 'integer',
        minimum: 1,
        default: TASK_TOKEN_DEFAULTS.maxTimeoutSeconds,
        description: 'Highest TimeoutSeconds accepted on a callback or activity Task.',
      },
    },
  },
  validateResource: validateDefinition((definition, args, reportViolation) => {
    const cfg = withDefaults(TASK_TOKEN_DEFAULTS, args.getConfig<Partial<TaskTokenTimeoutConfig>>());
    walkStates(definition, (s) => {
      const kind = isCallbackTask(s);
      if (!kind) {
        return;
      }
      const what = kind === 'callback' ? 'Callback (.waitForTaskToken) Task' : 'Activity Task';
      for (const field of ['TimeoutSecondsPath', 'HeartbeatSecondsPath']) {
        if (jsonPathOnlyIn(s, field)) {
          reportViolation(
            `${what} "${s.path}" is a JSONata state with ${field}, a JSONPath-only field Step Functions rejects there; use ${field.replace('Path', '')} with a number or a {% %} expression.`,
          );
          return;
        }
      }
      const timeout = s.state['TimeoutSeconds'];
      const jsonata = s.queryLanguage === 'JSONata';
      const timeoutPath = !jsonata && typeof s.state['TimeoutSecondsPath'] === 'string';
      let numericTimeout: number | undefined;
      if (timeout === undefined || timeout === null) {
        if (!timeoutPath) {
          reportViolation(
            `${what} "${s.path}" has no TimeoutSeconds: a lost token or worker hangs the execution for up to a year. Set TimeoutSeconds <= ${cfg.maxTimeoutSeconds}.`,
          );
          return;
        }
      } else if (typeof timeout === 'string' && jsonata && isJsonataExpression(timeout)) {
        // dynamic, like TimeoutSecondsPath
      } else if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0) {
        reportViolation(
          `${what} "${s.path}" has an invalid TimeoutSeconds ${JSON.stringify(timeout)}; use a positive integer <= ${cfg.maxTimeoutSeconds}.`,
        );
        return;
      } else if (timeout > cfg.maxTimeoutSeconds) {
        reportViolation(
          `${what} "${s.path}" has TimeoutSeconds ${timeout}, above the maximum ${cfg.maxTimeoutSeconds} (policy config "maxTimeoutSeconds").`,
        );
        return;
      } else {
        numericTimeout = timeout;
      }
      const heartbeat = s.state['HeartbeatSeconds'];
      if (typeof heartbeat === 'number') {
        if (heartbeat <= 0) {
          reportViolation(`${what} "${s.path}" has HeartbeatSeconds ${heartbeat}; it must be a positive integer.`);
        } else if (numericTimeout !== undefined && heartbeat >= numericTimeout) {
          reportViolation(
            `${what} "${s.path}" has HeartbeatSeconds ${heartbeat}, not shorter than TimeoutSeconds ${numericTimeout}.`,
          );
        }
      }
    });
  }),
};
