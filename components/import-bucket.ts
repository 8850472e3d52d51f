import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BUCKET_PREFIXES, CSV_SOURCE_PREFIXES } from '../core/bucket-layout';
import { mayForceDestroy, recordRetainOnDelete } from './resource-options';

/** Key prefixes inside the import bucket, shared with the handlers (one definition). */
export const IMPORT_PREFIXES = BUCKET_PREFIXES;
export { CSV_SOURCE_PREFIXES };

export interface ImportBucketArgs {
  /** Physical bucket name (globally unique; the program adds the account id). */
  bucketName: pulumi.Input<string>;
  /**
   * Days to keep what imports derive from uploads: unzipped CSVs, staged rows and Distributed
   * Map result files. Default: 30. Offloaded payloads are kept: command, history and data rows
   * reference them.
   */
  resultRetentionDays?: pulumi.Input<number>;
  /** Days to keep uploaded files under `imports/`; 0 keeps them. Default: 30. */
  uploadRetentionDays?: pulumi.Input<number>;
  /**
   * Pulumi `protect` on the bucket. A protected or retained bucket never gets
   * `forceDestroy`. Default: inherited from this component's own `protect` option.
   */
  protect?: boolean;
  /** Customer-managed KMS key. Default: SSE-S3 (AES256). */
  kmsKeyArn?: pulumi.Input<string>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A bucket policy refusing every S3 action over plain HTTP. A Deny narrows access, so
 * `s3:*` is the right action here (the policy pack's no-wildcard rule exempts Deny
 * statements): listing actions would leave the ones not listed open to HTTP.
 */
export function tlsOnlyPolicy(
  bucketArn: pulumi.Input<string>,
  allow: pulumi.Input<Record<string, unknown>>[] = [],
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: '2012-10-17',
    Statement: [
      ...allow,
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
}

/**
 * Default encryption (the KMS key if given, else SSE-S3), every kind of public access
 * blocked, and ACLs disabled (the bucket owner owns every object).
 */
export function lockDownBucket(
  name: string,
  bucketId: pulumi.Input<string>,
  kmsKeyArn: pulumi.Input<string> | undefined,
  opts: pulumi.CustomResourceOptions,
): void {
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    {
      bucket: bucketId,
      rules: [
        {
          applyServerSideEncryptionByDefault: kmsKeyArn
            ? { sseAlgorithm: 'aws:kms', kmsMasterKeyId: kmsKeyArn }
            : { sseAlgorithm: 'AES256' },
          bucketKeyEnabled: kmsKeyArn ? true : undefined,
        },
      ],
    },
    opts,
  );
  new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    {
      bucket: bucketId,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketOwnershipControls(
    `${name}-ownership`,
    { bucket: bucketId, rule: { objectOwnership: 'BucketOwnerEnforced' } },
    opts,
  );
}

/** The bucket CSV/ZIP imports are read from and Distributed Map results are written to. */
export class ImportBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: ImportBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:ImportBucket', name, {}, opts);
    recordRetainOnDelete(this, opts);
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      { bucket: args.bucketName, forceDestroy: mayForceDestroy(this, args.protect), tags: args.tags },
      // `undefined` lets Pulumi inherit the component's `protect`.
      { parent: this, protect: args.protect },
    );
    const child = { parent: this };
    lockDownBucket(name, bucket.id, args.kmsKeyArn, child);
    const days = args.resultRetentionDays ?? 30;
    const expire = (id: string, prefix: string, after: pulumi.Input<number>) => ({
      id,
      status: 'Enabled',
      filter: { prefix },
      expiration: { days: after },
    });
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        // `payloads/` has no rule: command, history and data rows reference those objects.
        rules: pulumi.output(args.uploadRetentionDays ?? 30).apply((uploadDays) => [
          expire('expire-import-results', IMPORT_PREFIXES.results, days),
          expire('expire-unzipped', IMPORT_PREFIXES.unzipped, days),
          expire('expire-staged', IMPORT_PREFIXES.staged, days),
          ...(uploadDays > 0 ? [expire('expire-uploads', IMPORT_PREFIXES.uploads, uploadDays)] : []),
          {
            id: 'abort-incomplete-uploads',
            status: 'Enabled',
            filter: { prefix: '' },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
          },
        ]),
      },
      child,
    );
    new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: bucket.id, policy: tlsOnlyPolicy(bucket.arn) }, child);
    this.bucket = bucket;
    this.name = bucket.bucket;
    this.arn = bucket.arn;
    this.registerOutputs({ name: this.name, arn: this.arn });
  }
}
