import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { lockDownBucket, tlsOnlyPolicy } from './import-bucket';
import { mayForceDestroy, recordRetainOnDelete } from './resource-options';

export interface AccessLogBucketArgs {
  /** Physical name of the bucket that receives the logs (globally unique). */
  bucketName: pulumi.Input<string>;
  /** Name of the bucket whose requests are logged. */
  sourceBucketName: pulumi.Input<string>;
  /** ARN of the bucket whose requests are logged; only its log delivery may write here. */
  sourceBucketArn: pulumi.Input<string>;
  /** Account that owns the source bucket; log delivery is accepted for it only. */
  sourceAccountId: pulumi.Input<string>;
  /** Days an access log file is kept (integer). Default: 365. */
  retentionDays?: pulumi.Input<number>;
  /**
   * Pulumi `protect` on the log bucket. A protected or retained bucket never gets
   * `forceDestroy`. Default: inherited from this component's own `protect` option.
   */
  protect?: boolean;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * S3 server access logging for a bucket that receives tenants' files: every request
 * (who read, wrote or deleted which object, from where, with which result) lands as a log
 * file in a private bucket of its own. The log bucket uses SSE-S3 (the only default
 * encryption S3 log delivery supports), refuses plain HTTP, and accepts writes from the
 * S3 logging service for the one source bucket and account only.
 */
export class AccessLogBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  /** Key prefix of the source bucket's log files. */
  readonly prefix: pulumi.Output<string>;

  constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:AccessLogBucket', name, {}, opts);
    recordRetainOnDelete(this, opts);
    const child = { parent: this };
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: args.bucketName, forceDestroy: mayForceDestroy(this, args.protect), tags: args.tags },
      { parent: this, protect: args.protect },
    );
    // SSE-S3: the only default encryption S3 log delivery writes into.
    lockDownBucket(name, bucket.id, undefined, child);
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: 'expire-access-logs',
            status: 'Enabled',
            filter: { prefix: '' },
            expiration: { days: args.retentionDays ?? 365 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ],
      },
      child,
    );
    const prefix = pulumi.interpolate`${args.sourceBucketName}/`;
    // With ACLs disabled (BucketOwnerEnforced), the bucket policy is how S3 log delivery is allowed in.
    const policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: tlsOnlyPolicy(bucket.arn, [
          {
            Sid: 'S3ServerAccessLogDelivery',
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: ['s3:PutObject'],
            Resource: [pulumi.interpolate`${bucket.arn}/${prefix}*`],
            Condition: {
              ArnEquals: { 'aws:SourceArn': args.sourceBucketArn },
              StringEquals: { 'aws:SourceAccount': args.sourceAccountId },
            },
          },
        ]),
      },
      child,
    );
    new aws.s3.BucketLogging(
      `${name}-logging`,
      { bucket: args.sourceBucketName, targetBucket: bucket.id, targetPrefix: prefix },
      { parent: this, dependsOn: [policy] },
    );
    this.bucket = bucket;
    this.name = bucket.bucket;
    this.arn = bucket.arn;
    this.prefix = prefix;
    this.registerOutputs({ name: this.name, arn: this.arn, prefix: this.prefix });
  }
}
