/** Typed Amazon States Language building blocks shared by the workflow builders and the policy pack. */
export * from './types';
export { catchAll, catchErrors } from './catch';
export { choiceState, whenNumberEquals, whenStringEquals } from './choice';
export {
  LAMBDA_INVOKE_RESOURCE,
  LAMBDA_INVOKE_WAIT_RESOURCE,
  LAMBDA_TRANSIENT_ERRORS,
  integrationResource,
  lambdaPayload,
  lambdaRetrier,
  lambdaThrottleRetrier,
  LAMBDA_THROTTLED_ERROR,
  lambdaTask,
} from './lambda-task';
export type { LambdaInvokeOptions, LambdaTaskOptions, LambdaWaitOptions, TransitionOption } from './lambda-task';
export { serializeDefinition } from './serialize';
export { DefinitionValidationError, validateDefinition } from './validate';
export type { DefinitionIssue } from './validate';
export { forEachState, forEachStateMachine } from './walk';
export type { StateMachineVisitor, StateVisitor } from './walk';
