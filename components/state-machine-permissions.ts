import type { PolicyStatement } from './iam';
import type { StateMachineDefinition, TaskState } from './asl/types';
import { forEachState } from './asl/walk';

const LAMBDA_INVOKE = /^arn:[a-z-]+:states:::lambda:invoke(\.waitForTaskToken)?$/;
const S3_GET_OBJECT = /^arn:[a-z-]+:states:::s3:getObject$/;
const S3_PUT_OBJECT = /^arn:[a-z-]+:states:::s3:putObject$/;

export interface MachineIdentity {
  /** ARN of this state machine (built from its name). */
  arn: string;
  name: string;
  partition: string;
  region: string;
  accountId: string;
  /** The import bucket: the only bucket an ItemReader or ResultWriter may use. */
  bucketName: string;
}

/**
 * The exact grants a definition needs, read from the definition itself so the
 * role can never drift from what the machine does: invoke exactly the Lambdas
 * its tasks name, read/write exactly the S3 locations its Distributed Maps use,
 * start and watch its own child executions.
 */
export function permissionsFor(
  machineName: string,
  def: StateMachineDefinition,
  id: MachineIdentity,
): PolicyStatement[] {
  const functions = new Set<string>();
  const reads = new Set<string>();
  const writes = new Set<string>();
  let distributed = false;

  forEachState(def, (stateName, state) => {
    if (state.Type === 'Task') {
      if (LAMBDA_INVOKE.test(state.Resource)) functions.add(staticFunctionName(machineName, stateName, state));
      else
        throw new Error(`${machineName}: state "${stateName}" uses ${state.Resource}, which has no permission mapping`);
    }
    if (state.Type !== 'Map') return;
    if (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') distributed = true;
    if (state.ItemReader) {
      if (!S3_GET_OBJECT.test(state.ItemReader.Resource)) {
        throw new Error(
          `${machineName}: state "${stateName}" ItemReader ${state.ItemReader.Resource} has no permission mapping`,
        );
      }
      reads.add(`arn:${id.partition}:s3:::${id.bucketName}/*`);
    }
    if (state.ResultWriter) {
      if (!S3_PUT_OBJECT.test(state.ResultWriter.Resource)) {
        throw new Error(
          `${machineName}: state "${stateName}" ResultWriter ${state.ResultWriter.Resource} has no permission mapping`,
        );
      }
      const params = state.ResultWriter.Parameters ?? {};
      if (params.Bucket !== id.bucketName) {
        throw new Error(
          `${machineName}: state "${stateName}" writes results to ${JSON.stringify(params.Bucket)}, not the import bucket ${id.bucketName}`,
        );
      }
      const prefix = typeof params.Prefix === 'string' ? params.Prefix : '';
      writes.add(`arn:${id.partition}:s3:::${id.bucketName}/${prefix}*`);
    }
  });

  const statements: PolicyStatement[] = [];
  if (functions.size > 0) {
    const names = [...functions].sort();
    statements.push({
      Sid: 'InvokeFunctions',
      Action: ['lambda:InvokeFunction'],
      // Versions and aliases of the same functions, nothing else.
      Resource: names.flatMap((arn) => [arn, `${arn}:*`]),
    });
  }
  if (reads.size > 0) statements.push({ Sid: 'ReadItems', Action: ['s3:GetObject'], Resource: [...reads].sort() });
  if (writes.size > 0) {
    statements.push({
      Sid: 'WriteResults',
      Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      Resource: [...writes].sort(),
    });
  }
  if (distributed) {
    statements.push(
      { Sid: 'StartChildExecutions', Action: ['states:StartExecution'], Resource: [id.arn] },
      {
        Sid: 'WatchChildExecutions',
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: [`arn:${id.partition}:states:${id.region}:${id.accountId}:execution:${id.name}/*`],
      },
    );
  }
  // Vended log delivery and X-Ray support no resource-level permissions: "*" is
  // the only resource AWS accepts for these, the actions stay explicit.
  statements.push(
    {
      Sid: 'LogDelivery',
      Action: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      Resource: ['*'],
    },
    {
      Sid: 'Tracing',
      Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
      Resource: ['*'],
    },
  );
  return statements;
}

function staticFunctionName(machineName: string, stateName: string, state: TaskState): string {
  const name = state.Parameters?.FunctionName;
  if (typeof name !== 'string') {
    throw new Error(
      `${machineName}: state "${stateName}" must name its Lambda with a literal FunctionName (a dynamic one cannot be granted least privilege)`,
    );
  }
  return name;
}
