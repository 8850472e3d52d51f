import { ResourceValidationPolicy } from '@pulumi/policy';
import { validateDefinition, walkStates } from './asl';
import { isJsonObject } from './values';

/** AWS's defaults when a retrier omits them. */
const DEFAULT_BACKOFF_RATE = 2;
const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Exponential retries without jitter make every failed execution retry in lock-step, turning
 * a throttling blip into a thundering herd. Any retrier that backs off (BackoffRate > 1,
 * including the AWS default 2.0 when omitted) should set `JitterStrategy: "FULL"`.
 * Retriers with `MaxAttempts` 0 (no retry) or 1 (one retry after IntervalSeconds: the
 * backoff rate never applies) are ignored.
 */
export const retryJitter: ResourceValidationPolicy = {
  name: 'sfn-retry-jitter',
  description: 'Step Functions retriers with exponential backoff (BackoffRate > 1) set JitterStrategy FULL.',
  enforcementLevel: 'advisory',
  validateResource: validateDefinition((definition, _args, reportViolation) => {
    walkStates(definition, (s) => {
      const retry = s.state['Retry'];
      if (!Array.isArray(retry)) {
        return;
      }
      retry.forEach((r, i) => {
        if (!isJsonObject(r)) {
          return;
        }
        const attempts = typeof r['MaxAttempts'] === 'number' ? r['MaxAttempts'] : DEFAULT_MAX_ATTEMPTS;
        if (attempts <= 1) {
          return;
        }
        const rate = typeof r['BackoffRate'] === 'number' ? r['BackoffRate'] : DEFAULT_BACKOFF_RATE;
        if (rate > 1 && r['JitterStrategy'] !== 'FULL') {
          const errors = Array.isArray(r['ErrorEquals'])
            ? r['ErrorEquals'].map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join(',')
            : '?';
          reportViolation(
            `State "${s.path}" Retry[${i}] (${errors}) backs off with BackoffRate ${rate} but has no JitterStrategy "FULL".`,
          );
        }
      });
    });
  }),
};
