/**
 * The on-failure destination of the `commands` stream: when the stream router gave up on a
 * batch (its retries exhausted: the EXPRESS runs kept failing, the router kept dying), Lambda
 * sends a record naming the shard and the sequence numbers of the batch — not the records.
 * execution-watch reads them back from the stream and ends every version nobody will end:
 * FAILED with the reason (mark_failed: alarm, successor released, calls that may still run
 * waited out). A version that has ended is released again; one that a command-wait (or
 * STANDARD) execution still runs is left to it. Nothing a stream gave up on is lost silently.
 */
import { GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { dynamodbStreams } from '../shared/aws/dynamodb-streams';
import { sfn } from '../shared/aws/sfn';
import { handleCommandStep } from '../command/steps';
import { getCommand, hasEnded, releaseSuccessor } from '../command/model';
import { errorName, NamedError, truncate } from '../../core/errors';
import { executionName, isCommandSk, parseCommandSk } from '../../core/keys';
import { executionArnOf } from '../../core/sfn';
import { CommandPath } from '../../core/status';
import { isRecord, type Key, type StepEvent } from '../../core/types';
import { optionalEnv, requireEnv } from '../shared/env';
import { log } from '../shared/log';
import { decodeImage, tableFromStreamArn, type StreamAttributeValue } from '../shared/stream';

/** `DDBStreamBatchInfo` of a Lambda on-failure record for a DynamoDB stream. */
export interface StreamBatchInfo {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  streamArn: string;
  batchSize?: number;
}

export interface StreamFailureRecord {
  requestContext?: { condition?: string; approximateInvokeCount?: number; functionArn?: string };
  responseContext?: { functionError?: string; statusCode?: number };
  timestamp?: string;
  DDBStreamBatchInfo: StreamBatchInfo;
}

export type StreamFailureOutcome = { key: Key; action: 'failed' | 'released' | 'left-running' | 'row-missing' };

/** The stream could not give the records back (trimmed after 24 h): nothing can be done but say so. */
export class StreamRecordsGoneError extends NamedError {
  constructor(message: string) {
    super('StreamRecordsGone', message);
  }
}

/** Whether a queue message is a Lambda on-failure record of a DynamoDB stream. */
export function isStreamFailureRecord(value: unknown): value is StreamFailureRecord {
  if (!isRecord(value) || !isRecord(value.DDBStreamBatchInfo)) return false;
  const info = value.DDBStreamBatchInfo;
  return ['shardId', 'startSequenceNumber', 'endSequenceNumber', 'streamArn'].every(
    (f) => typeof info[f] === 'string' && info[f] !== '',
  );
}

/**
 * Most GetRecords calls one failure record may take. A batch is at most 10 records, but a page
 * holds at most 1 MB (a command row may be 344 KB) and DynamoDB Streams may answer a page
 * without records while more follow ("it might take multiple calls to get to a portion of the
 * shard that contains stream records").
 */
const MAX_READS = 50;

function recordsGone(info: StreamBatchInfo, why: string): StreamRecordsGoneError {
  return new StreamRecordsGoneError(
    `records ${info.startSequenceNumber}–${info.endSequenceNumber} of ${info.shardId} are no longer in the stream: ${why}`,
  );
}

const GONE = new Set(['TrimmedDataAccessException', 'ResourceNotFoundException']);

/**
 * The records of the failed batch, read back from the stream (24 hours of retention), up to
 * and including its end sequence number. A batch that cannot be read to its end throws — the
 * message is retried and then reaches the queue's DLQ, which alarms — rather than ending only
 * the versions read so far and dropping the rest silently.
 */
async function readBatch(info: StreamBatchInfo): Promise<_Record[]> {
  const end = BigInt(info.endSequenceNumber);
  let iterator: string | undefined;
  try {
    const res = await dynamodbStreams().send(
      new GetShardIteratorCommand({
        StreamArn: info.streamArn,
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: info.startSequenceNumber,
      }),
    );
    iterator = res.ShardIterator;
  } catch (err) {
    if (GONE.has(errorName(err))) throw recordsGone(info, errorName(err));
    throw err;
  }
  const out: _Record[] = [];
  for (let reads = 0; iterator; reads++) {
    if (reads === MAX_READS)
      throw new NamedError(
        'StreamBatchUnread',
        `records ${info.startSequenceNumber}–${info.endSequenceNumber} of ${info.shardId}: the end was not reached in ${MAX_READS} reads (${out.length} records read)`,
      );
    let page;
    try {
      page = await dynamodbStreams().send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
    } catch (err) {
      if (GONE.has(errorName(err))) throw recordsGone(info, errorName(err));
      throw err;
    }
    for (const r of page.Records ?? []) {
      const seq = r.dynamodb?.SequenceNumber;
      if (seq === undefined) continue;
      if (BigInt(seq) > end) return out;
      out.push(r);
      if (BigInt(seq) === end) return out;
    }
    iterator = page.NextShardIterator;
  }
  // the shard closed without the batch's end in it
  throw recordsGone(info, `the shard ended after ${out.length} of its records`);
}

/** Whether an execution under the version's deterministic name is still running it. */
async function executionRunning(machineArn: string, key: Key): Promise<boolean> {
  const executionArn = executionArnOf(machineArn, executionName('commands', key.pk, key.sk));
  try {
    const res = await sfn().send(new DescribeExecutionCommand({ executionArn }));
    return res.status === 'RUNNING';
  } catch (err) {
    if (errorName(err) === 'ExecutionDoesNotExist') return false;
    throw err;
  }
}

/** The machine whose execution (named after the version) takes a version on after the router. */
function longRunningMachine(): string {
  return optionalEnv('COMMAND_PATH') === CommandPath.EXPRESS
    ? requireEnv('COMMAND_WAIT_STATE_MACHINE_ARN')
    : requireEnv('COMMAND_STATE_MACHINE_ARN');
}

async function endAbandonedVersion(key: Key, reason: string): Promise<StreamFailureOutcome['action']> {
  const row = await getCommand(key);
  if (!row) return 'row-missing';
  const { code, version } = parseCommandSk(key.sk);
  if (hasEnded(row)) {
    // its run may have ended it and died before the release
    await releaseSuccessor(key.pk, code, version, `stream-failure:${version}`);
    return 'released';
  }
  if (await executionRunning(longRunningMachine(), key)) return 'left-running';
  const event: StepEvent<unknown> = {
    source: 'execution-watch',
    context: { State: { Name: 'mark_failed' } },
    input: { pk: key.pk, sk: key.sk, reason },
  };
  await handleCommandStep(event);
  return 'failed';
}

/** Handle one on-failure record of the commands stream. */
export async function handleStreamFailure(value: StreamFailureRecord): Promise<StreamFailureOutcome[]> {
  const info = value.DDBStreamBatchInfo;
  const table = tableFromStreamArn(info.streamArn);
  if (table !== requireEnv('COMMANDS_TABLE'))
    throw new NamedError(
      'UnknownStream',
      `stream ${info.streamArn} is not the commands table's (${requireEnv('COMMANDS_TABLE')})`,
    );
  const attempts = value.requestContext?.approximateInvokeCount;
  const why = value.requestContext?.condition ?? 'RetryAttemptsExhausted';
  const reason = truncate(
    `the stream router gave up on this command (${why}${attempts ? `, ${attempts} attempts` : ''}${value.responseContext?.functionError ? `, ${value.responseContext.functionError}` : ''}): no run of it ended the version`,
    1000,
  );
  const outcomes: StreamFailureOutcome[] = [];
  for (const record of await readBatch(info)) {
    if (record.eventName !== 'INSERT') continue;
    const image = decodeImage(record.dynamodb?.NewImage as Record<string, StreamAttributeValue> | undefined);
    const pk = typeof image.pk === 'string' ? image.pk : '';
    const sk = typeof image.sk === 'string' ? image.sk : '';
    if (!pk || !isCommandSk(sk)) continue;
    const key = { pk, sk };
    const action = await endAbandonedVersion(key, reason);
    outcomes.push({ key, action });
    log(action === 'failed' ? 'warn' : 'info', 'execution-watch: command the stream gave up on', { key, action });
  }
  return outcomes;
}
