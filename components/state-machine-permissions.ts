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
  /** The only bucket an ItemReader or ResultWriter may use; a machine without one may use none. */
  bucketName?: string;
  /**
   * Key prefixes an ItemReader may read when its key is chosen at run time (`Key.$`):
   * the definition cannot say which objects those are, the caller does.
   */
  itemReaderKeyPrefixes: readonly string[];
}

/**
 * The exact grants a definition needs, read from the definition itself so the
 * role can never drift from what the machine does: invoke exactly the Lambdas
 * its tasks name (unqualified, as the tasks name them), read exactly the objects
 * its ItemReaders read and write where its ResultWriters write, start its own
 * child executions, and watch them only when they are STANDARD (EXPRESS children
 * are not `execution:` resources and are never described or stopped by ARN).
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
  let standardChildren = false;

  forEachState(def, (stateName, state) => {
    if (state.Type === 'Task') {
      if (LAMBDA_INVOKE.test(state.Resource)) functions.add(staticFunctionName(machineName, stateName, state));
      else
        throw new Error(`${machineName}: state "${stateName}" uses ${state.Resource}, which has no permission mapping`);
    }
    if (state.Type !== 'Map') return;
    const processor = state.ItemProcessor?.ProcessorConfig;
    if (processor?.Mode === 'DISTRIBUTED') {
      distributed = true;
      // Step Functions runs Distributed Map children as STANDARD unless told otherwise.
      if (processor.ExecutionType !== 'EXPRESS') standardChildren = true;
    }
    if ((state.ItemReader || state.ResultWriter) && id.bucketName === undefined) {
      throw new Error(
        `${machineName}: state "${stateName}" reads or writes S3, but the machine was given no bucketName to scope that to`,
      );
    }
    if (state.ItemReader) {
      if (!S3_GET_OBJECT.test(state.ItemReader.Resource)) {
        throw new Error(
          `${machineName}: state "${stateName}" ItemReader ${state.ItemReader.Resource} has no permission mapping`,
        );
      }
      const params = state.ItemReader.Parameters ?? {};
      if ('Bucket' in params && params.Bucket !== id.bucketName) {
        throw new Error(
          `${machineName}: state "${stateName}" reads items from ${JSON.stringify(params.Bucket)}, not the import bucket ${id.bucketName}`,
        );
      }
      const objects = typeof params.Key === 'string' ? [params.Key] : id.itemReaderKeyPrefixes.map((p) => `${p}*`);
      for (const key of objects) reads.add(`arn:${id.partition}:s3:::${id.bucketName}/${key}`);
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
    statements.push({ Sid: 'InvokeFunctions', Action: ['lambda:InvokeFunction'], Resource: names });
  }
  if (reads.size > 0) statements.push({ Sid: 'ReadItems', Action: ['s3:GetObject'], Resource: [...reads].sort() });
  if (writes.size > 0) {
    // The actions AWS documents for a ResultWriter: it writes the results as multipart
    // uploads and reads back what it wrote.
    statements.push({
      Sid: 'WriteResults',
      Action: ['s3:PutObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
      Resource: [...writes].sort(),
    });
  }
  if (distributed)
    statements.push({ Sid: 'StartChildExecutions', Action: ['states:StartExecution'], Resource: [id.arn] });
  if (standardChildren) {
    statements.push({
      Sid: 'WatchChildExecutions',
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Resource: [`arn:${id.partition}:states:${id.region}:${id.accountId}:execution:${id.name}/*`],
    });
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
