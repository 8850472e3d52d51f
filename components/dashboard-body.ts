/**
 * The operations dashboard's body (CloudWatch dashboard body structure): plain data built
 * from names, so it is known during a first preview and testable without AWS. Metric names
 * come from core/metrics.ts, the same constants the alarms and the handlers use.
 */
import {
  BUSINESS_NAMESPACE,
  BusinessMetric,
  LambdaMetric,
  SqsMetric,
  STACK_DIMENSION,
  StatesMetric,
} from '../core/metrics';

/** One metric line: namespace, metric name, dimension name/value pairs, then its rendering options. */
export type MetricLine = (string | MetricOptions)[];

export interface MetricOptions {
  stat?: string;
  label?: string;
  yAxis?: 'left' | 'right';
}

export interface MetricWidgetProperties {
  title: string;
  region: string;
  view: 'timeSeries';
  stacked: boolean;
  period: number;
  stat: string;
  metrics: MetricLine[];
  yAxis?: { left?: { min?: number; label?: string }; right?: { min?: number; label?: string } };
}

export interface AlarmWidgetProperties {
  title: string;
  alarms: string[];
  sortBy: 'stateUpdatedTimestamp';
}

export interface TextWidgetProperties {
  markdown: string;
}

interface Placement {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type DashboardWidget =
  | (Placement & { type: 'metric'; properties: MetricWidgetProperties })
  | (Placement & { type: 'alarm'; properties: AlarmWidgetProperties })
  | (Placement & { type: 'text'; properties: TextWidgetProperties });

export interface DashboardBody {
  start: string;
  periodOverride: 'inherit';
  widgets: DashboardWidget[];
}

export interface DashboardQueueNames {
  queueName: string;
  deadLetterQueueName: string;
}

export interface DashboardSpec {
  title: string;
  region: string;
  /** `Stack` dimension value of the business metrics. */
  stack: string;
  /** Key → state machine ARN. */
  stateMachineArns: Record<string, string>;
  /** Key → function name. */
  functionNames: Record<string, string>;
  /** Key → work queue and its DLQ. */
  queues: Record<string, DashboardQueueNames>;
  /** Key → dead-letter queue that has no work queue (stream failures). */
  deadLetterQueueNames: Record<string, string>;
  alarmArns: string[];
}

/** CloudWatch dashboards are 24 grid units wide. */
export const DASHBOARD_COLUMNS = 24;
/** An alarm status widget shows at most 100 alarms. */
const ALARMS_PER_WIDGET = 100;
const PERIOD = 300;

/** Lays widgets out left to right, wrapping at 24 columns; each row is as tall as its tallest widget. */
class Grid {
  readonly widgets: DashboardWidget[] = [];
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  add<W extends DashboardWidget>(widget: Omit<W, 'x' | 'y'>): void {
    if (this.x + widget.width > DASHBOARD_COLUMNS) this.newRow();
    this.widgets.push({ ...widget, x: this.x, y: this.y } as DashboardWidget);
    this.x += widget.width;
    this.rowHeight = Math.max(this.rowHeight, widget.height);
  }

  newRow(): void {
    if (this.x === 0) return;
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

function metricWidget(
  spec: DashboardSpec,
  title: string,
  metrics: MetricLine[],
  options: { stat?: string; width: number; height?: number; rightLabel?: string; leftLabel?: string },
): Omit<Extract<DashboardWidget, { type: 'metric' }>, 'x' | 'y'> {
  const yAxis: MetricWidgetProperties['yAxis'] = {
    left: { min: 0, ...(options.leftLabel ? { label: options.leftLabel } : {}) },
  };
  if (options.rightLabel) yAxis.right = { min: 0, label: options.rightLabel };
  return {
    type: 'metric',
    width: options.width,
    height: options.height ?? 6,
    properties: {
      title,
      region: spec.region,
      view: 'timeSeries',
      stacked: false,
      period: PERIOD,
      stat: options.stat ?? 'Sum',
      metrics,
      yAxis,
    },
  };
}

const business = (spec: DashboardSpec, metric: BusinessMetric, options: MetricOptions = {}): MetricLine => [
  BUSINESS_NAMESPACE,
  metric,
  STACK_DIMENSION,
  spec.stack,
  { label: metric, ...options },
];

function stateMachineLines(arn: string, metrics: [string, string][], options: MetricOptions = {}): MetricLine[] {
  return metrics.map(([metric, label]) => [
    StatesMetric.NAMESPACE,
    metric,
    StatesMetric.DIMENSION,
    arn,
    { label, ...options },
  ]);
}

/** The body of the operations dashboard of one stack. */
export function buildDashboardBody(spec: DashboardSpec): DashboardBody {
  const grid = new Grid();
  grid.add({
    type: 'text',
    width: DASHBOARD_COLUMNS,
    height: 2,
    properties: {
      markdown:
        `# ${spec.title}\n` +
        `Executions, queues and functions of \`${spec.stack}\`; business figures are the handlers' metrics ` +
        `(namespace \`${BUSINESS_NAMESPACE}\`, dimension \`${STACK_DIMENSION}=${spec.stack}\`).`,
    },
  });
  for (let i = 0; i < spec.alarmArns.length; i += ALARMS_PER_WIDGET) {
    grid.add({
      type: 'alarm',
      width: DASHBOARD_COLUMNS,
      height: 4,
      properties: {
        title: i === 0 ? 'Alarms' : `Alarms (${i + 1}–)`,
        alarms: spec.alarmArns.slice(i, i + ALARMS_PER_WIDGET),
        sortBy: 'stateUpdatedTimestamp',
      },
    });
  }
  grid.newRow();

  grid.add(
    metricWidget(
      spec,
      'Commands',
      [business(spec, BusinessMetric.COMMANDS_APPLIED), business(spec, BusinessMetric.COMMANDS_FAILED)],
      { width: 6 },
    ),
  );
  grid.add(
    metricWidget(
      spec,
      'Versions waiting for their predecessor',
      [
        business(spec, BusinessMetric.VERSIONS_WAITING),
        business(spec, BusinessMetric.VERSION_WAIT_TIME, { stat: 'p50', label: 'wait p50', yAxis: 'right' }),
        business(spec, BusinessMetric.VERSION_WAIT_TIME, { stat: 'p95', label: 'wait p95', yAxis: 'right' }),
      ],
      { width: 6, rightLabel: 'seconds' },
    ),
  );
  grid.add(
    metricWidget(
      spec,
      'Import rows and jobs',
      [
        business(spec, BusinessMetric.IMPORT_ROWS_SUCCEEDED),
        business(spec, BusinessMetric.IMPORT_ROWS_FAILED),
        business(spec, BusinessMetric.IMPORT_JOBS_COMPLETED, { yAxis: 'right' }),
        business(spec, BusinessMetric.IMPORT_JOBS_FAILED, { yAxis: 'right' }),
      ],
      { width: 6, leftLabel: 'rows', rightLabel: 'jobs' },
    ),
  );
  grid.add(
    metricWidget(
      spec,
      'Tasks',
      [business(spec, BusinessMetric.TASKS_COMPLETED), business(spec, BusinessMetric.TASKS_FAILED)],
      { width: 6 },
    ),
  );
  grid.newRow();

  for (const [key, arn] of Object.entries(spec.stateMachineArns)) {
    grid.add(
      metricWidget(
        spec,
        `${key}: executions`,
        stateMachineLines(arn, [
          [StatesMetric.STARTED, 'started'],
          [StatesMetric.SUCCEEDED, 'succeeded'],
          [StatesMetric.FAILED, 'failed'],
          [StatesMetric.TIMED_OUT, 'timed out'],
          [StatesMetric.ABORTED, 'aborted'],
          [StatesMetric.THROTTLED, 'throttled'],
        ]),
        { width: 8 },
      ),
    );
    grid.add(
      metricWidget(
        spec,
        `${key}: duration`,
        [
          ...stateMachineLines(arn, [[StatesMetric.EXECUTION_TIME, 'p50']], { stat: 'p50' }),
          ...stateMachineLines(arn, [[StatesMetric.EXECUTION_TIME, 'p95']], { stat: 'p95' }),
        ],
        { width: 4, stat: 'p95', leftLabel: 'ms' },
      ),
    );
  }
  grid.newRow();

  const queues = Object.entries(spec.queues);
  const queueWidth = Math.max(6, Math.floor(DASHBOARD_COLUMNS / Math.max(1, queues.length)));
  for (const [key, q] of queues) {
    grid.add(
      metricWidget(
        spec,
        `queue ${key}`,
        [
          [SqsMetric.NAMESPACE, SqsMetric.VISIBLE, SqsMetric.DIMENSION, q.queueName, { label: 'visible' }],
          [SqsMetric.NAMESPACE, SqsMetric.VISIBLE, SqsMetric.DIMENSION, q.deadLetterQueueName, { label: 'in DLQ' }],
          [
            SqsMetric.NAMESPACE,
            SqsMetric.OLDEST_AGE,
            SqsMetric.DIMENSION,
            q.queueName,
            { label: 'oldest message age', yAxis: 'right' },
          ],
        ],
        { width: queueWidth, stat: 'Maximum', leftLabel: 'messages', rightLabel: 'seconds' },
      ),
    );
  }
  const otherDlqs = Object.entries(spec.deadLetterQueueNames);
  if (otherDlqs.length > 0) {
    grid.add(
      metricWidget(
        spec,
        'other dead-letter queues',
        otherDlqs.map(([key, name]) => [
          SqsMetric.NAMESPACE,
          SqsMetric.VISIBLE,
          SqsMetric.DIMENSION,
          name,
          { label: key },
        ]),
        { width: queueWidth, stat: 'Maximum', leftLabel: 'messages' },
      ),
    );
  }
  grid.newRow();

  const functions = Object.entries(spec.functionNames);
  const perFunction = (metric: string, stat: string): MetricLine[] =>
    functions.map(([key, name]) => [
      LambdaMetric.NAMESPACE,
      metric,
      LambdaMetric.DIMENSION,
      name,
      { label: key, stat },
    ]);
  grid.add(metricWidget(spec, 'Lambda errors', perFunction(LambdaMetric.ERRORS, 'Sum'), { width: 12 }));
  grid.add(metricWidget(spec, 'Lambda throttles', perFunction(LambdaMetric.THROTTLES, 'Sum'), { width: 12 }));
  grid.add(
    metricWidget(spec, 'Lambda duration p95', perFunction(LambdaMetric.DURATION, 'p95'), {
      width: 12,
      stat: 'p95',
      leftLabel: 'ms',
    }),
  );
  grid.add(
    metricWidget(spec, 'Lambda concurrent executions', perFunction(LambdaMetric.CONCURRENT_EXECUTIONS, 'Maximum'), {
      width: 12,
      stat: 'Maximum',
    }),
  );

  return { start: '-PT6H', periodOverride: 'inherit', widgets: grid.widgets };
}
