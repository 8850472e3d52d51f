/**
 * A seeded chaos run of the command and task chains: commands and tasks are written by the
 * real client, their stream records reach the real stream router out of order and
 * duplicated, the state machines run the real definitions (engine.ts) whose Tasks invoke the
 * real handlers on DynamoDB Local through a Lambda runtime that crashes, times out, loses
 * responses and throttles (runtime.ts), the handlers' DynamoDB client gets faults before and
 * after writes apply (faults.ts), SendTask calls are throttled, executions are stopped and
 * their EventBridge events reach the real execution-watch (redelivered, duplicated). Then it
 * checks what must hold whatever happened (checks.ts).
 *
 * Which command path runs is a parameter (`CommandPath`): the harness only needs the
 * machines, the functions, the stream router and execution-watch, so a cheaper path (other
 * machines, other handlers) is driven and checked the same way.
 */
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
import { createHash } from 'node:crypto';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { S3Client } from '@aws-sdk/client-s3';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { publishCommandWith } from '../../../core/commands';
import { createTask } from '../../../client';
import { ddb, resetDynamoDbClient } from '../../../handlers/shared/aws/dynamodb';
import { FakeS3 } from '../../handlers/_support/env';
import { insertRecord } from '../../handlers/_support/stream-records';
import { sleep } from '../../handlers/_support/wait';
import { Engine, type StatusEvent } from './engine';
import { DynamoFaults, type DynamoFaultRates } from './faults';
import { Prng, prngFor } from './prng';
import { currentInvocation, LambdaRuntime, lambdaError, never, type FunctionSpec, type LambdaHandler } from './runtime';
import { checkCommands, checkTasks, type CallInterval, type Violation } from './checks';

/** A registered sync target the harness instruments (a fake consumer Lambda). */
export interface ChaosTarget {
  name: string;
  functionArn: string;
  timeoutSeconds: number;
}

/** Names of the tables the handlers use. */
export interface ChaosTables {
  commands: string;
  data: string;
  history: string;
  tasks: string;
  importTmp: string;
}

/** What a command path provides to be driven: its machines, functions and entry points. */
export interface CommandPath {
  name: string;
  /** State machine definitions by ARN (what StartExecution / StartSyncExecution names). */
  machines: Record<string, StateMachineDefinition>;
  /** The machines among `machines` that are EXPRESS (run by StartSyncExecution). Default: none. */
  expressMachines?: readonly string[];
  /** The path's own Lambda functions by ARN (the targets are added by the harness). */
  functions: Record<string, FunctionSpec>;
  /** Handler of DynamoDB stream batches (commands and tasks tables). */
  streamRouter: LambdaHandler;
  /** Handler of the execution-events queue (SQS batches of EventBridge events). */
  executionWatch: LambdaHandler;
  /** The machines whose executions may be stopped: those running commands, those running tasks. */
  stoppable: { commands: readonly string[]; tasks: readonly string[] };
  /** Registers the in-process executor of a task type; returns its removal. */
  registerTaskExecutor(
    taskType: string,
    executor: (request: { subTask: { pk: string; sk: string } }) => Promise<unknown>,
  ): () => void;
  /** Environment the handlers need on top of the tables. */
  env: Record<string, string>;
  /**
   * If this invocation is a call to a sync target, which one and for which version (used to
   * check that calls never overlap across versions). Consumer targets are known by ARN.
   */
  syncCall(functionArn: string, event: unknown): { target: string; pk: string; sk: string } | undefined;
}

export interface ChaosOptions {
  seed: number;
  entities: number;
  versionsPerEntity: number;
  tasks: number;
  subTasksPerTask: number;
  targets: ChaosTarget[];
  dynamo: DynamoFaultRates;
  /** Per Lambda invocation. */
  invoke: { throttle: number; lostResponse: number };
  /** Per SendTask* call. */
  sendTaskThrottle: number;
  /** Per command / task execution: stopped (StopExecution) after a random delay up to `stopWithinMs`. */
  stop: { commands: number; tasks: number; withinMs: number };
  /** Per stream record / execution event: delivered twice. */
  duplicate: number;
  /**
   * Per EXPRESS run: started a second time (at-least-once), up to 400 ms later, so both runs
   * of the version race through the same steps.
   */
  expressDuplicate: number;
  /**
   * Retries of a failing stream batch (the stack's streamMaxRetryAttempts); then its on-failure
   * record goes to execution-watch, which reads the records back from the stream.
   */
  streamMaxRetryAttempts: number;
  /** Per consumer target call / executor call. */
  targetFailure: number;
  executorFailure: number;
  /** Give up (and report what is stuck) after this long. */
  deadlineMs: number;
}

export interface ChaosReport {
  violations: Violation[];
  counts: Record<string, number>;
  elapsedMs: number;
}

const ROUTER_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:chaos-stream-router';
const WATCH_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:chaos-execution-watch';
const MAX_RECEIVE_COUNT = 5;

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

export async function runChaos(
  options: ChaosOptions,
  tables: ChaosTables,
  harnessDb: DynamoDBDocumentClient,
  buildPath: (targets: readonly ChaosTarget[]) => CommandPath,
): Promise<ChaosReport> {
  const started = Date.now();
  const seed = options.seed;
  /** Keeps this run's rows apart from other runs' in the shared tables; never part of a decision. */
  const runId = `${seed}-${Date.now().toString(36)}`;
  const stable = (text: string) => text.split(runId).join('RUN');
  const path = buildPath(options.targets);
  const pending = new Pending();
  const counts: Record<string, number> = {};
  const bump = (k: string, by = 1) => (counts[k] = (counts[k] ?? 0) + by);
  const calls: CallInterval[] = [];
  const resultWrites = new Map<string, unknown[]>();
  const previousEnv = { ...process.env };
  Object.assign(process.env, path.env);

  // ---- Lambda functions: the path's own, the fake consumer targets, the two entry points
  const record =
    (functionArn: string, handler: LambdaHandler): LambdaHandler =>
    async (event) => {
      const call = path.syncCall(functionArn, event);
      if (!call) return handler(event);
      const inv = currentInvocation();
      const interval: CallInterval = { ...call, start: Date.now() };
      calls.push(interval);
      try {
        // a crashed or timed-out call is over when its process stops, even if its code never returns
        return await (inv ? Promise.race([handler(event), inv.killed]) : handler(event));
      } finally {
        interval.end = inv?.dead && inv.endedAt ? inv.endedAt : Date.now();
      }
    };
  const callCounts = new Map<string, number>();
  const nthCall = (key: string) => {
    const n = (callCounts.get(key) ?? 0) + 1;
    callCounts.set(key, n);
    return n;
  };
  const functions: Record<string, FunctionSpec> = {};
  for (const [arn, spec] of Object.entries(path.functions))
    functions[arn] = { ...spec, handler: record(arn, spec.handler) };
  for (const t of options.targets) {
    functions[t.functionArn] = {
      timeoutMs: t.timeoutSeconds * 1000,
      handler: record(t.functionArn, async (event) => {
        const input = (event as { input: { sk: string } }).input;
        const rnd = prngFor(
          seed,
          'target',
          t.name,
          stable((event as { input: { pk: string } }).input.pk),
          input.sk,
          nthCall(`${t.name}|${input.sk}|${(event as { input: { pk: string } }).input.pk}`),
        );
        // mostly quick, sometimes slower than the function's timeout (the runtime stops it)
        await sleep(rnd.chance(0.08) ? t.timeoutSeconds * 1000 + 500 : rnd.int(0, 600));
        if (currentInvocation()?.dead) return undefined; // stopped by its timeout meanwhile
        if (rnd.chance(options.targetFailure)) throw lambdaError('TargetRejected', `${t.name} rejected ${input.sk}`);
        return { ok: true };
      }),
    };
  }
  functions[ROUTER_ARN] = { timeoutMs: 10_000, handler: path.streamRouter };
  functions[WATCH_ARN] = { timeoutMs: 10_000, handler: path.executionWatch };
  const runtime = new LambdaRuntime(functions);

  // ---- DynamoDB faults on the handlers' client
  resetDynamoDbClient();
  const faults = new DynamoFaults({
    seed,
    rates: options.dynamo,
    tables: [tables.commands, tables.data, tables.history, tables.tasks],
    stable,
    onResultWritten: ({ key, value }) => {
      const list = resultWrites.get(key) ?? [];
      list.push(value);
      resultWrites.set(key, list);
    },
  });
  faults.install(ddb());

  // ---- execution-watch: an SQS queue with redelivery and duplicates (execution events and
  // the commands stream's on-failure records)
  interface WatchMessage {
    id: string;
    body: unknown;
    about: string;
  }
  const watchQueue: Array<{ event: WatchMessage; receives: number }> = [];
  const deadLetters: WatchMessage[] = [];
  let watchBusy = false;
  const pumpWatch = async (): Promise<void> => {
    if (watchBusy) return;
    watchBusy = true;
    try {
      while (watchQueue.length > 0) {
        const msg = watchQueue.shift()!;
        msg.receives++;
        bump('watch deliveries');
        let failed = true;
        try {
          const res = (await runtime.invoke(WATCH_ARN, 'execution-watch', {
            Records: [{ messageId: msg.event.id, body: JSON.stringify(msg.event.body) }],
          })) as { batchItemFailures: unknown[] };
          failed = res.batchItemFailures.length > 0;
        } catch {
          failed = true;
        }
        if (!failed) continue;
        if (msg.receives >= MAX_RECEIVE_COUNT) deadLetters.push(msg.event);
        else {
          await sleep(50); // visibility timeout
          watchQueue.push(msg);
        }
      }
    } finally {
      watchBusy = false;
    }
  };
  const enqueueWatch = (event: StatusEvent) => {
    bump(`executions ${event.detail.status}`);
    const message = { id: event.id, body: event, about: event.detail.name };
    watchQueue.push({ event: message, receives: 0 });
    if (prngFor(seed, 'watch-duplicate', labelOf(event.detail.name), event.detail.status).chance(options.duplicate)) {
      bump('watch duplicates');
      watchQueue.push({ event: message, receives: 0 });
    }
    void pending.track(pumpWatch());
  };

  // ---- Step Functions. Decisions are keyed by what an execution is for (its input, with this
  // run's unique prefix taken out), not by its name: the same seed gives the same plan.
  const labels = new Map<string, string>();
  const labelOf = (executionName: string) => labels.get(executionName) ?? executionName;
  const engine = new Engine(
    path.machines,
    runtime,
    {
      invokeFault: (execution, state, n) => {
        const r = prngFor(seed, 'invoke', labelOf(execution), state, n).float();
        if (r < options.invoke.throttle) return 'throttle';
        if (r < options.invoke.throttle + options.invoke.lostResponse) return 'lost-response';
        return 'none';
      },
      sendTaskThrottled: (token, n) => {
        const [execution, state] = token.split(':');
        return prngFor(seed, 'send', labelOf(execution), state, n).chance(options.sendTaskThrottle);
      },
      expressDuplicateDelayMs: (execution) => {
        const rnd = prngFor(seed, 'express-duplicate', labelOf(execution));
        return rnd.chance(options.expressDuplicate) ? rnd.int(0, 400) : undefined;
      },
    },
    enqueueWatch,
    20,
    new Set(path.expressMachines ?? []),
  );
  const sfnMock = mockClient(SFNClient);
  const streamsMock = mockClient(DynamoDBStreamsClient);
  const snsMock = mockClient(SNSClient);
  const s3Mock = mockClient(S3Client);
  const lambdaMock = mockClient(LambdaClient);
  new FakeS3().install(s3Mock);
  const dead = () => (currentInvocation()?.dead ? never<never>() : undefined);
  sfnMock
    .on(StartExecutionCommand)
    .callsFake(async (input: { stateMachineArn: string; name: string; input: string }) => {
      await (dead() ?? Promise.resolve());
      labels.set(input.name, stable(input.input));
      const res = engine.start(input.stateMachineArn, input.name, input.input);
      const rnd = prngFor(seed, 'stop', labelOf(input.name));
      const rate = path.stoppable.commands.includes(input.stateMachineArn)
        ? options.stop.commands
        : path.stoppable.tasks.includes(input.stateMachineArn)
          ? options.stop.tasks
          : 0;
      if (rnd.chance(rate)) {
        const delay = rnd.int(20, options.stop.withinMs);
        void pending.track(
          sleep(delay).then(() => {
            if (engine.stop(input.stateMachineArn, input.name)) bump('stopped executions');
          }),
        );
      }
      return res;
    });
  sfnMock.on(SendTaskSuccessCommand).callsFake(async (input: { taskToken: string; output: string }) => {
    await (dead() ?? Promise.resolve());
    engine.succeed(input.taskToken, JSON.parse(input.output));
    return {};
  });
  sfnMock.on(SendTaskFailureCommand).callsFake(async (input: { taskToken: string; error?: string; cause?: string }) => {
    await (dead() ?? Promise.resolve());
    engine.fail(input.taskToken, input.error, input.cause);
    return {};
  });
  sfnMock.on(DescribeExecutionCommand).callsFake(async (input: { executionArn: string }) => {
    const described = engine.describe(input.executionArn);
    if (!described)
      throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${input.executionArn}'`, $metadata: {} });
    return described;
  });
  // EXPRESS runs: named after what they run (this run's prefix taken out) and the n-th run of it
  const syncRuns = new Map<string, number>();
  sfnMock.on(StartSyncExecutionCommand).callsFake(async (input: { stateMachineArn: string; input: string }) => {
    await (dead() ?? Promise.resolve());
    const what = stable(input.input);
    const n = (syncRuns.get(what) ?? 0) + 1;
    syncRuns.set(what, n);
    const name = `${createHash('sha256').update(what).digest('hex').slice(0, 16)}-run${n}`;
    labels.set(name, `${what}#run${n}`);
    return engine.startSync(input.stateMachineArn, name, input.input);
  });
  snsMock.on(PublishCommand).callsFake(async (input: { TopicArn: string }) => {
    await (dead() ?? Promise.resolve());
    if (input.TopicArn === process.env.ALARM_TOPIC_ARN) bump('alarms');
    return { MessageId: 'm' };
  });

  // ---- the stream: records delivered out of order, some twice, retried from the failed one; a
  // batch still failing after streamMaxRetryAttempts goes to the on-failure destination
  // (execution-watch), which reads the records back from the stream by shard and sequence number
  const shards = new Map<string, Array<ReturnType<typeof insertRecord>>>();
  let sequence = 100_000_000;
  streamsMock.on(GetShardIteratorCommand).callsFake(async (input: { ShardId: string; SequenceNumber: string }) => {
    await (dead() ?? Promise.resolve());
    return { ShardIterator: JSON.stringify([input.ShardId, input.SequenceNumber]) };
  });
  streamsMock.on(GetRecordsCommand).callsFake(async (input: { ShardIterator: string }) => {
    await (dead() ?? Promise.resolve());
    const [shard, from] = JSON.parse(input.ShardIterator) as [string, string];
    const records = (shards.get(shard) ?? []).filter((r) => BigInt(r.dynamodb.SequenceNumber) >= BigInt(from));
    return { Records: records };
  });
  const deliver = async (table: string, images: Array<Record<string, unknown>>, label: string): Promise<void> => {
    const rnd = prngFor(seed, 'stream', label);
    const ordered = rnd.shuffle(images).map((image) => insertRecord(table, image, String(sequence++)));
    shards.set(label, ordered);
    let batch = [...ordered];
    for (const r of ordered)
      if (rnd.chance(options.duplicate)) {
        bump('stream duplicates');
        batch.splice(rnd.int(0, batch.length), 0, r);
      }
    for (let attempt = 1; batch.length > 0; attempt++) {
      if (attempt > options.streamMaxRetryAttempts + 1) {
        bump('stream batches given up');
        const seqs = batch.map((r) => BigInt(r.dynamodb.SequenceNumber));
        const min = seqs.reduce((a, b) => (b < a ? b : a));
        const max = seqs.reduce((a, b) => (b > a ? b : a));
        const body = {
          requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: attempt - 1 },
          responseContext: { functionError: 'Unhandled' },
          DDBStreamBatchInfo: {
            shardId: label,
            startSequenceNumber: String(min),
            endSequenceNumber: String(max),
            streamArn: batch[0].eventSourceARN,
            batchSize: batch.length,
          },
        };
        watchQueue.push({ event: { id: `stream-failure-${label}`, body, about: label }, receives: 0 });
        void pending.track(pumpWatch());
        return;
      }
      try {
        const res = (await runtime.invoke(ROUTER_ARN, `stream-router ${label}`, { Records: batch })) as {
          batchItemFailures: Array<{ itemIdentifier: string }>;
        };
        const failedAt = res.batchItemFailures[0]?.itemIdentifier;
        if (failedAt === undefined) return;
        batch = batch.slice(batch.findIndex((r) => r.dynamodb.SequenceNumber === failedAt));
      } catch {
        // the router crashed: Lambda retries the whole batch
      }
      bump('stream retries');
      await sleep(30);
    }
  };

  // ---- the plan: commands and tasks, written and delivered in a seeded order
  const plan = new Prng(seed);
  const entities = Array.from({ length: options.entities }, (_, i) => ({ pk: `CHAOS#${runId}#${i}`, code: `E${i}` }));
  const commandKeys: Array<{ pk: string; code: string; version: number }> = [];
  for (const e of entities)
    for (let v = 1; v <= options.versionsPerEntity; v++) commandKeys.push({ pk: e.pk, code: e.code, version: v });
  const order = plan.shuffle(commandKeys);
  const chunks: (typeof order)[] = [];
  for (let i = 0; i < order.length;) {
    const n = plan.int(1, 6);
    chunks.push(order.slice(i, i + n));
    i += n;
  }
  const executors = new Map<string, number>();
  const taskPk = `CHAOS-TASK#${runId}`;
  const unregisterExecutor = path.registerTaskExecutor('chaos', async ({ subTask }) => {
    const rnd = prngFor(seed, 'executor', stable(subTask.sk), (executors.get(subTask.sk) ?? 0) + 1);
    executors.set(subTask.sk, (executors.get(subTask.sk) ?? 0) + 1);
    await sleep(rnd.int(0, 400));
    if (rnd.chance(options.executorFailure)) throw lambdaError('ExecutorFailed', `executor failed on ${subTask.sk}`);
    return { ok: true };
  });

  const deadline = started + options.deadlineMs;
  try {
    const feeding = (async () => {
      for (const [i, chunk] of chunks.entries()) {
        const images: Array<Record<string, unknown>> = [];
        for (const k of chunk) {
          const published = await publishCommandWith(
            { dynamodb: harnessDb, commandsTable: tables.commands, dataTable: tables.data },
            { pk: k.pk, code: k.code, version: k.version, attributes: { v: k.version, note: `chaos ${seed}` } },
          );
          const res = await harnessDb.send(
            new GetCommand({
              TableName: tables.commands,
              Key: { pk: published.pk, sk: published.sk },
              ConsistentRead: true,
            }),
          );
          images.push(res.Item!);
        }
        void pending.track(deliver(tables.commands, images, `commands-${i}`));
        if (i < options.tasks) {
          const task = await createTask(
            { tables: { tasks: tables.tasks }, clients: { dynamodb: harnessDb } },
            {
              pk: taskPk,
              sk: `TASK#chaos#${i}`,
              taskType: 'chaos',
              items: Array.from({ length: options.subTasksPerTask }, (_, n) => ({ n })),
            },
          );
          const res = await harnessDb.send(
            new GetCommand({ TableName: tables.tasks, Key: { pk: task.pk, sk: task.sk }, ConsistentRead: true }),
          );
          void pending.track(deliver(tables.tasks, [res.Item!], `tasks-${i}`));
        }
        await sleep(plan.int(0, 60));
      }
    })();
    await pending.track(feeding);

    // ---- come to rest: nothing delivering, running, queued or still executing
    for (;;) {
      if (Date.now() > deadline) break;
      await sleep(100);
      if (pending.size > 0 || engine.busy() || watchQueue.length > 0 || runtime.liveCount() > 0) continue;
      await sleep(300);
      if (pending.size === 0 && !engine.busy() && watchQueue.length === 0 && runtime.liveCount() === 0) break;
    }
    const stuck = engine.running().map((e) => `execution ${e.name} still running at the deadline`);
    for (const e of engine.running()) engine.stop(e.machineArn, e.name);
    faults.enabled = false;

    const violations: Violation[] = stuck.map((message) => ({ check: 'comes to rest', message }));
    violations.push(
      ...deadLetters.map((e) => ({
        check: 'execution events handled',
        message: `message about ${e.about} dead-lettered`,
      })),
    );
    violations.push(
      ...(await checkCommands(harnessDb, tables, entities, options.versionsPerEntity, calls, resultWrites)),
      ...(await checkTasks(harnessDb, tables, taskPk, Math.min(options.tasks, chunks.length), options.subTasksPerTask)),
    );
    if (engine.waitingTokens() > 0)
      violations.push({
        check: 'no version still waiting',
        message: `${engine.waitingTokens()} task token(s) still waiting`,
      });

    for (const [k, v] of Object.entries(runtime.counts)) bump(`lambda ${k}`, v);
    for (const [k, v] of Object.entries(faults.counts)) if (k !== 'none') bump(`dynamodb ${k}`, v);
    for (const [k, v] of Object.entries(engine.counts)) bump(`sfn ${k}`, v);
    bump('sync calls', calls.length);
    if (process.env.CHAOS_VERBOSE)
      console.log(
        runtime.timedOutLabels
          .map((l) => l.replace(/^.*\//, ''))
          .sort()
          .join('\n'),
      );
    return { violations, counts, elapsedMs: Date.now() - started };
  } finally {
    faults.enabled = false;
    await Promise.race([runtime.drain(), sleep(15_000)]);
    unregisterExecutor();
    sfnMock.restore();
    streamsMock.restore();
    snsMock.restore();
    s3Mock.restore();
    lambdaMock.restore();
    resetDynamoDbClient();
    for (const k of Object.keys(process.env)) if (!(k in previousEnv)) delete process.env[k];
    Object.assign(process.env, previousEnv);
  }
}
