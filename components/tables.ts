import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { physicalName } from './naming';

/** The five tables of the seed. Streams start workflows on `commands`, `tasks` and `import_tmp`. */
export const TABLE_KEYS = ['commands', 'data', 'history', 'tasks', 'import_tmp'] as const;
export type TableKey = (typeof TABLE_KEYS)[number];
export const STREAM_TABLES: readonly TableKey[] = ['commands', 'tasks', 'import_tmp'];

export interface CqrsTablesArgs {
  /** Name prefix; tables are `<prefix>-<key>`. */
  prefix: string;
  /** DynamoDB deletion protection. Default: false. */
  deletionProtection?: pulumi.Input<boolean>;
  /**
   * Pulumi `protect` on every table (a plain value: resource options cannot wait for outputs).
   * Default: inherited from this component's own `protect` option, as Pulumi does for any child.
   */
  protect?: boolean;
  /** Customer-managed KMS key for server-side encryption. Default: the AWS-managed `aws/dynamodb` key. */
  kmsKeyArn?: pulumi.Input<string>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface TableOutputs {
  name: pulumi.Output<string>;
  arn: pulumi.Output<string>;
  /** Undefined for tables without a stream. */
  streamArn?: pulumi.Output<string>;
}

/** On-demand pk/sk tables with TTL on `ttl`, point-in-time recovery and encryption. */
export class CqrsTables extends pulumi.ComponentResource {
  readonly tables: Record<TableKey, aws.dynamodb.Table>;
  /** Physical names, known before deployment (state machine definitions and policies use them). */
  readonly names: Record<TableKey, string>;

  constructor(name: string, args: CqrsTablesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cqrs-workflows:index:CqrsTables', name, {}, opts);
    const names = {} as Record<TableKey, string>;
    const tables = {} as Record<TableKey, aws.dynamodb.Table>;
    for (const key of TABLE_KEYS) {
      names[key] = physicalName(args.prefix, key, 'dynamodbTable');
      const streamed = STREAM_TABLES.includes(key);
      tables[key] = new aws.dynamodb.Table(
        `${name}-${key.replace(/_/g, '-')}`,
        {
          name: names[key],
          billingMode: 'PAY_PER_REQUEST',
          hashKey: 'pk',
          rangeKey: 'sk',
          attributes: [
            { name: 'pk', type: 'S' },
            { name: 'sk', type: 'S' },
          ],
          streamEnabled: streamed,
          streamViewType: streamed ? 'NEW_IMAGE' : undefined,
          ttl: { attributeName: 'ttl', enabled: true },
          pointInTimeRecovery: { enabled: true },
          serverSideEncryption: { enabled: true, kmsKeyArn: args.kmsKeyArn },
          deletionProtectionEnabled: args.deletionProtection ?? false,
          tags: args.tags,
        },
        // `undefined` lets Pulumi inherit the component's `protect`.
        { parent: this, protect: args.protect },
      );
    }
    this.tables = tables;
    this.names = names;
    this.registerOutputs({
      names,
      arns: Object.fromEntries(TABLE_KEYS.map((k) => [k, tables[k].arn])),
      streamArns: Object.fromEntries(STREAM_TABLES.map((k) => [k, tables[k].streamArn])),
    });
  }

  output(key: TableKey): TableOutputs {
    const t = this.tables[key];
    return { name: t.name, arn: t.arn, streamArn: STREAM_TABLES.includes(key) ? t.streamArn : undefined };
  }
}
