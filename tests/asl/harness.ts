/**
 * Runs our generated definitions with aws-local-stepfunctions, test doubles standing
 * in for the Lambdas. What the interpreter (3.0.0) does and does not do, read from
 * its source (node_modules/aws-local-stepfunctions/build/main.node.cjs):
 *
 * - A Task with a local handler calls the handler with the evaluated `Parameters`
 *   (`{ FunctionName, Payload }`) and uses its return value as the task result. It
 *   knows nothing of the optimized `lambda:invoke` integration, which invokes the
 *   function with `Payload` and returns `{ Payload: <function result>, ... }`: the
 *   doubles below do that wrapping (that is what `OutputPath: "$.Payload"` reads).
 * - `.waitForTaskToken` is not special: the state waits for the handler's promise.
 *   A double resolving is SendTaskSuccess, rejecting is SendTaskFailure, a promise
 *   that never settles is "nobody resumed it".
 * - Task `TimeoutSeconds` IS implemented (a timer raising `States.Timeout`; 60 s when
 *   unset). `HeartbeatSeconds` is NOT: `startHeartbeatTimer` below simulates it.
 * - There is no task token in the context object: we pass one in `context.Task.Token`
 *   so `$$.Task.Token` resolves (the same token for every task: tests only check it
 *   reaches the handler).
 * - Map `MaxConcurrency` is real (p-limit; 0 or unset means 40).
 * - Distributed Map: `ItemReader`, `ItemBatcher`, `ResultWriter`, `ProcessorConfig`,
 *   `ToleratedFailurePercentage` and `Label` are ignored; the Map iterates its input
 *   (or `ItemsPath`) like an inline Map. See import-csv-machine.test.ts.
 */
import assert from 'node:assert/strict';
import { ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { forEachState, serializeDefinition, type StateMachineDefinition, type TaskState } from '../../components/asl';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonRecord = { [key: string]: Json };

/** What one Lambda invocation looked like. */
export interface LambdaCall {
  state: string;
  functionName: string;
  /** The `input` member of the payload: the state input. */
  input: JsonRecord;
  /** The whole payload the function received. */
  payload: JsonRecord;
  /** Waiting tasks only: behave like a worker that sends heartbeats (no HeartbeatTimeout). */
  keepHeartbeating(): void;
}

/** A test double for a Lambda: returns the function result (the next state's input) or throws. */
export type LambdaDouble = (input: JsonRecord, call: LambdaCall) => Json | Promise<Json>;

export const SIMULATED_TASK_TOKEN = 'local-task-token';

export interface RunOptions {
  /** Doubles keyed by Task state name. A Task without one fails the test. */
  doubles: Record<string, LambdaDouble>;
  /** Milliseconds to pause before a retry, per state (skips the real backoff). */
  retryIntervalOverrides?: Record<string, number>;
}

export interface RunResult {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  output?: Json;
  /** Error name and cause of a failed execution. */
  error?: { name: string; cause: string };
  /** Top-level states entered, in order (from the execution's event log). */
  path: string[];
  calls: LambdaCall[];
  elapsedMs: number;
}

/** An error as a Lambda (or a SendTaskFailure) reports it: the name is what Retry/Catch match. */
export function lambdaError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** A promise nobody ever settles: a task token nobody returns. */
export function never(): Promise<Json> {
  return new Promise<Json>(() => undefined);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Measures how many doubles run at the same time. */
export class ConcurrencyProbe {
  private active = 0;
  peak = 0;

  wrap(double: LambdaDouble, delayMs: number): LambdaDouble {
    return async (input, call) => {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      try {
        await sleep(delayMs);
        return await double(input, call);
      } finally {
        this.active--;
      }
    };
  }
}

function isWaitingTask(state: TaskState): boolean {
  return state.Resource.endsWith('.waitForTaskToken');
}

export async function runDefinition(
  definition: StateMachineDefinition,
  input: JsonRecord,
  opts: RunOptions,
): Promise<RunResult> {
  const calls: LambdaCall[] = [];
  const missingDoubles: string[] = [];
  const timers = new Set<NodeJS.Timeout>();

  // HeartbeatSeconds simulation: no heartbeat within the interval → States.HeartbeatTimeout.
  function startHeartbeatTimer(seconds: number, fail: (e: Error) => void): () => void {
    const timer = setTimeout(
      () => fail(lambdaError('States.HeartbeatTimeout', `no heartbeat for ${seconds} s`)),
      seconds * 1000,
    );
    timers.add(timer);
    return () => {
      clearTimeout(timer);
      timers.delete(timer);
    };
  }

  const handlers: Record<string, (params: Json) => Promise<Json>> = {};
  forEachState(definition, (name, state) => {
    if (state.Type !== 'Task') return;
    handlers[name] = async (params) => {
      const { FunctionName, Payload } = params as { FunctionName: string; Payload: JsonRecord };
      const double = opts.doubles[name];
      if (double === undefined) {
        missingDoubles.push(name);
        throw lambdaError('MissingTestDouble', `no double for state ${name}`);
      }
      let stopHeartbeatTimer = (): void => undefined;
      const call: LambdaCall = {
        state: name,
        functionName: FunctionName,
        input: Payload.input as JsonRecord,
        payload: Payload,
        keepHeartbeating: () => stopHeartbeatTimer(),
      };
      calls.push(call);
      if (!isWaitingTask(state)) return { StatusCode: 200, Payload: await double(call.input, call) };
      return new Promise<Json>((resolve, reject) => {
        if (state.HeartbeatSeconds !== undefined)
          stopHeartbeatTimer = startHeartbeatTimer(state.HeartbeatSeconds, reject);
        Promise.resolve(double(call.input, call))
          .then(resolve, reject)
          .finally(() => stopHeartbeatTimer());
      });
    };
  });

  // Run what would be deployed: the serialized JSON (the interpreter validates it too).
  const machine = new StateMachine(JSON.parse(serializeDefinition(definition)));
  const started = Date.now();
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: opts.retryIntervalOverrides },
    context: { Task: { Token: SIMULATED_TASK_TOKEN } },
  });
  const path: string[] = [];
  const eventsRead = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered' && event.index === undefined) path.push(event.state.name);
    }
  })();

  const result: RunResult = { status: 'SUCCEEDED', path, calls, elapsedMs: 0 };
  try {
    result.output = await execution.result;
  } catch (err) {
    if (err instanceof ExecutionTimeoutError) {
      result.status = 'TIMED_OUT';
    } else if (err instanceof ExecutionError) {
      const cause = err.cause as Error;
      result.status = 'FAILED';
      result.error = { name: cause.name, cause: cause.message };
    } else {
      throw err;
    }
  } finally {
    result.elapsedMs = Date.now() - started;
    for (const timer of timers) clearTimeout(timer);
  }
  await eventsRead;
  assert.deepEqual(missingDoubles, [], 'every Task state reached needs a test double');
  return result;
}

/** The calls made by one state, in order. */
export function callsOf(result: RunResult, state: string): LambdaCall[] {
  return result.calls.filter((c) => c.state === state);
}
