/**
 * Shared setup of the handler tests: DynamoDB Local (real), environment variables the
 * handlers read, and aws-sdk-client-mock stubs for Step Functions, SNS, S3 and Lambda.
 */
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  ExecutionAlreadyExists,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { sharedDynamoDbLocal, type LocalDynamo } from '../../support/dynamodb-local';
import { resetDynamoDbClient } from '../../../handlers/shared/aws/dynamodb';

export const ARN = {
  command: 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-command',
  task: 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-task',
  importCsv: 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-import-csv',
  importZip: 'arn:aws:states:us-east-1:123456789012:stateMachine:cqrs-test-import-zip',
  mainTopic: 'arn:aws:sns:us-east-1:123456789012:cqrs-test-main',
  alarmTopic: 'arn:aws:sns:us-east-1:123456789012:cqrs-test-alarm',
};
export const BUCKET = 'cqrs-test-import';

export interface Ctx {
  db: LocalDynamo;
  doc: DynamoDBDocumentClient;
}

let ctx: Ctx | undefined;

/** Start (once) DynamoDB Local and point the handlers at it through the environment. */
export async function setupHandlerEnv(): Promise<Ctx> {
  if (ctx) return ctx;
  const db = await sharedDynamoDbLocal();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    COMMANDS_TABLE: db.tables.commands,
    DATA_TABLE: db.tables.data,
    HISTORY_TABLE: db.tables.history,
    TASKS_TABLE: db.tables.tasks,
    IMPORT_TMP_TABLE: db.tables.importTmp,
    IMPORT_BUCKET: BUCKET,
    MAIN_TOPIC_ARN: ARN.mainTopic,
    ALARM_TOPIC_ARN: ARN.alarmTopic,
    COMMAND_STATE_MACHINE_ARN: ARN.command,
    TASK_STATE_MACHINE_ARN: ARN.task,
    IMPORT_CSV_STATE_MACHINE_ARN: ARN.importCsv,
    IMPORT_ZIP_STATE_MACHINE_ARN: ARN.importZip,
    SYNC_TARGETS: '[]',
    TASK_EXECUTORS: '{}',
    COMMAND_TTL_SECONDS: '86400',
    COMMAND_MAX_WAIT_SECONDS: '3600',
    DIRECT_IMPORT_MAX_BYTES: '1048576',
    CQRS_SILENT: '1',
  });
  resetDynamoDbClient();
  ctx = { db, doc: DynamoDBDocumentClient.from(db.client, { marshallOptions: { removeUndefinedValues: true } }) };
  return ctx;
}

let counter = 0;
/** A unique partition key per test so tests never see each other's rows. */
export function uniq(prefix = 'T'): string {
  counter++;
  return `${prefix}#${Date.now().toString(36)}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

export async function getItem(table: string, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const res = await ctx!.doc.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }));
  return res.Item;
}
export async function putItem(table: string, item: Record<string, unknown>): Promise<void> {
  await ctx!.doc.send(new PutCommand({ TableName: table, Item: item }));
}
export async function deleteItem(table: string, pk: string, sk: string): Promise<void> {
  await ctx!.doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk } }));
}
export async function queryPk(table: string, pk: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ctx!.doc.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}
export async function scanAll(table: string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const res = await ctx!.doc.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    out.push(...(res.Items ?? []));
    start = res.LastEvaluatedKey;
  } while (start);
  return out;
}

// ------------------------------------------------------------------ AWS mocks

export interface Published {
  topic: string;
  action: string;
  body: Record<string, unknown>;
}

export interface Mocks {
  sfn: AwsClientStub<SFNClient>;
  sns: AwsClientStub<SNSClient>;
  s3: AwsClientStub<S3Client>;
  lambda: AwsClientStub<LambdaClient>;
  published: Published[];
  started: Array<{ stateMachineArn: string; name: string; input: unknown }>;
  successes: Array<{ taskToken: string; output: unknown }>;
  failures: Array<{ taskToken: string; error?: string; cause?: string }>;
  s3Store: FakeS3;
  restore(): void;
}

/**
 * Minimal in-memory S3: GetObject (with Range), HeadObject, PutObject (consumes stream bodies),
 * multipart uploads (parts of at least 5 MiB but the last, as S3 requires).
 */
export class FakeS3 {
  readonly objects = new Map<string, Buffer>();
  readonly ranges: string[] = [];
  readonly uploads = new Map<string, { bucket: string; key: string; parts: Map<number, Buffer> }>();
  aborted = 0;
  put(bucket: string, key: string, body: Buffer | string): void {
    this.objects.set(`${bucket}/${key}`, Buffer.from(body));
  }
  get(bucket: string, key: string): Buffer | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }
  /** Answers the mock's S3 calls; `onCall` hears each one (the cost benchmark counts them). */
  install(mock: AwsClientStub<S3Client>, onCall?: (command: string) => void): void {
    const notFound = (name: string): Error =>
      Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } });
    mock.on(HeadObjectCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
      onCall?.('HeadObject');
      const b = this.get(input.Bucket, input.Key);
      if (!b) throw notFound('NotFound');
      return { ContentLength: b.length };
    });
    mock.on(GetObjectCommand).callsFake(async (input: { Bucket: string; Key: string; Range?: string }) => {
      onCall?.('GetObject');
      const b = this.get(input.Bucket, input.Key);
      if (!b) throw notFound('NoSuchKey');
      let slice = b;
      if (input.Range) {
        this.ranges.push(input.Range);
        const m = /^bytes=(\d+)-(\d+)$/.exec(input.Range);
        if (!m) throw new Error(`bad range ${input.Range}`);
        slice = b.subarray(Number(m[1]), Number(m[2]) + 1);
      }
      // a real stream, in small chunks
      const chunks: Buffer[] = [];
      for (let i = 0; i < slice.length; i += 4096) chunks.push(slice.subarray(i, i + 4096));
      return { Body: Readable.from(chunks), ContentLength: slice.length };
    });
    mock
      .on(PutObjectCommand)
      .callsFake(async (input: { Bucket: string; Key: string; Body: unknown; ContentLength?: number }) => {
        onCall?.('PutObject');
        let body: Buffer;
        if (typeof input.Body === 'string' || input.Body instanceof Uint8Array)
          body = Buffer.from(input.Body as string);
        else {
          const parts: Buffer[] = [];
          for await (const c of input.Body as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
          body = Buffer.concat(parts);
        }
        if (input.ContentLength !== undefined && input.ContentLength !== body.length)
          throw new Error(`ContentLength ${input.ContentLength} != body ${body.length}`);
        this.put(input.Bucket, input.Key, body);
        return { ETag: '"x"' };
      });
    mock.on(CreateMultipartUploadCommand).callsFake(async (input: { Bucket: string; Key: string }) => {
      onCall?.('CreateMultipartUpload');
      const id = `upload-${this.uploads.size + 1}`;
      this.uploads.set(id, { bucket: input.Bucket, key: input.Key, parts: new Map() });
      return { UploadId: id };
    });
    mock
      .on(UploadPartCommand)
      .callsFake(async (input: { UploadId: string; PartNumber: number; Body: Uint8Array | string }) => {
        onCall?.('UploadPart');
        const upload = this.uploads.get(input.UploadId);
        if (!upload) throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload' });
        upload.parts.set(input.PartNumber, Buffer.from(input.Body));
        return { ETag: `"part-${input.PartNumber}"` };
      });
    mock
      .on(CompleteMultipartUploadCommand)
      .callsFake(
        async (input: { UploadId: string; MultipartUpload?: { Parts?: { PartNumber?: number; ETag?: string }[] } }) => {
          onCall?.('CompleteMultipartUpload');
          const upload = this.uploads.get(input.UploadId);
          if (!upload) throw Object.assign(new Error('NoSuchUpload'), { name: 'NoSuchUpload' });
          const listed = input.MultipartUpload?.Parts ?? [];
          const bodies = listed.map((p, i) => {
            const body = upload.parts.get(Number(p.PartNumber));
            if (!body || p.ETag !== `"part-${p.PartNumber}"`) throw new Error(`InvalidPart ${p.PartNumber}`);
            if (i < listed.length - 1 && body.length < 5 * 1024 * 1024) throw new Error('EntityTooSmall');
            return body;
          });
          this.put(upload.bucket, upload.key, Buffer.concat(bodies));
          this.uploads.delete(input.UploadId);
          return { ETag: '"done"' };
        },
      );
    mock.on(AbortMultipartUploadCommand).callsFake(async (input: { UploadId: string }) => {
      onCall?.('AbortMultipartUpload');
      this.uploads.delete(input.UploadId);
      this.aborted++;
      return {};
    });
  }
}

/**
 * Stub SFN/SNS/S3/Lambda. StartExecution behaves like the service for names (a second start
 * with the same name throws ExecutionAlreadyExists); SendTask* calls are recorded and, if a
 * `onTaskSuccess`/`onTaskFailure` router is given, forwarded to it.
 */
export function installMocks(
  options: {
    onTaskSuccess?: (token: string, output: unknown) => void | Promise<void>;
    onTaskFailure?: (token: string, error?: string, cause?: string) => void | Promise<void>;
  } = {},
): Mocks {
  const sfn = mockClient(SFNClient);
  const sns = mockClient(SNSClient);
  const s3 = mockClient(S3Client);
  const lambda = mockClient(LambdaClient);
  const published: Published[] = [];
  const started: Mocks['started'] = [];
  const successes: Mocks['successes'] = [];
  const failures: Mocks['failures'] = [];
  const names = new Set<string>();
  sfn.on(StartExecutionCommand).callsFake(async (input: { stateMachineArn: string; name: string; input: string }) => {
    const id = `${input.stateMachineArn}:${input.name}`;
    if (names.has(id))
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${input.name}'`, $metadata: {} });
    names.add(id);
    started.push({ stateMachineArn: input.stateMachineArn, name: input.name, input: JSON.parse(input.input) });
    return {
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: new Date(),
    };
  });
  sfn.on(SendTaskSuccessCommand).callsFake(async (input: { taskToken: string; output: string }) => {
    const output = JSON.parse(input.output);
    successes.push({ taskToken: input.taskToken, output });
    await options.onTaskSuccess?.(input.taskToken, output);
    return {};
  });
  sfn.on(SendTaskFailureCommand).callsFake(async (input: { taskToken: string; error?: string; cause?: string }) => {
    failures.push({ taskToken: input.taskToken, error: input.error, cause: input.cause });
    await options.onTaskFailure?.(input.taskToken, input.error, input.cause);
    return {};
  });
  sns
    .on(PublishCommand)
    .callsFake(
      async (input: {
        TopicArn: string;
        Message: string;
        MessageAttributes?: Record<string, { StringValue?: string }>;
      }) => {
        const body = JSON.parse(input.Message) as Record<string, unknown>;
        published.push({ topic: input.TopicArn, action: input.MessageAttributes?.action?.StringValue ?? '', body });
        return { MessageId: String(published.length) };
      },
    );
  const s3Store = new FakeS3();
  s3Store.install(s3);
  return {
    sfn,
    sns,
    s3,
    lambda,
    published,
    started,
    successes,
    failures,
    s3Store,
    restore() {
      sfn.restore();
      sns.restore();
      s3.restore();
      lambda.restore();
    },
  };
}

export function stepEvent(state: string, input: unknown, extra: { taskToken?: string; executionInput?: unknown } = {}) {
  return {
    source: 'step-function',
    context: {
      Execution: {
        // one execution, whatever the state (the sync lease is held by the execution)
        Id: 'arn:aws:states:us-east-1:123456789012:execution:test:run',
        Name: 'test',
        Input: extra.executionInput ?? input,
      },
      State: { Name: state, EnteredTime: new Date().toISOString(), RetryCount: 0 },
      StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:test', Name: 'test' },
      ...(extra.taskToken ? { Task: { Token: extra.taskToken } } : {}),
    },
    input,
    ...(extra.taskToken ? { taskToken: extra.taskToken } : {}),
  };
}

export interface HandlerEnv {
  readonly ctx: Ctx;
  readonly mocks: Mocks;
  readonly tables: Ctx['db']['tables'];
}

/**
 * The usual hooks of a handler suite: DynamoDB Local and the environment once, fresh
 * SDK mocks around every test. Call it inside `describe`; read the fields in tests.
 */
export function useHandlerEnv(): HandlerEnv {
  let ctx: Ctx | undefined;
  let mocks: Mocks | undefined;
  before(async () => {
    ctx = await setupHandlerEnv();
  });
  beforeEach(() => {
    mocks = installMocks();
  });
  afterEach(() => mocks?.restore());
  const ready = <V>(value: V | undefined, what: string): V => {
    if (value === undefined) throw new Error(`useHandlerEnv: ${what} is only set inside tests and hooks`);
    return value;
  };
  return {
    get ctx() {
      return ready(ctx, 'ctx');
    },
    get mocks() {
      return ready(mocks, 'mocks');
    },
    get tables() {
      return ready(ctx, 'ctx').db.tables;
    },
  };
}
