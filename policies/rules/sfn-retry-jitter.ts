import { ResourceValidationPolicy } from '@pulumi/policy';
import { validateDefinition, walkStates } from './asl';
import { isJsonObject } from './values';

/** AWS's default BackoffRate when a retrier omits it. */
const DEFAULT_BACKOFF_RATE = 2;

/**
 * Exponential retries without jitter make every failed execution retry in lock-step, turning
 * a throttling blip into a thundering herd. Any retrier that backs off (BackoffRate > 1,
 * including the AWS default 2.0 when omitted) should set `JitterStrategy: "FULL"`.
 * Retriers with `MaxAttempts: 0` never retry and are ignored.
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
        if (!isJsonObject(r) || r['MaxAttempts'] === 0) {
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
