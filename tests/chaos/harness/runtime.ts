/**
 * A Lambda runtime for the chaos harness: each invocation runs the real handler inside an
 * AsyncLocalStorage context, so faults injected into the SDK clients it uses (see
 * faults.ts) know which invocation they hit. Like the service:
 *  - a crashed or timed-out invocation makes no further AWS call (its next call never
 *    returns), and its caller gets `Lambda.Unknown`;
 *  - an invocation whose response is lost keeps running in the background while its caller
 *    gets `Lambda.SdkClientException` (and may retry: two attempts then run at once);
 *  - a throttled invocation never starts (`Lambda.TooManyRequestsException`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** The part of the Lambda context the handlers use: their deadline. */
export interface LambdaContext {
  getRemainingTimeInMillis(): number;
}

export type LambdaHandler = (event: unknown, context?: LambdaContext) => Promise<unknown>;

/** An error a Lambda invocation surfaces to its caller (Step Functions matches on the name). */
export function lambdaError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

export class Invocation {
  dead = false;
  /** When it stopped running (crash, timeout or return). */
  endedAt?: number;
  private kill!: (err: Error) => void;
  readonly killed = new Promise<never>((_, reject) => (this.kill = reject));
  constructor(
    readonly id: number,
    readonly functionName: string,
    readonly label: string,
    readonly deadline: number,
  ) {
    this.killed.catch(() => undefined);
  }
  /** The process dies here: the caller sees Lambda.Unknown, nothing after this point runs. */
  crash(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.endedAt = Date.now();
    this.kill(lambdaError('Lambda.Unknown', `invocation ${this.id} (${this.label}) crashed: ${reason}`));
  }
}

const current = new AsyncLocalStorage<Invocation>();

/** The invocation the calling code runs in (undefined outside the runtime, e.g. the harness itself). */
export function currentInvocation(): Invocation | undefined {
  return current.getStore();
}

/** A promise that never settles: what a dead process's pending call amounts to. */
export function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

export type InvokeFault = 'none' | 'throttle' | 'lost-response';

export interface FunctionSpec {
  handler: LambdaHandler;
  /** The function's configured timeout. */
  timeoutMs: number;
}

export class LambdaRuntime {
  private nextId = 0;
  private readonly live = new Set<Promise<unknown>>();
  readonly timedOutLabels: string[] = [];
  /** Every invocation that started, in order (the cost benchmark meters them). */
  readonly invocations: Invocation[] = [];
  readonly counts = { invocations: 0, throttled: 0, lostResponses: 0, crashed: 0, timedOut: 0 };

  constructor(private readonly functions: Record<string, FunctionSpec>) {}

  has(functionName: string): boolean {
    return functionName in this.functions;
  }

  /**
   * Invoke like RequestResponse: the handler's result, or an error named as Step Functions
   * would see it. `fault` is decided by the caller's plan.
   */
  async invoke(functionName: string, label: string, event: unknown, fault: InvokeFault = 'none'): Promise<unknown> {
    const spec = this.functions[functionName];
    if (!spec) throw new Error(`no function ${functionName}`);
    if (fault === 'throttle') {
      this.counts.throttled++;
      throw lambdaError('Lambda.TooManyRequestsException', 'Rate exceeded');
    }
    this.counts.invocations++;
    const inv = new Invocation(++this.nextId, functionName, label, Date.now() + spec.timeoutMs);
    this.invocations.push(inv);
    const timer = setTimeout(() => {
      if (!inv.dead) {
        this.counts.timedOut++;
        this.timedOutLabels.push(label);
      }
      inv.crash('Task timed out');
    }, spec.timeoutMs);
    const context: LambdaContext = { getRemainingTimeInMillis: () => Math.max(0, inv.deadline - Date.now()) };
    const run = current.run(inv, () => Promise.race([spec.handler(event, context), inv.killed]));
    const settled = run.then(
      () => undefined,
      (err: unknown) => {
        if ((err as Error)?.name === 'Lambda.Unknown' && !String((err as Error).message).includes('timed out'))
          this.counts.crashed++;
      },
    );
    const tracked = settled.finally(() => {
      clearTimeout(timer);
      inv.endedAt ??= Date.now();
      inv.dead = true; // an ended invocation makes no further call either
      this.live.delete(tracked);
    });
    this.live.add(tracked);
    if (fault === 'lost-response') {
      this.counts.lostResponses++;
      // the function runs on; its caller hears nothing back
      await new Promise((r) => setImmediate(r));
      throw lambdaError('Lambda.SdkClientException', 'Unable to execute HTTP request: connection reset');
    }
    return run;
  }

  /** Resolves when no invocation is running (lost responses included; each ends by its timeout). */
  async drain(): Promise<void> {
    while (this.live.size > 0) await Promise.allSettled([...this.live]);
  }

  liveCount(): number {
    return this.live.size;
  }
}
