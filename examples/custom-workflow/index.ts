// A team's own state machine next to the built-in ones: built with the package's ASL
// builders, its Lambda following the same event shape, and WorkflowStateMachine making it
// validated, known at preview, least-privileged, logged, traced and alarmed.
import * as path from 'node:path';
import {
  arns,
  asl,
  callerArnContext,
  CqrsWorkflows,
  HandlerFunction,
  LogLevel,
  StateMachineType,
  WorkflowStateMachine,
} from 'cqrs-workflows';

const workflows = new CqrsWorkflows('orders', { deletionProtection: true, protectData: true });

// Names first: the definition is built from them, never from resource outputs.
const stepName = `${workflows.prefix}-approval-step`;
const machineName = `${workflows.prefix}-approval`;
const context = callerArnContext();

// One Lambda for every Task state, dispatched on `context.State.Name` like the built-in steps.
const step = new HandlerFunction('approval-step', {
  entry: path.join(__dirname, 'handlers', 'approval-step.ts'),
  functionName: stepName,
  // What the handler's code calls, and nothing else.
  statements: [
    {
      Sid: 'Orders',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: [workflows.tableArns.apply((t) => t.data)],
    },
  ],
  environment: { DATA_TABLE: workflows.tableNames.apply((t) => t.data) },
  alarmTopicArn: workflows.alarmTopicArn,
});

const definition = context.apply((c): asl.StateMachineDefinition => {
  const fn = arns.lambda(c, stepName);
  const onFailure = [asl.catchAll('record_failure', '$.error')];
  return {
    Comment: 'Order approval: check the order, wait (bounded) for a person to decide, apply the decision',
    StartAt: 'check_order',
    States: {
      check_order: asl.lambdaTask(fn, { next: 'wait_for_decision', catch: onFailure }),
      // The handler stores the task token on the order; the approver's application approves
      // with resumeExecution(token) or rejects with failExecution(token, reason) from
      // cqrs-workflows/client. Nobody answering within a day fails the execution.
      wait_for_decision: asl.lambdaTask(fn, {
        waitForTaskToken: true,
        timeoutSeconds: 86400,
        heartbeatSeconds: null,
        next: 'apply_decision',
        catch: onFailure,
      }),
      apply_decision: asl.lambdaTask(fn, { end: true, catch: onFailure }),
      record_failure: asl.lambdaTask(fn, { next: 'failed' }),
      failed: { Type: 'Fail', Error: 'ApprovalFailed', Cause: 'see the order row for the reason' },
    },
  };
});

const approval = new WorkflowStateMachine(
  'approval',
  {
    stateMachineName: machineName,
    type: StateMachineType.Standard,
    definition,
    arnContext: context,
    alarmTopicArn: workflows.alarmTopicArn,
    logLevel: LogLevel.Error,
    logRetentionDays: 90,
  },
  // The machine invokes the function: create the function first.
  { dependsOn: [step] },
);

export const approvalMachineArn = approval.arn;
export const approvalLogGroup = approval.logGroup.name;
