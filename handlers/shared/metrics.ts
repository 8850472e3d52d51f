/**
 * Business metrics in CloudWatch's Embedded Metric Format (EMF): one JSON line on stdout per
 * call, which CloudWatch Logs turns into metrics of namespace `CqrsWorkflows`, dimension
 * `Stack` (the deployment's name prefix). No SDK call, no permission beyond writing logs.
 * The names and units are the ones in core/metrics.ts, which the dashboard and alarms read.
 */
import {
  BUSINESS_METRIC_UNITS,
  BUSINESS_NAMESPACE,
  BusinessMetric,
  STACK_DIMENSION,
  STACK_DIMENSION_ENV,
} from '../../core/metrics';
import { ImportRowType, ImportStatus, isTerminal, TaskStatus } from '../../core/status';

export type MetricValues = Partial<Record<BusinessMetric, number>>;

/**
 * Writes one EMF document. Straight to stdout, not through console.log: with Lambda's JSON
 * log format the runtime wraps console output in its own record (the document would become
 * a string in "message" and never be extracted), while a JSON line written to stdout is kept
 * as the object CloudWatch Logs reads. Never throws: a metric must not fail the step it counts.
 */
export function putMetrics(values: MetricValues, properties: Record<string, string | number> = {}): void {
  if (process.env.CQRS_SILENT) return;
  const metrics = (Object.entries(values) as [BusinessMetric, number][]).filter(([, v]) => Number.isFinite(v));
  if (metrics.length === 0) return;
  try {
    const stack = process.env[STACK_DIMENSION_ENV]?.trim();
    const doc: Record<string, unknown> = {
      ...properties,
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: BUSINESS_NAMESPACE,
            // Without the variable (a function deployed by other means) the figures still
            // reach CloudWatch, as dimensionless metrics.
            Dimensions: stack ? [[STACK_DIMENSION]] : [[]],
            Metrics: metrics.map(([name]) => ({ Name: name, Unit: BUSINESS_METRIC_UNITS[name] })),
          },
        ],
      },
      ...(stack ? { [STACK_DIMENSION]: stack } : {}),
    };
    for (const [name, value] of metrics) doc[name] = value;
    process.stdout.write(`${JSON.stringify(doc)}\n`);
  } catch {
    // stdout closed or a value JSON cannot hold: the metric is lost, the step goes on
  }
}

/** Whole seconds from an ISO timestamp until now; undefined when it is missing or unreadable. */
export function secondsSince(iso: unknown, now = Date.now()): number | undefined {
  const start = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isFinite(start) ? Math.max(0, Math.round((now - start) / 1000)) : undefined;
}

/** The call sites below say what happened; each is made only by the call that changed the row. */
export const metrics = {
  commandApplied(): void {
    putMetrics({ [BusinessMetric.COMMANDS_APPLIED]: 1 });
  },
  commandFailed(): void {
    putMetrics({ [BusinessMetric.COMMANDS_FAILED]: 1 });
  },
  versionWaiting(): void {
    putMetrics({ [BusinessMetric.VERSIONS_WAITING]: 1 });
  },
  /** `waitingSince` is the command row's (set when the version first waited). */
  versionWaitEnded(waitingSince: unknown, endedBy: string): void {
    const seconds = secondsSince(waitingSince);
    if (seconds !== undefined) putMetrics({ [BusinessMetric.VERSION_WAIT_TIME]: seconds }, { endedBy });
  },
  /** `previousStatus` is the row's status before this call ended it; a job that had already ended counts nothing. */
  taskEnded(status: string, previousStatus: unknown): void {
    if (isTerminal(previousStatus) || !isTerminal(status)) return;
    putMetrics({ [status === TaskStatus.COMPLETED ? BusinessMetric.TASKS_COMPLETED : BusinessMetric.TASKS_FAILED]: 1 });
  },
  /** Rows are counted for CSV jobs only: a ZIP job's rows are its CSV children's. */
  importJobEnded(job: { type?: unknown; status?: unknown; succeededRows?: unknown; failedRows?: unknown }): void {
    if (!isTerminal(job.status)) return;
    const values: MetricValues = {
      [job.status === ImportStatus.COMPLETED
        ? BusinessMetric.IMPORT_JOBS_COMPLETED
        : BusinessMetric.IMPORT_JOBS_FAILED]: 1,
    };
    if (job.type === ImportRowType.CSV_JOB) {
      values[BusinessMetric.IMPORT_ROWS_SUCCEEDED] = Number(job.succeededRows ?? 0);
      values[BusinessMetric.IMPORT_ROWS_FAILED] = Number(job.failedRows ?? 0);
    }
    putMetrics(values, { jobType: String(job.type) });
  },
};
