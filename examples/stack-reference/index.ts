// Another Pulumi project (an API, say) that feeds the workflows deployed by a different
// project: it reads their `clientConfig` through a StackReference.
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { HandlerFunction, type PerTable } from 'cqrs-workflows';

// <organization>/<project>/<stack> of the program that created CqrsWorkflows, whose
// stack exports `clientConfig`, `tableArns` and `bucketArn` (see the example above).
const workflows = new pulumi.StackReference(`acme/orders-workflows/${pulumi.getStack()}`);
const clientConfig = workflows.requireOutput('clientConfig');
const tableArns = workflows.requireOutput('tableArns') as pulumi.Output<PerTable>;
const bucketArn = workflows.requireOutput('bucketArn') as pulumi.Output<string>;

// An API function that publishes commands (createCqrsClient in handlers/api.ts).
new HandlerFunction('orders-api', {
  entry: path.join(__dirname, 'handlers', 'api.ts'),
  functionName: `orders-api-${pulumi.getStack()}`,
  environment: { CQRS_CLIENT_CONFIG: pulumi.jsonStringify(clientConfig) },
  // publishCommand: the latest version (commands Query, data GetItem), a conditional
  // put of the next one, large attributes offloaded under payloads/.
  statements: [
    { Sid: 'Commands', Action: ['dynamodb:Query', 'dynamodb:PutItem'], Resource: [tableArns.apply((t) => t.commands)] },
    { Sid: 'Data', Action: ['dynamodb:GetItem'], Resource: [tableArns.apply((t) => t.data)] },
    { Sid: 'Payloads', Action: ['s3:PutObject'], Resource: [pulumi.interpolate`${bucketArn}/payloads/*`] },
  ],
});
