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
 * machines, other handlers) is driven and checked the same way. The wiring itself (which
 * client answers what, the stream and the watch queue) is stack.ts's.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { publishCommandWith } from '../../../core/commands';
import { createTask } from '../../../client';
import { ddb, resetDynamoDbClient } from '../../../handlers/shared/aws/dynamodb';
import { sleep } from '../../handlers/_support/wait';
import { DynamoFaults, type DynamoFaultRates } from './faults';
import { Prng, prngFor } from './prng';
import { currentInvocation, lambdaError, type FunctionSpec, type LambdaHandler } from './runtime';
import { checkCommands, checkTasks, type CallInterval, type Violation } from './checks';
import { SimulatedStack } from './stack';

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

/** Settings a path module takes besides its targets (the cost benchmark's; the chaos run keeps the short defaults). */
export interface PathSettings {
  /** `wait_prev_command` TimeoutSeconds. Default: 30. */
  waitTimeoutSeconds?: number;
  /** `wait_prev_command` HeartbeatSeconds. Default: 1 (re-checks all the time). */
  waitHeartbeatSeconds?: number;
  /** EXPRESS path: the command machine's TimeoutSeconds. Default: a few seconds, so runs time out. */
  runTimeoutSeconds?: number;
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
  /**
   * Per command / task execution: stopped (StopExecution) after a random delay up to `withinMs`.
   * `duringSync`, per consumer target call: the execution running that version (if it can be
   * stopped) is stopped as the call starts, and the call runs on until its function's timeout —
   * the case where a successor could overtake a call its predecessor left running.
   */
  stop: { commands: number; tasks: number; withinMs: number; duringSync: number };
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
  const calls: CallInterval[] = [];
  const resultWrites = new Map<string, unknown[]>();

  // ---- Lambda functions: the path's own and the fake consumer targets (the stack adds the two entry points)
  const record =
    (functionArn: string, handler: LambdaHandler): LambdaHandler =>
    async (event, context) => {
      const call = path.syncCall(functionArn, event);
      if (!call) return handler(event, context);
      const inv = currentInvocation();
      const interval: CallInterval = { ...call, start: Date.now() };
      calls.push(interval);
      try {
        // a crashed or timed-out call is over when its process stops, even if its code never returns
        return await (inv ? Promise.race([handler(event, context), inv.killed]) : handler(event, context));
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
        const stopped = rnd.chance(options.stop.duringSync) && stopVersionRunning(input.sk, event);
        // mostly quick, sometimes slower than the function's timeout (the runtime stops it)
        await sleep(stopped || rnd.chance(0.08) ? t.timeoutSeconds * 1000 + 500 : rnd.int(0, 600));
        if (currentInvocation()?.dead) return undefined; // stopped by its timeout meanwhile
        if (rnd.chance(options.targetFailure)) throw lambdaError('TargetRejected', `${t.name} rejected ${input.sk}`);
        return { ok: true };
      }),
    };
  }

  // ---- the stack, with the plan's faults. Decisions are keyed by what an execution is for
  // (its input, with this run's unique prefix taken out), not by its name: the same seed
  // gives the same plan.
  const stack: SimulatedStack = new SimulatedStack(
    path,
    functions,
    {
      plan: (labelOf) => ({
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
      }),
      onStarted: (machineArn, name) => {
        const rnd = prngFor(seed, 'stop', stack.labelOf(name));
        const rate = path.stoppable.commands.includes(machineArn)
          ? options.stop.commands
          : path.stoppable.tasks.includes(machineArn)
            ? options.stop.tasks
            : 0;
        if (!rnd.chance(rate)) return;
        const delay = rnd.int(20, options.stop.withinMs);
        void stack.track(
          sleep(delay).then(() => {
            if (stack.engine.stop(machineArn, name)) stack.bump('stopped executions');
          }),
        );
      },
      // the stream: records delivered out of order, some twice
      batchOf: (label, records) => {
        const rnd = prngFor(seed, 'stream', label);
        const batch = rnd.shuffle(records);
        for (const r of records)
          if (rnd.chance(options.duplicate)) {
            stack.bump('stream duplicates');
            batch.splice(rnd.int(0, batch.length), 0, r);
          }
        return batch;
      },
      duplicateEvent: (event, labelOf) =>
        prngFor(seed, 'watch-duplicate', labelOf(event.detail.name), event.detail.status).chance(options.duplicate),
    },
    { streamMaxRetryAttempts: options.streamMaxRetryAttempts, stable },
  );
  const { engine, runtime } = stack;
  /** Stops the stoppable command execution running this version, if there is one. */
  function stopVersionRunning(sk: string, event: unknown): boolean {
    const pk = (event as { input: { pk: string } }).input.pk;
    for (const e of engine.running()) {
      if (!path.stoppable.commands.includes(e.machineArn)) continue;
      const input = JSON.parse(e.input) as { pk?: string; sk?: string };
      if (input.pk === pk && input.sk === sk && engine.stop(e.machineArn, e.name)) {
        bump('stopped during a sync call');
        return true;
      }
    }
    return false;
  }
  const bump = (k: string, by = 1) => stack.bump(k, by);

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
        void stack.track(stack.deliver(tables.commands, images, `commands-${i}`));
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
          void stack.track(stack.deliver(tables.tasks, [res.Item!], `tasks-${i}`));
        }
        await sleep(plan.int(0, 60));
      }
    })();
    await stack.track(feeding);

    // ---- come to rest: nothing delivering, running, queued or still executing
    await stack.settle(deadline);
    const stuck = engine.running().map((e) => `execution ${e.name} still running at the deadline`);
    for (const e of engine.running()) engine.stop(e.machineArn, e.name);
    faults.enabled = false;

    const violations: Violation[] = stuck.map((message) => ({ check: 'comes to rest', message }));
    violations.push(
      ...stack.deadLetters.map((e) => ({
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
    return { violations, counts: stack.counts, elapsedMs: Date.now() - started };
  } finally {
    faults.enabled = false;
    await Promise.race([runtime.drain(), sleep(15_000)]);
    unregisterExecutor();
    await stack.restore();
    resetDynamoDbClient();
  }
}
