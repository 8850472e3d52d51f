/**
 * The price table of the cost benchmark (`npm run bench:cost`): us-east-1 list prices, on
 * demand, without free tiers, as issue 10 states them. Change a price here and every figure
 * the benchmark prints (and the README table it produced) follows.
 *
 * Sources (checked when the table was written; prices change — compare before you quote):
 * - Step Functions: https://aws.amazon.com/step-functions/pricing/
 *   STANDARD: $0.025 per 1,000 state transitions (every state entered counts, a retry too;
 *   a Distributed Map counts one transition per child execution it starts).
 *   EXPRESS: $1.00 per 1M requests (executions) plus $0.00001667 per GB-second, the duration
 *   rounded up to the next 100 ms and the memory billed in 64 MB steps.
 * - Lambda: https://aws.amazon.com/lambda/pricing/ (arm64): $0.20 per 1M requests plus
 *   $0.0000133334 per GB-second, billed per millisecond.
 * - DynamoDB on demand: https://aws.amazon.com/dynamodb/pricing/on-demand/
 *   $0.625 per 1M write request units, $0.125 per 1M read request units.
 * - SNS: https://aws.amazon.com/sns/pricing/ — $0.50 per 1M publishes (deliveries to SQS free).
 * - SQS standard queues: https://aws.amazon.com/sqs/pricing/ — $0.40 per 1M requests.
 *
 * What the benchmark assumes where a price depends on how the code runs:
 * - a handler Lambda has 256 MB (the stack's `lambdaMemoryMb` default) and runs
 *   20 ms plus 8 ms per AWS call it makes (a caller of StartSyncExecution is billed for the
 *   EXPRESS run it waits for instead of 8 ms);
 * - an EXPRESS run is billed at 64 MB (its input and state data are a few hundred bytes), for
 *   as long as its states take: the Lambda states one after another, the items of a Map side
 *   by side (the slowest one counts);
 * - a message on an SQS queue costs three requests (SNS's SendMessage, the Lambda poller's
 *   ReceiveMessage and DeleteMessage; batching would make it fewer);
 * - S3 requests and storage, CloudWatch Logs and data transfer are not priced (the issue's
 *   table has none of them); the benchmark counts the S3 requests it sees.
 */
export const PRICES = {
  stepFunctions: {
    /** USD per STANDARD state transition. */
    standardTransition: 0.025 / 1000,
    /** USD per EXPRESS execution. */
    expressRequest: 1.0 / 1_000_000,
    /** USD per GB-second of EXPRESS duration. */
    expressGbSecond: 0.00001667,
    /** Memory an EXPRESS execution is billed for, in MB. */
    expressMemoryMb: 64,
    /** EXPRESS duration is rounded up to a multiple of this, in ms. */
    expressBillingIncrementMs: 100,
  },
  lambda: {
    /** USD per invocation. */
    request: 0.2 / 1_000_000,
    /** USD per GB-second (arm64). */
    gbSecond: 0.0000133334,
    /** Memory of every handler, in MB. */
    memoryMb: 256,
    /** Modelled duration of an invocation: this much ... */
    baseMs: 20,
    /** ... plus this much per AWS call it makes. */
    perAwsCallMs: 8,
  },
  dynamodb: {
    /** USD per write request unit. */
    wru: 0.625 / 1_000_000,
    /** USD per read request unit. */
    rru: 0.125 / 1_000_000,
  },
  sns: {
    /** USD per publish. */
    publish: 0.5 / 1_000_000,
  },
  sqs: {
    /** USD per request. */
    request: 0.4 / 1_000_000,
    /** Requests one message costs: SendMessage (by SNS), ReceiveMessage, DeleteMessage. */
    requestsPerMessage: 3,
  },
} as const;
