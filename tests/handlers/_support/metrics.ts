/**
 * Reads what the handlers write to stdout/stderr while `fn` runs, as Lambda would ship it to
 * CloudWatch Logs, and picks out the Embedded Metric Format documents. Every EMF document is
 * checked against the format's specification (CloudWatch "Specification: Embedded metric
 * format") before it is returned, so a malformed one fails the test that produced it.
 */
import { strict as assert } from 'node:assert';
import { BUSINESS_METRIC_UNITS, BUSINESS_NAMESPACE, STACK_DIMENSION, STACK_DIMENSION_ENV } from '../../../core/metrics';

export const TEST_STACK = 'cqrs-test';

export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[];
  };
  [key: string]: unknown;
}

export interface CapturedLogs<T> {
  result: T;
  /** Every line written, in order. */
  lines: string[];
  emf: EmfDocument[];
}

/** The EMF specification's rules, as CloudWatch Logs applies them when it extracts metrics. */
export function assertValidEmf(doc: EmfDocument): void {
  const aws = doc._aws;
  assert.ok(aws && typeof aws === 'object', '_aws object');
  assert.ok(Number.isInteger(aws.Timestamp) && aws.Timestamp > 0, '_aws.Timestamp: epoch milliseconds');
  assert.ok(Array.isArray(aws.CloudWatchMetrics) && aws.CloudWatchMetrics.length > 0, 'CloudWatchMetrics');
  for (const directive of aws.CloudWatchMetrics) {
    assert.ok(typeof directive.Namespace === 'string' && directive.Namespace.length > 0, 'Namespace');
    assert.ok(Array.isArray(directive.Dimensions), 'Dimensions is an array of dimension sets');
    for (const set of directive.Dimensions) {
      assert.ok(Array.isArray(set) && set.length <= 30, 'a dimension set holds at most 30 keys');
      for (const key of set) assert.equal(typeof doc[key], 'string', `dimension ${key} is a string member`);
    }
    assert.ok(directive.Metrics.length >= 1 && directive.Metrics.length <= 100, '1–100 metrics per directive');
    for (const m of directive.Metrics) {
      assert.ok(typeof m.Name === 'string' && m.Name.length >= 1 && m.Name.length <= 1024, 'metric Name');
      const value = doc[m.Name];
      assert.ok(typeof value === 'number' && Number.isFinite(value), `metric ${m.Name} has a numeric value`);
    }
  }
}

/** Runs `fn` with log output on (CQRS_SILENT off) and the stack dimension set (null: unset), capturing stdout and stderr. */
export async function captureLogs<T>(
  fn: () => Promise<T>,
  stack: string | null = TEST_STACK,
): Promise<CapturedLogs<T>> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const silent = process.env.CQRS_SILENT;
  const dimension = process.env[STACK_DIMENSION_ENV];
  const collect = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  process.stdout.write = collect as typeof process.stdout.write;
  process.stderr.write = collect as typeof process.stderr.write;
  delete process.env.CQRS_SILENT;
  if (stack === null) delete process.env[STACK_DIMENSION_ENV];
  else process.env[STACK_DIMENSION_ENV] = stack;
  let result: T;
  try {
    result = await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    if (silent === undefined) delete process.env.CQRS_SILENT;
    else process.env.CQRS_SILENT = silent;
    if (dimension === undefined) delete process.env[STACK_DIMENSION_ENV];
    else process.env[STACK_DIMENSION_ENV] = dimension;
  }
  const lines = chunks
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const emf: EmfDocument[] = [];
  for (const line of lines) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    if (parsed && typeof parsed === 'object' && '_aws' in parsed) {
      const doc = parsed as EmfDocument;
      assertValidEmf(doc);
      emf.push(doc);
    }
  }
  return { result, lines, emf };
}

/** The values a metric of the business namespace was published with, in order. */
export function metricValues(emf: EmfDocument[], name: string, stack: string = TEST_STACK): number[] {
  const values: number[] = [];
  for (const doc of emf) {
    for (const d of doc._aws.CloudWatchMetrics) {
      if (d.Namespace !== BUSINESS_NAMESPACE || !d.Metrics.some((m) => m.Name === name)) continue;
      assert.deepEqual(d.Dimensions, [[STACK_DIMENSION]], `${name} is published per stack`);
      assert.equal(doc[STACK_DIMENSION], stack);
      const unit = d.Metrics.find((m) => m.Name === name)?.Unit;
      assert.equal(unit, BUSINESS_METRIC_UNITS[name as keyof typeof BUSINESS_METRIC_UNITS], `${name} unit`);
      values.push(doc[name] as number);
    }
  }
  return values;
}

/** Sum of every value of a business metric (what CloudWatch's Sum statistic would show). */
export function metricSum(emf: EmfDocument[], name: string): number {
  return metricValues(emf, name).reduce((a, b) => a + b, 0);
}

/** Every business metric name that appears, sorted, with repetitions removed. */
export function metricNames(emf: EmfDocument[]): string[] {
  return [...new Set(emf.flatMap((d) => d._aws.CloudWatchMetrics.flatMap((c) => c.Metrics.map((m) => m.Name))))].sort();
}
