/** Error helpers shared by handlers and the client. */

export function errorName(err: unknown): string {
  return err && typeof err === 'object' && 'name' in err && typeof err.name === 'string'
    ? (err as { name: string }).name
    : 'Error';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

export function describeError(err: unknown, max = 2000): string {
  const text = `${errorName(err)}: ${errorMessage(err)}`;
  return truncate(text, max);
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 15))}…[truncated]`;
}

export function isConditionalCheckFailed(err: unknown): boolean {
  return errorName(err) === 'ConditionalCheckFailedException';
}

/** TransactionCanceledException whose reasons include a ConditionalCheckFailed at `index` (or any index). */
export function isTransactionConditionFailure(err: unknown, index?: number): boolean {
  if (errorName(err) !== 'TransactionCanceledException') return false;
  const reasons = (err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
  if (index === undefined) return reasons.some((r) => r?.Code === 'ConditionalCheckFailed');
  return reasons[index]?.Code === 'ConditionalCheckFailed';
}

/** A domain error with a stable name, so a Catch / Choice can tell it apart. */
export class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A value as text for a message: strings as they are, anything else as JSON (never "[object Object]"). */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** DynamoDB refused a write because the item would exceed its 400 KB limit. */
export function isItemTooLarge(err: unknown): boolean {
  return errorName(err) === 'ValidationException' && /item size/i.test(errorMessage(err));
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'UnprocessedItemsError',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

/**
 * An error worth retrying as is: throttling (ProvisionedThroughputExceeded, RequestLimitExceeded,
 * ThrottlingException…), a 5xx from the service (InternalServerError, ServiceUnavailable), a
 * transaction conflict, or the network (reset, timeout). Conditional check failures,
 * validation errors and missing permissions are not: retrying cannot change their answer.
 */
export function isTransientError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (TRANSIENT_NAMES.has(errorName(err))) return true;
  if (errorName(err) === 'TransactionCanceledException') {
    // cancelled by a conflict or throttling, not by one of its own conditions
    const codes = ((err as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? []).map(
      (r) => r?.Code ?? 'None',
    );
    return (
      !codes.includes('ConditionalCheckFailed') &&
      codes.some((c) => c === 'TransactionConflict' || c === 'ThrottlingError' || c === 'ProvisionedThroughputExceeded')
    );
  }
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}
