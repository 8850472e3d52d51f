/**
 * Runs a state machine definition with aws-local-stepfunctions, routing every Lambda Task
 * to a local function, and emulating what the local engine lacks for the callback pattern:
 *  - `$$.State.Name` in the payload context (the engine's context has no State),
 *  - a fresh task token per `.waitForTaskToken` entry, kept in a registry; SendTaskSuccess /
 *    SendTaskFailure (stubbed with aws-sdk-client-mock) resolve / reject the matching wait,
 *    and a token that no longer waits answers TaskTimedOut like the service,
 *  - HeartbeatSeconds: a wait that is not resumed in time fails with States.HeartbeatTimeout
 *    (TimeoutSeconds is enforced by the engine itself as States.Timeout).
 */
import { randomUUID } from 'node:crypto';
import { TaskTimedOut } from '@aws-sdk/client-sfn';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type Json = unknown;
export type LambdaFn = (payload: Record<string, unknown>) => Promise<unknown>;

interface Waiting {
  resolve: (output: Json) => void;
  reject: (err: Error) => void;
  state: string;
  execution: string;
}

interface TaskDef {
  Type?: string;
  Resource?: string;
  HeartbeatSeconds?: number;
  Parameters?: { FunctionName?: string };
  States?: Record<string, TaskDef>;
  ItemProcessor?: { States: Record<string, TaskDef> };
  Iterator?: { States: Record<string, TaskDef> };
}

export class LocalSfn {
  private readonly waiting = new Map<string, Waiting>();
  readonly sent: Array<{
    kind: 'success' | 'failure';
    token: string;
    state?: string;
    execution?: string;
    stale: boolean;
  }> = [];

  constructor(
    private readonly definition: StateMachineDefinition,
    private readonly functions: (functionName: string, state: string) => LambdaFn,
  ) {}

  /** Route for the SFN mock's SendTaskSuccess. */
  succeed(token: string, output: Json): void {
    const w = this.waiting.get(token);
    this.sent.push({ kind: 'success', token, state: w?.state, execution: w?.execution, stale: !w });
    if (!w) throw new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} });
    this.waiting.delete(token);
    w.resolve(output);
  }

  /** Route for the SFN mock's SendTaskFailure. */
  fail(token: string, error?: string, cause?: string): void {
    const w = this.waiting.get(token);
    this.sent.push({ kind: 'failure', token, state: w?.state, execution: w?.execution, stale: !w });
    if (!w) throw new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} });
    this.waiting.delete(token);
    w.reject(Object.assign(new Error(cause ?? ''), { name: error ?? 'TaskFailed' }));
  }

  /** Tokens currently waiting (execution name → state). */
  waitingTokens(): Array<{ token: string; execution: string; state: string }> {
    return [...this.waiting.entries()].map(([token, w]) => ({ token, execution: w.execution, state: w.state }));
  }

  private collectTasks(states: Record<string, TaskDef>, out: Map<string, TaskDef>): void {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') out.set(name, s);
      const inner = s.ItemProcessor?.States ?? s.Iterator?.States;
      if (inner) this.collectTasks(inner, out);
    }
  }

  run(input: Record<string, unknown>, executionName: string): { result: Promise<Json>; abort: () => void } {
    const tasks = new Map<string, TaskDef>();
    this.collectTasks(this.definition.States as Record<string, TaskDef>, tasks);
    const overrides: Record<string, (input: Json) => Promise<Json>> = {};
    for (const [state, def] of tasks) {
      const waits = String(def.Resource).endsWith('.waitForTaskToken');
      overrides[state] = async (params: Json) => {
        const p = params as { FunctionName: string; Payload: Record<string, unknown> };
        const fn = this.functions(p.FunctionName, state);
        const payload: Record<string, unknown> = {
          ...p.Payload,
          context: { ...(p.Payload.context as object), State: { Name: state, EnteredTime: new Date().toISOString() } },
        };
        if (!waits) return { StatusCode: 200, Payload: (await fn(payload)) ?? null };
        const token = `${executionName}:${state}:${randomUUID()}`;
        (payload.context as { Task?: unknown }).Task = { Token: token };
        payload.taskToken = token;
        const resumed = new Promise<Json>((resolve, reject) =>
          this.waiting.set(token, { resolve, reject, state, execution: executionName }),
        );
        resumed.catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        const heartbeat = new Promise<never>((_, reject) => {
          if (def.HeartbeatSeconds) {
            timer = setTimeout(() => {
              if (this.waiting.delete(token))
                reject(Object.assign(new Error('no heartbeat'), { name: 'States.HeartbeatTimeout' }));
            }, def.HeartbeatSeconds * 1000);
          }
        });
        heartbeat.catch(() => undefined);
        try {
          await fn(payload); // the handler stores the token (and may resume itself)
          return await Promise.race([resumed, heartbeat]);
        } finally {
          if (timer) clearTimeout(timer);
          this.waiting.delete(token);
        }
      };
    }
    const machine = new StateMachine(this.definition, { validationOptions: { checkArn: true, checkPaths: true } });
    const execution = machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never },
      context: {
        Execution: {
          Id: `arn:aws:states:us-east-1:123456789012:execution:local:${executionName}`,
          Name: executionName,
        },
        StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:local', Name: 'local' },
        Task: { Token: 'replaced-per-wait' },
      },
    });
    return { result: execution.result, abort: execution.abort };
  }
}
