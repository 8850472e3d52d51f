import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from './dynamo';
import { errorName, isConditionalCheckFailed, isTransactionConditionFailure } from './errors';
import { commandSk, parseCommandSk } from './keys';
import { COMMAND_BOOKKEEPING_FIELDS } from './status';
import {
  assertNoProblems,
  COMMAND_BOOKKEEPING_RESERVE_BYTES,
  COMMAND_ROW_MAX_BYTES,
  commandKeyProblems,
  DYNAMODB_ITEM_MAX_BYTES,
  dynamoItemBytes,
  LimitExceededError,
} from './limits';
import { DEFAULT_MAX_INLINE_BYTES, jsonBytes, offloadIfLarge, type S3Source } from './offload';

export interface PublishCommandInput {
  pk: string;
  code: string;
  /** Explicit version. Omitted: the next one after the highest known (commands and data). */
  version?: number;
  attributes?: Record<string, unknown>;
  /** Already-offloaded attributes (S3 key under payloads/ in the import bucket). */
  attributesRef?: string;
  /**
   * Extra top-level fields stored on the command row (and copied to history/data), e.g. name,
   * tenantCode. When they would push the row past COMMAND_ROW_MAX_BYTES they are offloaded
   * together to `payloads/` and the row holds `fieldsRef` instead.
   */
  fields?: Record<string, unknown>;
}

export interface PublishedCommand {
  pk: string;
  sk: string;
  code: string;
  version: number;
}

/** Two writers tried to create the same explicit version: the loser gets this. */
export class VersionExistsError extends Error {
  constructor(
    readonly pk: string,
    readonly sk: string,
  ) {
    super(`command ${pk} / ${sk} already exists`);
    this.name = 'VersionExistsError';
  }
}

/** The extra write of a transactional publish was rejected by its condition (e.g. already published). */
export class ConditionRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionRejectedError';
  }
}

/** Low-level dependencies of publishCommand (the stream router passes its own). */
export interface PublishDeps {
  dynamodb: DynamoDBDocumentClient;
  commandsTable: string;
  /** Used to never hand out a version at or below the read model's. */
  dataTable?: string;
  s3?: S3Source;
  payloadBucket?: string;
  maxInlineBytes?: number;
}

export interface PublishOptions {
  /** A write committed atomically with the command (TransactWriteItems), e.g. marking its source as published. */
  alsoWrite?: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];
  /** Attempts when another writer takes the computed next version. Default 5. */
  maxAttempts?: number;
}

const RESERVED = new Set([
  'pk',
  'sk',
  'code',
  'version',
  'attributes',
  'attributesRef',
  'fieldsRef',
  'createdAt',
  ...COMMAND_BOOKKEEPING_FIELDS,
]);

/** Highest version known for pk/code: every command row of that code and the data row (consistent reads). */
export async function latestVersion(deps: PublishDeps, pk: string, code: string): Promise<number> {
  const rows = await queryAll(deps.dynamodb, {
    TableName: deps.commandsTable,
    KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
    ExpressionAttributeValues: { ':pk': pk, ':prefix': `${code}@` },
    ProjectionExpression: 'sk',
    ConsistentRead: true,
  });
  let max = 0;
  for (const r of rows) {
    try {
      const parsed = parseCommandSk(String(r.sk));
      if (parsed.code === code) max = Math.max(max, parsed.version);
    } catch {
      // not a command key of this code
    }
  }
  if (deps.dataTable) {
    const data = await deps.dynamodb.send(
      new GetCommand({
        TableName: deps.dataTable,
        Key: { pk, sk: code },
        ConsistentRead: true,
        ProjectionExpression: 'version',
      }),
    );
    max = Math.max(max, Number(data.Item?.version ?? 0));
  }
  return max;
}

/**
 * Write the next version of a command to `commands` with a conditional put
 * (`attribute_not_exists(pk)`): two writers can never create the same version. With an
 * explicit version the loser gets VersionExistsError; without one, the version is computed
 * (highest known + 1) and recomputed if another writer took it.
 */
export async function publishCommandWith(
  deps: PublishDeps,
  input: PublishCommandInput,
  options: PublishOptions = {},
): Promise<PublishedCommand> {
  if (!input.pk) throw new Error('publishCommand: pk is required');
  if (!input.code) throw new Error('publishCommand: code is required');
  if (input.version !== undefined) commandSk(input.code, input.version); // validates
  assertNoProblems('publishCommand', commandKeyProblems(input.pk, input.code, input.version));
  for (const f of Object.keys(input.fields ?? {}))
    if (RESERVED.has(f)) throw new Error(`publishCommand: field "${f}" is reserved`);

  const { attributesRef, attributes, fields, fieldsRef } = await fitCommandRow(deps, input);

  const maxAttempts = options.maxAttempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const version = input.version ?? (await latestVersion(deps, input.pk, input.code)) + 1;
    const sk = commandSk(input.code, version);
    const item = commandItem(input, version, { attributesRef, attributes, fields, fieldsRef });
    try {
      if (options.alsoWrite) {
        await deps.dynamodb.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: deps.commandsTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
              options.alsoWrite,
            ],
          }),
        );
      } else {
        await deps.dynamodb.send(
          new PutCommand({
            TableName: deps.commandsTable,
            Item: item,
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      }
      return { pk: input.pk, sk, code: input.code, version };
    } catch (err) {
      // The accompanying write is checked first: when it is rejected (e.g. the source row is
      // already marked published — a redelivery whose own earlier attempt took the version)
      // both conditions fail, and the caller must see "already done", not a version clash.
      if (options.alsoWrite && isTransactionConditionFailure(err, 1)) {
        throw new ConditionRejectedError(`publishCommand: the accompanying write was rejected (${errorName(err)})`);
      }
      const versionTaken = options.alsoWrite ? isTransactionConditionFailure(err, 0) : isConditionalCheckFailed(err);
      if (!versionTaken) throw err;
      if (input.version !== undefined) throw new VersionExistsError(input.pk, sk);
      if (attempt >= maxAttempts)
        throw new Error(
          `publishCommand: could not claim a new version of ${input.pk} / ${input.code} after ${attempt} attempts (concurrent writers)`,
          { cause: err },
        );
    }
  }
}

interface RowContent {
  attributes?: Record<string, unknown>;
  attributesRef?: string;
  fields: Record<string, unknown>;
  fieldsRef?: string;
}

function commandItem(input: PublishCommandInput, version: number, content: RowContent): Record<string, unknown> {
  return {
    ...content.fields,
    ...(content.fieldsRef ? { fieldsRef: content.fieldsRef } : {}),
    pk: input.pk,
    sk: commandSk(input.code, version),
    code: input.code,
    version,
    ...(content.attributesRef ? { attributesRef: content.attributesRef } : { attributes: content.attributes ?? {} }),
    createdAt: new Date().toISOString(),
  };
}

/**
 * Decide what the row holds inline so that it stays within COMMAND_ROW_MAX_BYTES (measured with
 * the longest version it could get): attributes larger than `maxInlineBytes` are offloaded as
 * always; if the row is still over the budget the attributes are offloaded whatever their
 * size, then the fields. Without a payload bucket to offload to, the row is refused.
 */
async function fitCommandRow(deps: PublishDeps, input: PublishCommandInput): Promise<RowContent> {
  const content: RowContent = {
    fields: input.fields ?? {},
    ...(input.attributesRef ? { attributesRef: input.attributesRef } : { attributes: input.attributes }),
  };
  const pathOf = (name: string) => ['commands', input.pk, input.code, `${randomUUID()}${name}`];
  const size = () => dynamoItemBytes(commandItem(input, input.version ?? Number.MAX_SAFE_INTEGER, content));
  const canOffload = Boolean(deps.s3 && deps.payloadBucket);
  const offloadAttributes = async (threshold: number): Promise<void> => {
    if (content.attributes === undefined) return;
    const off = await offloadIfLarge(deps.s3, deps.payloadBucket, content.attributes, pathOf(''), threshold);
    if (off.ref) {
      content.attributesRef = off.ref;
      content.attributes = undefined;
    }
  };
  await offloadAttributes(deps.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES);
  const refuse = (what: string): never => {
    throw new LimitExceededError(
      `publishCommand: command row ${truncateKey(input.pk)} / ${truncateKey(input.code)} would be ${size().toLocaleString('en-US')} bytes, ` +
        `over the ${COMMAND_ROW_MAX_BYTES.toLocaleString('en-US')}-byte budget of a command row (DynamoDB's ${DYNAMODB_ITEM_MAX_BYTES.toLocaleString('en-US')}-byte item limit ` +
        `less ${COMMAND_BOOKKEEPING_RESERVE_BYTES.toLocaleString('en-US')} bytes kept for the workflow's status, result, error and token writes), ${what}`,
    );
  };
  if (size() <= COMMAND_ROW_MAX_BYTES) return content;
  if (!canOffload) return refuse('and no payload bucket is configured to offload its attributes or fields');
  const offloadFields = async (): Promise<void> => {
    if (Object.keys(content.fields).length === 0) return;
    const off = await offloadIfLarge(deps.s3, deps.payloadBucket, content.fields, pathOf('-fields'), 0);
    content.fields = {};
    content.fieldsRef = off.ref;
  };
  // the larger part goes first: the smaller one stays readable on the row when that suffices
  const steps =
    jsonBytes(content.fields) >= jsonBytes(content.attributes ?? {})
      ? [offloadFields, () => offloadAttributes(0)]
      : [() => offloadAttributes(0), offloadFields];
  for (const step of steps) {
    await step();
    if (size() <= COMMAND_ROW_MAX_BYTES) return content;
  }
  return refuse('even with its attributes and fields offloaded');
}

function truncateKey(value: string): string {
  return value.length <= 120 ? value : `${value.slice(0, 100)}…(${value.length} characters)`;
}
