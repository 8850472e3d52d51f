import { ResourceValidationPolicy, validateResourceOfType } from '@pulumi/policy';
import { LogGroup } from '@pulumi/aws/cloudwatch';
import { get, UNKNOWN } from './values';

/** Log groups without retention keep (and bill) every log line forever. */
export const logGroupRetention: ResourceValidationPolicy = {
  name: 'log-group-retention',
  description: 'CloudWatch log groups set retentionInDays (a finite retention).',
  enforcementLevel: 'mandatory',
  validateResource: validateResourceOfType(LogGroup, (_props, args, reportViolation) => {
    const days = get(args.props, 'retentionInDays');
    if (days === UNKNOWN) {
      return;
    }
    if (days === undefined || days === null || days === 0) {
      reportViolation(
        'The log group has no retention (retentionInDays not set or 0 = never expire); set retentionInDays.',
      );
    } else if (typeof days !== 'number' || days < 0) {
      reportViolation(`The log group has an invalid retentionInDays ${JSON.stringify(days)}.`);
    }
  }),
};
