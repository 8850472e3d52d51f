/**
 * A command path wired up the way a stack wires it, offline: the path's machines run by the
 * Engine, its functions (and the consumer targets) by the LambdaRuntime, the stream router fed
 * stream batches (retried from the failed record, handed to the on-failure destination after
 * `streamMaxRetryAttempts`), execution-watch fed the EventBridge events of STANDARD executions
 * and the commands stream's on-failure records through an SQS-like queue with redelivery, and
 * the AWS clients the handlers use (Step Functions, DynamoDB Streams, SNS, S3, Lambda) answered
 * by that wiring. DynamoDB is the real DynamoDB Local.
 *
 * The chaos run (chaos.ts) drives it with a seeded fault plan; the cost benchmark
 * (scripts/cost/) drives it without faults and counts what each command costs.
 */
import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { FakeS3 } from '../../handlers/_support/env';
import { insertRecord } from '../../handlers/_support/stream-records';
import { sleep } from '../../handlers/_support/wait';
import { Engine, type EnginePlan, type StatusEvent } from './engine';
import { currentInvocation, LambdaRuntime, never, type FunctionSpec } from './runtime';
import type { CommandPath } from './chaos';

export const ROUTER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:chaos-stream-router';
export const WATCH_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:chaos-execution-watch';
/** Deliveries of a queue message before it goes to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;

export type StreamRecord = ReturnType<typeof insertRecord>;

/** A message on execution-watch's queue. */
export interface WatchMessage {
  id: string;
  body: unknown;
  /** What it is about (an execution name, a stream batch label), for reports. */
  about: string;
}

export interface StackHooks {
  /** The engine's fault plan, given how to name an execution stably. Default: no faults. */
  plan?(labelOf: (execution: string) => string): EnginePlan;
  /** A STANDARD execution was started (the chaos plan may stop it later). */
  onStarted?(machineArn: string, name: string): void;
  /**
   * StartExecution of a machine the engine does not run (the cost benchmark steps through the
   * import-csv machine itself): return its answer, or undefined to let the engine run it.
   */
  startExecution?(input: {
    stateMachineArn: string;
    name: string;
    input: string;
  }): { executionArn: string } | undefined;
  /** The batch the router first receives for a delivery (order, duplicates). Default: the records as given. */
  batchOf?(label: string, records: StreamRecord[]): StreamRecord[];
  /** Whether an execution event is delivered twice. Default: never. */
  duplicateEvent?(event: StatusEvent, labelOf: (execution: string) => string): boolean;
  /** A call a function made through a mocked client (Step Functions, DynamoDB Streams, SNS, S3). */
  onCall?(service: string, command: string, input?: Record<string, unknown>): void;
  /** A StartSyncExecution ran the EXPRESS execution `name` for the calling function. */
  onSyncRun?(name: string): void;
}

export interface StackOptions {
  /** Retries of a failing stream batch before its on-failure record goes to execution-watch. */
  streamMaxRetryAttempts: number;
  /** Takes the run-specific part out of a text (so decisions keyed by it repeat run to run). */
  stable(text: string): string;
  /** Timeout of the router and execution-watch functions. Default: 10 s. */
  entryTimeoutMs?: number;
}

/** Counts work in flight so the run can tell when everything has come to rest. */
class Pending {
  private n = 0;
  track<T>(p: Promise<T>): Promise<T> {
    this.n++;
    return p.finally(() => this.n--);
  }
  get size(): number {
    return this.n;
  }
}

export class SimulatedStack {
  readonly runtime: LambdaRuntime;
  readonly engine: Engine;
  readonly counts: Record<string, number> = {};
  readonly deadLetters: WatchMessage[] = [];
  /** The import bucket and what the handlers put there. */
  readonly s3Store = new FakeS3();
  private readonly pending = new Pending();
  private readonly labels = new Map<string, string>();
  private readonly watchQueue: Array<{ message: WatchMessage; receives: number }> = [];
  private watchBusy = false;
  private readonly shards = new Map<string, StreamRecord[]>();
  private sequence = 100_000_000;
  private readonly syncRuns = new Map<string, number>();
  private readonly mocks: Array<
    AwsClientStub<SFNClient | DynamoDBStreamsClient | SNSClient | S3Client | LambdaClient>
  > = [];
  private readonly previousEnv = { ...process.env };

  constructor(
    path: CommandPath,
    functions: Record<string, FunctionSpec>,
    private readonly hooks: StackHooks,
    private readonly options: StackOptions,
  ) {
    Object.assign(process.env, path.env);
    const entryTimeoutMs = options.entryTimeoutMs ?? 10_000;
    this.runtime = new LambdaRuntime({
      ...functions,
      [ROUTER_ARN]: { timeoutMs: entryTimeoutMs, handler: path.streamRouter },
      [WATCH_ARN]: { timeoutMs: entryTimeoutMs, handler: path.executionWatch },
    });
    const noFaults: EnginePlan = { invokeFault: () => 'none', sendTaskThrottled: () => false };
    this.engine = new Engine(
      path.machines,
      this.runtime,
      hooks.plan?.(this.labelOf) ?? noFaults,
      (event) => this.enqueueEvent(event),
      20,
      new Set(path.expressMachines ?? []),
    );
    this.installMocks();
  }

  bump(key: string, by = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + by;
  }

  /** What an execution is for (its input without the run's unique part): decisions are keyed by it. */
  readonly labelOf = (execution: string): string => this.labels.get(execution) ?? execution;

  /** Tracks work the stack must wait for before it is at rest. */
  track<T>(p: Promise<T>): Promise<T> {
    return this.pending.track(p);
  }

  // ------------------------------------------------------------------ AWS clients

  private installMocks(): void {
    const sfnMock = mockClient(SFNClient);
    const streamsMock = mockClient(DynamoDBStreamsClient);
    const snsMock = mockClient(SNSClient);
    const s3Mock = mockClient(S3Client);
    const lambdaMock = mockClient(LambdaClient);
    this.mocks.push(sfnMock, streamsMock, snsMock, s3Mock, lambdaMock);
    this.s3Store.install(s3Mock, (command) => this.hooks.onCall?.('s3', command));
    // a dead invocation's call never returns
    const live = async (service: string, command: string, input?: Record<string, unknown>): Promise<void> => {
      if (currentInvocation()?.dead) await never();
      this.hooks.onCall?.(service, command, input);
    };
    sfnMock
      .on(StartExecutionCommand)
      .callsFake(async (input: { stateMachineArn: string; name: string; input: string }) => {
        await live('states', 'StartExecution');
        const handled = this.hooks.startExecution?.(input);
        if (handled) return { ...handled, startDate: new Date() };
        this.labels.set(input.name, this.options.stable(input.input));
        const res = this.engine.start(input.stateMachineArn, input.name, input.input);
        this.hooks.onStarted?.(input.stateMachineArn, input.name);
        return res;
      });
    // EXPRESS runs: named after what they run (the run's unique part taken out) and the n-th run of it
    sfnMock.on(StartSyncExecutionCommand).callsFake(async (input: { stateMachineArn: string; input: string }) => {
      await live('states', 'StartSyncExecution');
      const what = this.options.stable(input.input);
      const n = (this.syncRuns.get(what) ?? 0) + 1;
      this.syncRuns.set(what, n);
      const name = `${createHash('sha256').update(what).digest('hex').slice(0, 16)}-run${n}`;
      this.labels.set(name, `${what}#run${n}`);
      this.hooks.onSyncRun?.(name);
      return this.engine.startSync(input.stateMachineArn, name, input.input);
    });
    sfnMock.on(SendTaskSuccessCommand).callsFake(async (input: { taskToken: string; output: string }) => {
      await live('states', 'SendTaskSuccess');
      this.engine.succeed(input.taskToken, JSON.parse(input.output));
      return {};
    });
    sfnMock
      .on(SendTaskFailureCommand)
      .callsFake(async (input: { taskToken: string; error?: string; cause?: string }) => {
        await live('states', 'SendTaskFailure', input);
        this.engine.fail(input.taskToken, input.error, input.cause);
        return {};
      });
    sfnMock.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
      await live('states', 'DescribeExecution');
      const described = this.engine.describe(input.executionArn);
      if (!described)
        throw new ExecutionDoesNotExist({
          message: `Execution Does Not Exist: '${input.executionArn}'`,
          $metadata: {},
        });
      return described;
    });
    snsMock.on(PublishCommand).callsFake(async (input: { TopicArn: string }) => {
      await live('sns', 'Publish', input);
      if (input.TopicArn === process.env.ALARM_TOPIC_ARN) this.bump('alarms');
      return { MessageId: 'm' };
    });
    // the stream: execution-watch reads a failed batch back by shard and sequence number
    streamsMock.on(GetShardIteratorCommand).callsFake(async (input: { ShardId: string; SequenceNumber: string }) => {
      await live('dynamodb', 'GetShardIterator');
      return { ShardIterator: JSON.stringify([input.ShardId, input.SequenceNumber]) };
    });
    streamsMock.on(GetRecordsCommand).callsFake(async (input: { ShardIterator: string }) => {
      await live('dynamodb', 'GetRecords');
      const [shard, from] = JSON.parse(input.ShardIterator) as [string, string];
      const records = (this.shards.get(shard) ?? []).filter((r) => BigInt(r.dynamodb.SequenceNumber) >= BigInt(from));
      return { Records: records };
    });
  }

  // ------------------------------------------------------------------ execution-watch's queue

  private enqueueEvent(event: StatusEvent): void {
    this.bump(`executions ${event.detail.status}`);
    const message = { id: event.id, body: event, about: event.detail.name };
    this.enqueueWatch(message);
    if (this.hooks.duplicateEvent?.(event, this.labelOf)) {
      this.bump('watch duplicates');
      this.enqueueWatch(message);
    }
  }

  private enqueueWatch(message: WatchMessage): void {
    this.bump('watch messages');
    this.watchQueue.push({ message, receives: 0 });
    void this.track(this.pumpWatch());
  }

  private async pumpWatch(): Promise<void> {
    if (this.watchBusy) return;
    this.watchBusy = true;
    try {
      while (this.watchQueue.length > 0) {
        const msg = this.watchQueue.shift()!;
        msg.receives++;
        this.bump('watch deliveries');
        let failed = true;
        try {
          const res = (await this.runtime.invoke(WATCH_ARN, 'execution-watch', {
            Records: [{ messageId: msg.message.id, body: JSON.stringify(msg.message.body) }],
          })) as { batchItemFailures: unknown[] };
          failed = res.batchItemFailures.length > 0;
        } catch {
          failed = true;
        }
        if (!failed) continue;
        if (msg.receives >= MAX_RECEIVE_COUNT) this.deadLetters.push(msg.message);
        else {
          await sleep(50); // visibility timeout
          this.watchQueue.push(msg);
        }
      }
    } finally {
      this.watchBusy = false;
    }
  }

  // ------------------------------------------------------------------ the stream

  /**
   * One stream batch of INSERTs of `images` to the router (shard `label`): retried from the
   * failed record, and after `streamMaxRetryAttempts` handed to the on-failure destination,
   * whose record names the shard and sequence numbers (execution-watch reads them back).
   */
  async deliver(table: string, images: Array<Record<string, unknown>>, label: string): Promise<void> {
    const ordered = images.map((image) => insertRecord(table, image, String(this.sequence++)));
    this.shards.set(label, ordered);
    let batch = this.hooks.batchOf?.(label, ordered) ?? [...ordered];
    for (let attempt = 1; batch.length > 0; attempt++) {
      if (attempt > this.options.streamMaxRetryAttempts + 1) {
        this.giveUp(label, batch, attempt - 1);
        return;
      }
      try {
        const res = (await this.runtime.invoke(ROUTER_ARN, `stream-router ${label}`, { Records: batch })) as {
          batchItemFailures: Array<{ itemIdentifier: string }>;
        };
        const failedAt = res.batchItemFailures[0]?.itemIdentifier;
        if (failedAt === undefined) return;
        batch = batch.slice(batch.findIndex((r) => r.dynamodb.SequenceNumber === failedAt));
      } catch {
        // the router crashed: Lambda retries the whole batch
      }
      this.bump('stream retries');
      await sleep(30);
    }
  }

  private giveUp(label: string, batch: StreamRecord[], attempts: number): void {
    this.bump('stream batches given up');
    const seqs = batch.map((r) => BigInt(r.dynamodb.SequenceNumber));
    const min = seqs.reduce((a, b) => (b < a ? b : a));
    const max = seqs.reduce((a, b) => (b > a ? b : a));
    this.enqueueWatch({
      id: `stream-failure-${label}`,
      about: label,
      body: {
        requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: attempts },
        responseContext: { functionError: 'Unhandled' },
        DDBStreamBatchInfo: {
          shardId: label,
          startSequenceNumber: String(min),
          endSequenceNumber: String(max),
          streamArn: batch[0].eventSourceARN,
          batchSize: batch.length,
        },
      },
    });
  }

  // ------------------------------------------------------------------ rest

  /** Whether nothing is delivering, running, queued or still executing. */
  atRest(): boolean {
    return (
      this.pending.size === 0 && !this.engine.busy() && this.watchQueue.length === 0 && this.runtime.liveCount() === 0
    );
  }

  /** Waits until the stack is at rest (twice in a row, a little apart), or until `deadline`. */
  async settle(deadline: number, quietMs = 300): Promise<boolean> {
    for (;;) {
      if (Date.now() > deadline) return false;
      await sleep(25);
      if (!this.atRest()) continue;
      await sleep(quietMs);
      if (this.atRest()) return true;
    }
  }

  /** Puts the AWS clients and the environment back. Waits (bounded) for invocations still running. */
  async restore(): Promise<void> {
    await Promise.race([this.runtime.drain(), sleep(15_000)]);
    for (const m of this.mocks) m.restore();
    for (const k of Object.keys(process.env)) if (!(k in this.previousEnv)) delete process.env[k];
    Object.assign(process.env, this.previousEnv);
  }
}
