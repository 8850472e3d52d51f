// A Pulumi program in another project that uses the package: `npm install cqrs-workflows`.
import * as path from 'node:path';
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { CqrsWorkflows, HandlerFunction, LogLevel } from 'cqrs-workflows';

const stack = pulumi.getStack();
const provider = new aws.Provider('eu', { region: 'eu-central-1' });

// Your own Lambdas get explicit names: the workflows refer to them by name, so every state
// machine definition is known during a first `pulumi preview` and the policy pack judges it.
const searchIndexerName = `orders-${stack}-search-indexer`;
const invoiceExecutorName = `orders-${stack}-invoice-executor`;

const workflows = new CqrsWorkflows(
  'orders',
  {
    // Default prefix: `<name>-<stack>`, here `orders-<stack>`.
    deletionProtection: true,
    protectData: true,
    logRetentionDays: 90,
    stateMachineLogLevel: LogLevel.Error,
    alarmEmails: ['oncall@example.com'],
    command: {
      syncMaxConcurrency: 5,
      // An extra read model: the command machine gets a `sync_search` state and may invoke exactly this function.
      // timeoutSeconds: the function's own timeout (HandlerFunction's default, 30 s): after a call that may
      // still be running, the next version waits that long (900 s when not given: always safe, but slow).
      syncTargets: [{ name: 'search', functionName: searchIndexerName, timeoutSeconds: 30 }],
    },
    task: { maxConcurrency: 4, executors: { invoice: invoiceExecutorName } },
    import: { maxConcurrency: 20 },
    tags: { team: 'orders' },
  },
  { providers: { aws: provider } },
);

// The two functions, bundled by esbuild from this project, each with its own log group,
// X-Ray, an alarm on errors and a role holding exactly the grants listed (none here).
for (const [handler, functionName] of [
  ['search-indexer', searchIndexerName],
  ['invoice-executor', invoiceExecutorName],
] as const) {
  new HandlerFunction(
    handler,
    {
      entry: path.join(__dirname, 'handlers', `${handler}.ts`),
      functionName,
      statements: [],
      logRetentionDays: 90,
      alarmTopicArn: workflows.alarmTopicArn,
      tags: { team: 'orders' },
    },
    { providers: { aws: provider } },
  );
}

export const commandMachine = workflows.stateMachineArns.apply((arns) => arns.command);
export const tableArns = workflows.tableArns;
export const bucketArn = workflows.bucketArn;
// Everything `createCqrsClient` needs; other projects read it through a StackReference.
export const clientConfig = workflows.clientConfig;
