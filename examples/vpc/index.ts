// Handlers in private subnets without internet access: an awsx VPC without NAT gateways,
// gateway endpoints for DynamoDB and S3, interface endpoints for Step Functions, SNS, SQS,
// Lambda and CloudWatch Logs. `npm install @pulumi/awsx` next to cqrs-workflows.
import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import { CqrsWorkflows } from 'cqrs-workflows';

const region = aws.getRegionOutput().region;

const vpc = new awsx.ec2.Vpc('cqrs', {
  cidrBlock: '10.20.0.0/16',
  numberOfAvailabilityZones: 2,
  // No NAT gateways, no internet route: the subnets reach AWS only through the endpoints below.
  natGateways: { strategy: awsx.ec2.NatGatewayStrategy.None },
  subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
  subnetSpecs: [{ type: awsx.ec2.SubnetType.Isolated, name: 'handlers', cidrMask: 22 }],
});

const handlersSg = new aws.ec2.SecurityGroup('cqrs-handlers', {
  vpcId: vpc.vpcId,
  description: 'cqrs-workflows handler Lambdas',
  // HTTPS out; the subnets have no route anywhere but the VPC endpoints.
  egress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'] }],
});
const endpointsSg = new aws.ec2.SecurityGroup('cqrs-endpoints', {
  vpcId: vpc.vpcId,
  description: 'Interface endpoints used by the cqrs-workflows handlers',
  ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, securityGroups: [handlersSg.id] }],
});

// Gateway endpoints (no hourly cost) add routes to the subnets' route tables.
for (const service of ['dynamodb', 's3']) {
  new aws.ec2.VpcEndpoint(`cqrs-${service}`, {
    vpcId: vpc.vpcId,
    serviceName: region.apply((r) => `com.amazonaws.${r}.${service}`),
    vpcEndpointType: 'Gateway',
    routeTableIds: vpc.routeTables.apply((tables) => tables.map((t) => t.id)),
  });
}
// Interface endpoints with private DNS: the SDK's default endpoints resolve to them.
for (const service of ['states', 'sns', 'sqs', 'lambda', 'logs']) {
  new aws.ec2.VpcEndpoint(`cqrs-${service}`, {
    vpcId: vpc.vpcId,
    serviceName: region.apply((r) => `com.amazonaws.${r}.${service}`),
    vpcEndpointType: 'Interface',
    privateDnsEnabled: true,
    subnetIds: vpc.isolatedSubnetIds,
    securityGroupIds: [endpointsSg.id],
  });
}

const workflows = new CqrsWorkflows('orders', {
  vpc: { subnetIds: vpc.isolatedSubnetIds, securityGroupIds: [handlersSg.id] },
});

export const functionNames = workflows.functionNames;
