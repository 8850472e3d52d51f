/**
 * What a piece of work costs, counted (not timed): Lambda invocations and their modelled
 * duration, STANDARD transitions, EXPRESS runs and their billed duration, DynamoDB request
 * units as DynamoDB reports them, SNS publishes and SQS requests — and its price from
 * prices.ts. Counts add and scale, so a per-row and a per-batch part make a million rows.
 */
import { PRICES } from './prices';

export interface Counts {
  /** Lambda invocations (the stack's handlers and the consumers' sync targets). */
  lambdaCalls: number;
  /** Their modelled duration, summed (ms). */
  lambdaMs: number;
  /** State transitions of STANDARD executions (retries included). */
  standardTransitions: number;
  /** EXPRESS executions (command runs, Distributed Map children). */
  expressRuns: number;
  /** Their billed duration, each rounded up to the billing increment, summed (ms). */
  expressMs: number;
  /** Read request units, as DynamoDB reports them (ReturnConsumedCapacity). */
  rru: number;
  /** Write request units, as DynamoDB reports them; a failed conditional write by its item's size. */
  wru: number;
  /** SNS publishes. */
  snsPublishes: number;
  /** SQS requests (PRICES.sqs.requestsPerMessage per message on a queue). */
  sqsRequests: number;
  /** S3 requests the handlers make (counted, not priced). */
  s3Requests: number;
}

export const ZERO: Counts = {
  lambdaCalls: 0,
  lambdaMs: 0,
  standardTransitions: 0,
  expressRuns: 0,
  expressMs: 0,
  rru: 0,
  wru: 0,
  snsPublishes: 0,
  sqsRequests: 0,
  s3Requests: 0,
};

const KEYS = Object.keys(ZERO) as Array<keyof Counts>;

export function add(...all: Counts[]): Counts {
  const out = { ...ZERO };
  for (const c of all) for (const k of KEYS) out[k] += c[k];
  return out;
}

export function scale(c: Counts, factor: number): Counts {
  const out = { ...ZERO };
  for (const k of KEYS) out[k] = c[k] * factor;
  return out;
}

export function subtract(a: Counts, b: Counts): Counts {
  return add(a, scale(b, -1));
}

/** What each part costs, in USD. */
export interface Price {
  lambda: number;
  stepFunctions: number;
  dynamodb: number;
  messaging: number;
  total: number;
}

/** The price of `c` at PRICES. */
export function price(c: Counts): Price {
  const P = PRICES;
  const lambda =
    c.lambdaCalls * P.lambda.request + (c.lambdaMs / 1000) * (P.lambda.memoryMb / 1024) * P.lambda.gbSecond;
  const stepFunctions =
    c.standardTransitions * P.stepFunctions.standardTransition +
    c.expressRuns * P.stepFunctions.expressRequest +
    (c.expressMs / 1000) * (P.stepFunctions.expressMemoryMb / 1024) * P.stepFunctions.expressGbSecond;
  const dynamodb = c.rru * P.dynamodb.rru + c.wru * P.dynamodb.wru;
  const messaging = c.snsPublishes * P.sns.publish + c.sqsRequests * P.sqs.request;
  return { lambda, stepFunctions, dynamodb, messaging, total: lambda + stepFunctions + dynamodb + messaging };
}

/** Modelled duration of one Lambda invocation that made `awsCalls` calls and waited `waitedMs` for EXPRESS runs. */
export function lambdaMs(awsCalls: number, waitedMs = 0): number {
  return PRICES.lambda.baseMs + PRICES.lambda.perAwsCallMs * awsCalls + waitedMs;
}

/** Billed duration of one EXPRESS run that took `ms`. */
export function expressBilledMs(ms: number): number {
  const step = PRICES.stepFunctions.expressBillingIncrementMs;
  return Math.max(step, Math.ceil(ms / step) * step);
}

/** USD per 1M of the work `c` counts once. */
export function perMillion(c: Counts): number {
  return price(c).total * 1_000_000;
}
