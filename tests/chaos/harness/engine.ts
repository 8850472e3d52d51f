/**
 * Step Functions for the chaos harness: the real generated definitions run by
 * aws-local-stepfunctions, every Lambda Task invoked through the LambdaRuntime, and what the
 * interpreter lacks emulated the way tests/handlers/_support/local-sfn.ts does (a task token
 * per `.waitForTaskToken` entry, SendTaskSuccess/Failure resuming it, HeartbeatSeconds).
 * STANDARD executions are registered by name (a second StartExecution with the same name
 * fails with ExecutionAlreadyExists), can be stopped (StopExecution: in-flight Lambda
 * invocations run on, as in the service), and every one that ends FAILED, TIMED_OUT or
 * ABORTED is reported as the EventBridge "Execution Status Change" event the stack forwards
 * to execution-watch. EXPRESS machines are run by StartSyncExecution like the service runs
 * them: names are not de-duplicated, TimeoutSeconds stops the run (its Lambda invocations
 * run on), no event is emitted, and — at least once — a run may be started twice.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionAlreadyExists, TaskTimedOut } from '@aws-sdk/client-sfn';
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { lambdaError, type InvokeFault, type LambdaRuntime } from './runtime';

type Json = unknown;

interface TaskDef {
  Type?: string;
  Resource?: string;
  HeartbeatSeconds?: number;
  States?: Record<string, TaskDef>;
  ItemProcessor?: { States: Record<string, TaskDef> };
  Iterator?: { States: Record<string, TaskDef> };
}

export type EndStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StatusEvent {
  'detail-type': 'Step Functions Execution Status Change';
  source: 'aws.states';
  id: string;
  detail: { executionArn: string; stateMachineArn: string; name: string; status: string; input: string };
}

export interface EnginePlan {
  /** The fault of the n-th invocation of `state` in `execution`. */
  invokeFault(execution: string, state: string, n: number): InvokeFault;
  /** Whether the n-th SendTask* call on this token is throttled. */
  sendTaskThrottled(token: string, n: number): boolean;
  /**
   * If this EXPRESS run is also started a second time (at-least-once execution), after how
   * many milliseconds; undefined for a run started once.
   */
  expressDuplicateDelayMs?(execution: string): number | undefined;
}

/** What StartSyncExecution answers. */
export interface SyncRun {
  executionArn: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate: Date;
}

/** One run, as the bench counts it: machine, how it ended, the states it entered and retried. */
export interface RunRecord {
  machineArn: string;
  name: string;
  express: boolean;
  status?: EndStatus;
  /** StateEntered events (Map iterations included). */
  entered: number;
  /** StateRetried events (each retry is a transition too). */
  retried: number;
}

interface Waiting {
  resolve: (output: Json) => void;
  reject: (err: Error) => void;
  execution: string;
}

interface Execution {
  arn: string;
  machineArn: string;
  name: string;
  input: string;
  express: boolean;
  status?: EndStatus;
  output?: unknown;
  error?: { name: string; message: string };
  done: Promise<void>;
  abort: () => void;
  record: RunRecord;
}

export class Engine {
  private readonly machines = new Map<string, StateMachineDefinition>();
  private readonly executions = new Map<string, Execution>();
  private readonly expressRuns = new Set<Execution>();
  private pendingDuplicates = 0;
  /** Every run started, in order (the bench reads its transitions and EXPRESS runs from here). */
  readonly runs: RunRecord[] = [];
  private readonly waiting = new Map<string, Waiting>();
  private readonly invocationCount = new Map<string, number>();
  private readonly sendCount = new Map<string, number>();
  readonly ended: Array<{ name: string; machineArn: string; status: EndStatus }> = [];
  readonly counts = {
    started: 0,
    duplicateStarts: 0,
    sendTaskThrottled: 0,
    staleTokens: 0,
    /** `.waitForTaskToken` waits ended by their HeartbeatSeconds (nobody answered in time). */
    heartbeatTimeouts: 0,
    stopped: 0,
    expressRuns: 0,
    expressDuplicates: 0,
    expressTimedOut: 0,
  };

  constructor(
    machines: Record<string, StateMachineDefinition>,
    private readonly runtime: LambdaRuntime,
    private readonly plan: EnginePlan,
    private readonly onEnded: (event: StatusEvent) => void,
    private readonly retryIntervalMs = 20,
    private readonly expressMachines: ReadonlySet<string> = new Set(),
  ) {
    for (const [arn, def] of Object.entries(machines)) this.machines.set(arn, def);
  }

  private static collectTasks(states: Record<string, TaskDef>, out: Map<string, TaskDef>): void {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') out.set(name, s);
      const inner = s.ItemProcessor?.States ?? s.Iterator?.States;
      if (inner) Engine.collectTasks(inner, out);
    }
  }

  private nth(map: Map<string, number>, key: string): number {
    const n = (map.get(key) ?? 0) + 1;
    map.set(key, n);
    return n;
  }

  /** StartExecution (STANDARD machines). */
  start(machineArn: string, name: string, input: string): { executionArn: string; startDate: Date } {
    if (this.expressMachines.has(machineArn)) throw new Error(`${machineArn} is EXPRESS: use StartSyncExecution`);
    const arn = `${machineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    if (this.executions.has(arn)) {
      this.counts.duplicateStarts++;
      throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${name}'`, $metadata: {} });
    }
    this.counts.started++;
    const execution = this.launch(machineArn, arn, name, input, false);
    this.executions.set(arn, execution);
    return { executionArn: arn, startDate: new Date() };
  }

  /**
   * StartSyncExecution (EXPRESS machines): resolves when the run has ended, however it ended.
   * The plan may start the same run a second time beside it (its result goes nowhere).
   */
  async startSync(machineArn: string, name: string, input: string): Promise<SyncRun> {
    if (!this.expressMachines.has(machineArn)) throw new Error(`${machineArn} is not an EXPRESS machine`);
    const startDate = new Date();
    const express = (runName: string): Execution => {
      this.counts.expressRuns++;
      const arn = `${machineArn.replace(':stateMachine:', ':express:')}:${runName}:${randomUUID()}`;
      const execution = this.launch(machineArn, arn, runName, input, true);
      this.expressRuns.add(execution);
      void execution.done.then(() => this.expressRuns.delete(execution));
      return execution;
    };
    const run = express(name);
    const delay = this.plan.expressDuplicateDelayMs?.(name);
    if (delay !== undefined) {
      this.counts.expressDuplicates++;
      this.pendingDuplicates++;
      setTimeout(() => {
        this.pendingDuplicates--;
        express(`${name}-dup`);
      }, delay);
    }
    await run.done;
    const status = run.status ?? 'FAILED';
    if (status === 'TIMED_OUT') this.counts.expressTimedOut++;
    return {
      executionArn: run.arn,
      status,
      ...(status === 'SUCCEEDED' ? { output: JSON.stringify(run.output ?? null) } : {}),
      ...(run.error ? { error: run.error.name, cause: run.error.message } : {}),
      startDate,
      stopDate: new Date(),
    };
  }

  private launch(machineArn: string, arn: string, name: string, input: string, express: boolean): Execution {
    const definition = this.machines.get(machineArn);
    if (!definition) throw new Error(`no state machine ${machineArn}`);
    const tasks = new Map<string, TaskDef>();
    Engine.collectTasks(definition.States as Record<string, TaskDef>, tasks);
    const overrides: Record<string, (params: Json) => Promise<Json>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [state, def] of tasks) {
      retryIntervalOverrides[state] = this.retryIntervalMs;
      overrides[state] = (params) => this.runTask(name, state, def, params);
    }
    const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    const run = machine.run(JSON.parse(input) as never, {
      overrides: { taskResourceLocalHandlers: overrides as never, retryIntervalOverrides },
      context: {
        Execution: { Id: arn, Name: name },
        StateMachine: { Id: machineArn, Name: machineArn.slice(machineArn.lastIndexOf(':') + 1) },
        Task: { Token: 'replaced-per-wait' },
      },
    });
    const record: RunRecord = { machineArn, name, express, entered: 0, retried: 0 };
    this.runs.push(record);
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') record.entered++;
        else if (event.type === 'StateRetried') record.retried++;
      }
    })();
    const execution: Execution = {
      arn,
      machineArn,
      name,
      input,
      express,
      abort: () => run.abort(),
      done: Promise.resolve(),
      record,
    };
    execution.done = run.result.then(
      (output) => {
        execution.output = output;
        this.finish(execution, 'SUCCEEDED');
      },
      (err: unknown) => {
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
        if (cause) execution.error = { name: cause.name, message: cause.message };
        this.finish(
          execution,
          err instanceof ExecutionAbortedError
            ? 'ABORTED'
            : err instanceof ExecutionTimeoutError
              ? 'TIMED_OUT'
              : 'FAILED',
        );
      },
    );
    return execution;
  }

  private finish(execution: Execution, status: EndStatus): void {
    execution.status = status;
    execution.record.status = status;
    for (const [token, w] of this.waiting) if (w.execution === execution.name) this.waiting.delete(token);
    this.ended.push({ name: execution.name, machineArn: execution.machineArn, status });
    // EXPRESS executions emit no EventBridge status events: only their caller learns how they ended
    if (status === 'SUCCEEDED' || execution.express) return;
    this.onEnded({
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      id: randomUUID(),
      detail: {
        executionArn: execution.arn,
        stateMachineArn: execution.machineArn,
        name: execution.name,
        status,
        input: execution.input,
      },
    });
  }

  private async runTask(executionName: string, state: string, def: TaskDef, params: Json): Promise<Json> {
    const p = params as { FunctionName: string; Payload: Record<string, unknown> };
    const payload: Record<string, unknown> = {
      ...p.Payload,
      context: { ...(p.Payload.context as object), State: { Name: state, EnteredTime: new Date().toISOString() } },
    };
    const fault = this.plan.invokeFault(
      executionName,
      state,
      this.nth(this.invocationCount, `${executionName}|${state}`),
    );
    const label = `${executionName}/${state}`;
    if (!String(def.Resource).endsWith('.waitForTaskToken')) {
      return { StatusCode: 200, Payload: (await this.runtime.invoke(p.FunctionName, label, payload, fault)) ?? null };
    }
    const token = `${executionName}:${state}:${randomUUID()}`;
    (payload.context as { Task?: unknown }).Task = { Token: token };
    payload.taskToken = token;
    const resumed = new Promise<Json>((resolve, reject) =>
      this.waiting.set(token, { resolve, reject, execution: executionName }),
    );
    resumed.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const heartbeat = new Promise<never>((_, reject) => {
      if (def.HeartbeatSeconds)
        timer = setTimeout(() => {
          if (!this.waiting.delete(token)) return;
          this.counts.heartbeatTimeouts++;
          reject(lambdaError('States.HeartbeatTimeout', 'no heartbeat'));
        }, def.HeartbeatSeconds * 1000);
    });
    heartbeat.catch(() => undefined);
    try {
      // the handler stores the token (and may resume itself); an invocation error fails the state
      await this.runtime.invoke(p.FunctionName, label, payload, fault);
      return await Promise.race([resumed, heartbeat]);
    } finally {
      if (timer) clearTimeout(timer);
      this.waiting.delete(token);
    }
  }

  private takeToken(token: string): Waiting {
    const n = this.nth(this.sendCount, token);
    if (this.plan.sendTaskThrottled(token, n)) {
      this.counts.sendTaskThrottled++;
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
    }
    const w = this.waiting.get(token);
    if (!w) {
      this.counts.staleTokens++;
      throw new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} });
    }
    this.waiting.delete(token);
    return w;
  }

  /** SendTaskSuccess. */
  succeed(token: string, output: Json): void {
    this.takeToken(token).resolve(output);
  }

  /** SendTaskFailure. */
  fail(token: string, error?: string, cause?: string): void {
    this.takeToken(token).reject(lambdaError(error ?? 'TaskFailed', cause ?? ''));
  }

  /** StopExecution: the execution ends ABORTED; its running Lambda invocations go on. */
  stop(machineArn: string, name: string): boolean {
    const e = this.executions.get(`${machineArn.replace(':stateMachine:', ':execution:')}:${name}`);
    if (!e || e.status) return false;
    this.counts.stopped++;
    e.abort();
    return true;
  }

  /** DescribeExecution (STANDARD executions): undefined for one that does not exist. */
  describe(executionArn: string): { input: string; status: string } | undefined {
    const e = this.executions.get(executionArn);
    return e ? { input: e.input, status: e.status ?? 'RUNNING' } : undefined;
  }

  /** DescribeExecution's input. */
  inputOf(executionArn: string): string | undefined {
    return this.executions.get(executionArn)?.input;
  }

  running(): Execution[] {
    return [...this.executions.values(), ...this.expressRuns].filter((e) => !e.status);
  }

  /** Whether anything is still to run: an execution, or a duplicate EXPRESS run not started yet. */
  busy(): boolean {
    return this.pendingDuplicates > 0 || this.running().length > 0;
  }

  waitingTokens(): number {
    return this.waiting.size;
  }

  /** Resolves once every execution started so far has ended. */
  async settle(): Promise<void> {
    for (;;) {
      const open = this.running();
      if (open.length === 0) return;
      await Promise.all(open.map((e) => e.done));
    }
  }
}
