/**
 * Counts what a SimulatedStack does: per Lambda invocation the AWS calls it makes (every SDK
 * call of the handlers reaches either the DynamoDB middleware or a mocked client's hook) and
 * the EXPRESS runs it waits for; DynamoDB request units as DynamoDB Local reports them
 * (ReturnConsumedCapacity: TOTAL is added to every request); SNS publishes; messages on queues.
 *
 * DynamoDB Local reports consumed capacity for every successful call, not for a conditional
 * write it refused. DynamoDB bills such a write as if it had happened, by the size of the item
 * that is there (1 WRU at least): the meter reads that item with its own client (not counted)
 * and counts it so.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { dynamoItemBytes } from '../../core/limits';
import { currentInvocation, type Invocation } from '../../tests/chaos/harness/runtime';
import type { SimulatedStack, StackHooks } from '../../tests/chaos/harness/stack';
import { expressBilledMs, lambdaMs, ZERO, type Counts } from './counts';
import { PRICES } from './prices';

type Input = Record<string, unknown>;

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

interface InvocationUse {
  calls: number;
  /** EXPRESS runs this invocation waited for (StartSyncExecution). */
  waitedFor: string[];
}

/** Where a window of metering starts. */
export interface Mark {
  invocations: number;
  runs: number;
  rru: number;
  wru: number;
  publishes: number;
  mainPublishes: number;
  queueMessages: number;
  s3: number;
}

/** The states inside Map item processors of EXPRESS definitions: they run side by side. */
export function mapStatesOf(definitions: StateMachineDefinition[]): Set<string> {
  const out = new Set<string>();
  const visit = (states: Record<string, unknown>, inMap: boolean) => {
    for (const [name, state] of Object.entries(states)) {
      if (inMap) out.add(name);
      const s = state as {
        ItemProcessor?: { States: Record<string, unknown> };
        Iterator?: { States: Record<string, unknown> };
      };
      const inner = s.ItemProcessor?.States ?? s.Iterator?.States;
      if (inner) visit(inner, true);
    }
  };
  for (const d of definitions) visit(d.States, false);
  return out;
}

export class CostMeter {
  private readonly use = new Map<Invocation, InvocationUse>();
  private rru = 0;
  private wru = 0;
  private publishes = 0;
  private mainPublishes = 0;
  private s3 = 0;

  /** @param own a client of the meter's own (reads the item a refused conditional write met) */
  constructor(private readonly own: DynamoDBDocumentClient) {}

  private useOf(inv: Invocation | undefined): InvocationUse | undefined {
    if (!inv) return undefined;
    let u = this.use.get(inv);
    if (!u) this.use.set(inv, (u = { calls: 0, waitedFor: [] }));
    return u;
  }

  /** The hooks a SimulatedStack reports calls and runs through. */
  hooks(): Pick<StackHooks, 'onCall' | 'onSyncRun'> {
    return {
      onCall: (service, command, input) => {
        // a publish costs wherever it comes from (the application's start of an import is part of it);
        // one to the main topic is also a message on one of its queues
        if (service === 'sns' && command === 'Publish') {
          this.publishes++;
          if (input?.TopicArn === process.env.MAIN_TOPIC_ARN) this.mainPublishes++;
        }
        const inv = currentInvocation();
        if (!inv) return; // the application's own calls take none of the workflow's Lambda time
        if (service === 'states' && command === 'StartSyncExecution') return; // billed as the run it waits for
        this.useOf(inv)!.calls++;
        if (service === 's3') this.s3++;
      },
      onSyncRun: (name) => this.useOf(currentInvocation())?.waitedFor.push(name),
    };
  }

  /** Adds the capacity-reporting middleware to the handlers' DynamoDB client. */
  install(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const inv = currentInvocation();
        const command = String((context as { commandName?: string }).commandName ?? '').replace(/Command$/, '');
        const input = args.input as Input;
        if (!inv) return next(args);
        this.useOf(inv)!.calls++;
        input.ReturnConsumedCapacity = 'TOTAL';
        try {
          const out = await next(args);
          this.addCapacity(command, (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
          return out;
        } catch (err) {
          if ((err as { name?: string }).name === 'ConditionalCheckFailedException') await this.refusedWrite(input);
          throw err;
        }
      },
      { step: 'initialize', name: 'costMeterCapacity', priority: 'low' },
    );
  }

  private addCapacity(command: string, consumed: unknown): void {
    const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
    for (const c of list as Array<{ CapacityUnits?: number }>) {
      const units = Number(c.CapacityUnits ?? 0);
      if (READS.has(command)) this.rru += units;
      else this.wru += units;
    }
  }

  private async refusedWrite(input: Input): Promise<void> {
    const table = String(input.TableName);
    const key = (input.Key ?? input.Item) as Input | undefined;
    let bytes = 0;
    if (key && key.pk !== undefined) {
      const res = await this.own.send(
        new GetCommand({ TableName: table, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
      );
      bytes = res.Item ? dynamoItemBytes(res.Item) : 0;
    }
    this.wru += Math.max(1, Math.ceil(bytes / 1024));
  }

  /** The AWS calls an invocation made (StartSyncExecution not included). */
  callsOf(inv: Invocation | undefined): number {
    return inv ? (this.use.get(inv)?.calls ?? 0) : 0;
  }

  mark(stack: SimulatedStack): Mark {
    return {
      invocations: stack.runtime.invocations.length,
      runs: stack.engine.runs.length,
      rru: this.rru,
      wru: this.wru,
      publishes: this.publishes,
      mainPublishes: this.mainPublishes,
      queueMessages: stack.counts['watch messages'] ?? 0,
      s3: this.s3,
    };
  }

  /** Modelled duration of an EXPRESS run: its Lambda states one after another, Map items side by side. */
  runMs(stack: SimulatedStack, name: string, mapStates: ReadonlySet<string>): number {
    let sequential = 0;
    let parallel = 0;
    for (const inv of stack.runtime.invocations) {
      const slash = inv.label.indexOf('/');
      if (slash < 0 || inv.label.slice(0, slash) !== name) continue;
      const ms = this.invocationMs(stack, inv, mapStates);
      if (mapStates.has(inv.label.slice(slash + 1))) parallel = Math.max(parallel, ms);
      else sequential += ms;
    }
    return sequential + parallel;
  }

  private invocationMs(stack: SimulatedStack, inv: Invocation, mapStates: ReadonlySet<string>): number {
    const u = this.use.get(inv);
    const waited = (u?.waitedFor ?? []).reduce((sum, run) => sum + this.runMs(stack, run, mapStates), 0);
    return lambdaMs(u?.calls ?? 0, waited);
  }

  /** What happened since `from`. */
  countsSince(stack: SimulatedStack, from: Mark, mapStates: ReadonlySet<string>): Counts {
    const now = this.mark(stack);
    const invocations = stack.runtime.invocations.slice(from.invocations);
    const runs = stack.engine.runs.slice(from.runs);
    const express = runs.filter((r) => r.express);
    return {
      ...ZERO,
      lambdaCalls: invocations.length,
      lambdaMs: invocations.reduce((sum, inv) => sum + this.invocationMs(stack, inv, mapStates), 0),
      standardTransitions: runs.filter((r) => !r.express).reduce((sum, r) => sum + r.entered + r.retried, 0),
      expressRuns: express.length,
      expressMs: express.reduce((sum, r) => sum + expressBilledMs(this.runMs(stack, r.name, mapStates)), 0),
      rru: now.rru - from.rru,
      wru: now.wru - from.wru,
      snsPublishes: now.publishes - from.publishes,
      sqsRequests:
        PRICES.sqs.requestsPerMessage *
        (now.mainPublishes - from.mainPublishes + now.queueMessages - from.queueMessages),
      s3Requests: now.s3 - from.s3,
    };
  }
}
