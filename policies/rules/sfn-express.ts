import { ResourceValidationPolicy } from '@pulumi/policy';
import { validateDefinition, walkStates } from './asl';
import { isCallbackTask } from './sfn-task-token';
import { get, UNKNOWN } from './values';

/** `.sync` / `.sync:2` (run a job / child execution and wait for it). */
const SYNC_SUFFIX = /\.sync(:\d+)?$/;

/**
 * Express workflows (the machine itself, or the EXPRESS child executions of a Distributed Map)
 * support neither `.waitForTaskToken`, `.sync` nor activities: AWS rejects the definition at
 * deploy time (or fails every child execution). Catching it at preview saves a failed `up`.
 */
export const expressNoWaitIntegrations: ResourceValidationPolicy = {
  name: 'sfn-express-no-wait-integrations',
  description:
    'EXPRESS state machines (and EXPRESS children of Distributed Maps) use no .waitForTaskToken, .sync or activity Task.',
  enforcementLevel: 'mandatory',
  validateResource: validateDefinition((definition, args, reportViolation) => {
    const type = get(args.props, 'type');
    if (type === UNKNOWN) {
      reportViolation('The state machine type is unknown at preview; set it from a literal (STANDARD or EXPRESS).');
      return;
    }
    const machineType = typeof type === 'string' && type.toUpperCase() === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
    walkStates(
      definition,
      (s) => {
        if (s.executionType !== 'EXPRESS' || s.type !== 'Task') {
          return;
        }
        const resource = typeof s.state['Resource'] === 'string' ? s.state['Resource'] : '';
        const where =
          s.depth > 0 && machineType !== 'EXPRESS'
            ? 'an EXPRESS child workflow of a Distributed Map'
            : 'an EXPRESS state machine';
        const callback = isCallbackTask(s);
        if (callback === 'callback') {
          reportViolation(
            `Task "${s.path}" uses ${resource} (.waitForTaskToken) in ${where}; Express workflows do not support callbacks.`,
          );
        } else if (callback === 'activity') {
          reportViolation(
            `Task "${s.path}" runs an activity in ${where}; Express workflows do not support activities.`,
          );
        } else if (SYNC_SUFFIX.test(resource)) {
          reportViolation(
            `Task "${s.path}" uses ${resource} (.sync) in ${where}; Express workflows do not support the run-a-job pattern.`,
          );
        }
      },
      machineType,
    );
  }),
};
