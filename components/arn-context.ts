import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ArnContext } from './naming';

/**
 * The caller's partition, region and account, from provider invokes. Invokes answer
 * during `pulumi preview` (resource outputs do not), so ARNs built from names and this
 * context keep state machine definitions known at preview.
 */
export function callerArnContext(opts?: pulumi.InvokeOutputOptions): pulumi.Output<ArnContext> {
  return pulumi
    .all([aws.getCallerIdentityOutput({}, opts), aws.getRegionOutput({}, opts), aws.getPartitionOutput({}, opts)])
    .apply(([identity, region, partition]) => ({
      accountId: identity.accountId,
      region: region.region,
      partition: partition.partition,
    }));
}
