/**
 * The operations dashboard of each stack, synthesized under Pulumi mocks: a valid dashboard
 * body that names only metrics defined in core/metrics.ts and only resources of the stack,
 * charts every machine, function and queue, shows every alarm, and is known during a first
 * preview. Structure checks follow CloudWatch's dashboard body reference (24-column grid,
 * metric arrays `[namespace, name, dimension, value, …, {options}]`).
 */
import { strict as assert } from 'node:assert';
import { buildDashboardBody, DASHBOARD_COLUMNS, type DashboardBody } from '../../components/dashboard-body';
import { CqrsWorkflows } from '../../components/cqrs-workflows';
import {
  BUSINESS_NAMESPACE,
  BusinessMetric,
  LambdaMetric,
  SqsMetric,
  STACK_DIMENSION,
  StatesMetric,
} from '../../core/metrics';
import { readStackConfig, UNKNOWN, type SynthResource } from '../../scripts/synth/run-program';
import { runProgram } from '../../program';
import { ofType, ROOT, synthProgram, synthStack, T } from '../support/synth';

const DASHBOARD = 'aws:cloudwatch/dashboard:Dashboard';

/** Every metric the project defines, by namespace, with the one dimension each is published with. */
const KNOWN: Record<string, { dimension: string; metrics: string[] }> = {
  [BUSINESS_NAMESPACE]: { dimension: STACK_DIMENSION, metrics: Object.values(BusinessMetric) },
  [StatesMetric.NAMESPACE]: {
    dimension: StatesMetric.DIMENSION,
    metrics: [
      StatesMetric.STARTED,
      StatesMetric.SUCCEEDED,
      StatesMetric.FAILED,
      StatesMetric.TIMED_OUT,
      StatesMetric.ABORTED,
      StatesMetric.THROTTLED,
      StatesMetric.EXECUTION_TIME,
    ],
  },
  [LambdaMetric.NAMESPACE]: {
    dimension: LambdaMetric.DIMENSION,
    metrics: [LambdaMetric.ERRORS, LambdaMetric.THROTTLES, LambdaMetric.DURATION, LambdaMetric.CONCURRENT_EXECUTIONS],
  },
  [SqsMetric.NAMESPACE]: { dimension: SqsMetric.DIMENSION, metrics: [SqsMetric.VISIBLE, SqsMetric.OLDEST_AGE] },
};

interface MetricRef {
  widget: string;
  namespace: string;
  metric: string;
  dimensions: Record<string, string>;
  options: Record<string, unknown>;
}

/** Checks the body's structure and returns every metric it charts. */
function parseBody(text: unknown): { body: DashboardBody; metrics: MetricRef[]; alarms: string[] } {
  assert.equal(typeof text, 'string', 'dashboardBody must be a known JSON string');
  const body = JSON.parse(text as string) as DashboardBody;
  assert.ok(Array.isArray(body.widgets) && body.widgets.length > 0, 'widgets');
  assert.ok(Buffer.byteLength(text as string) < 1_000_000, 'a dashboard body is at most 1 MB');
  assert.ok(body.widgets.length <= 500, 'a dashboard has at most 500 widgets');
  const cells = new Set<string>();
  const metrics: MetricRef[] = [];
  const alarms: string[] = [];
  for (const w of body.widgets) {
    const where = `${w.type} widget at ${w.x},${w.y}`;
    for (const n of [w.x, w.y, w.width, w.height]) assert.ok(Number.isInteger(n) && n >= 0, `${where}: placement`);
    assert.ok(w.width >= 1 && w.x + w.width <= DASHBOARD_COLUMNS, `${where}: inside the 24-column grid`);
    for (let x = w.x; x < w.x + w.width; x++) {
      for (let y = w.y; y < w.y + w.height; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${where} overlaps another widget`);
        cells.add(`${x},${y}`);
      }
    }
    if (w.type === 'text') {
      assert.equal(typeof w.properties.markdown, 'string');
      continue;
    }
    if (w.type === 'alarm') {
      assert.ok(w.properties.alarms.length >= 1 && w.properties.alarms.length <= 100, `${where}: 1–100 alarms`);
      alarms.push(...w.properties.alarms);
      continue;
    }
    assert.equal(w.type, 'metric', `${where}: unknown widget type`);
    const p = w.properties;
    assert.ok(p.title && p.region && p.period > 0 && p.stat, `${where}: title, region, period, stat`);
    assert.equal(p.period % 60, 0, `${where}: period is a multiple of 60`);
    assert.ok(p.metrics.length >= 1 && p.metrics.length <= 500, `${where}: 1–500 metrics`);
    for (const line of p.metrics) {
      const last = line[line.length - 1];
      const options = typeof last === 'object' ? (last as Record<string, unknown>) : {};
      const parts = (typeof last === 'object' ? line.slice(0, -1) : line) as string[];
      assert.ok(
        parts.every((x) => typeof x === 'string' && x !== ''),
        `${p.title}: metric line of strings`,
      );
      assert.ok(parts.length >= 2 && parts.length % 2 === 0, `${p.title}: namespace, name, then dimension pairs`);
      const dimensions: Record<string, string> = {};
      for (let i = 2; i < parts.length; i += 2) dimensions[parts[i]] = parts[i + 1];
      metrics.push({ widget: p.title, namespace: parts[0], metric: parts[1], dimensions, options });
    }
  }
  return { body, metrics, alarms };
}

for (const stack of ['dev', 'prod']) {
  describe(`operations dashboard of ${stack}`, () => {
    const prefix = `cqrs-${stack}`;
    let resources: SynthResource[];
    let parsed: ReturnType<typeof parseBody>;

    before(async () => {
      const result = await synthStack(stack);
      assert.deepEqual(
        result.errors.map((e) => e.message),
        [],
      );
      resources = result.resources;
      const dashboards = ofType(resources, DASHBOARD);
      assert.equal(dashboards.length, 1, 'one dashboard per stack');
      assert.equal(dashboards[0].inputs.dashboardName, `${prefix}-operations`);
      parsed = parseBody(dashboards[0].inputs.dashboardBody);
    });

    it('names only metrics defined in core/metrics.ts, each with its own dimension', () => {
      for (const m of parsed.metrics) {
        const known = KNOWN[m.namespace];
        assert.ok(known, `${m.widget}: unknown namespace ${m.namespace}`);
        assert.ok(known.metrics.includes(m.metric), `${m.widget}: ${m.namespace} ${m.metric} is not defined`);
        assert.deepEqual(Object.keys(m.dimensions), [known.dimension], `${m.widget}: ${m.metric} dimensions`);
      }
    });

    it('names only resources of this stack, in its region and account', () => {
      const names = (type: string) => new Set(ofType(resources, type).map((r) => String(r.inputs.name)));
      const machines = names(T.stateMachine);
      const functions = names(T.lambda);
      const queues = names(T.queue);
      for (const m of parsed.metrics) {
        const value = Object.values(m.dimensions)[0];
        if (m.namespace === BUSINESS_NAMESPACE) assert.equal(value, prefix, `${m.widget}: Stack dimension`);
        else if (m.namespace === StatesMetric.NAMESPACE) {
          const match = /^arn:aws:states:([a-z0-9-]+):123456789012:stateMachine:(.+)$/.exec(value);
          assert.ok(match && machines.has(match[2]), `${m.widget}: ${value} is not a state machine of the stack`);
        } else if (m.namespace === LambdaMetric.NAMESPACE)
          assert.ok(functions.has(value), `${m.widget}: ${value} is not a function of the stack`);
        else assert.ok(queues.has(value), `${m.widget}: ${value} is not a queue of the stack`);
      }
      const stackAlarms = new Set(ofType(resources, T.alarm).map((a) => String(a.inputs.name)));
      for (const arn of parsed.alarms) {
        const name = /^arn:aws:cloudwatch:[a-z0-9-]+:123456789012:alarm:(.+)$/.exec(arn)?.[1];
        assert.ok(name && stackAlarms.has(name), `${arn} is not an alarm of the stack`);
      }
    });

    it('charts every state machine, function and queue, every business metric, and shows every alarm', () => {
      const charted = (namespace: string) =>
        new Set(parsed.metrics.filter((m) => m.namespace === namespace).map((m) => Object.values(m.dimensions)[0]));
      const machineArns = charted(StatesMetric.NAMESPACE);
      for (const m of ofType(resources, T.stateMachine)) {
        assert.ok(
          [...machineArns].some((a) => a.endsWith(`:stateMachine:${String(m.inputs.name)}`)),
          String(m.inputs.name),
        );
      }
      assert.deepEqual(
        [...charted(LambdaMetric.NAMESPACE)].sort(),
        ofType(resources, T.lambda)
          .map((l) => String(l.inputs.name))
          .sort(),
      );
      assert.deepEqual(
        [...charted(SqsMetric.NAMESPACE)].sort(),
        ofType(resources, T.queue)
          .map((q) => String(q.inputs.name))
          .sort(),
      );
      assert.deepEqual(
        [...new Set(parsed.metrics.filter((m) => m.namespace === BUSINESS_NAMESPACE).map((m) => m.metric))].sort(),
        Object.values(BusinessMetric).sort(),
      );
      const alarmNames = parsed.alarms.map((a) => a.split(':alarm:')[1]).sort();
      assert.deepEqual(
        alarmNames,
        ofType(resources, T.alarm)
          .map((a) => String(a.inputs.name))
          .sort(),
      );
    });

    it('charts what each alarm watches, under the same metric name', () => {
      for (const alarm of ofType(resources, T.alarm)) {
        const dims = alarm.inputs.dimensions as Record<string, string>;
        const [dimension, value] = Object.entries(dims)[0];
        const seen = parsed.metrics.some(
          (m) =>
            m.namespace === alarm.inputs.namespace &&
            m.metric === alarm.inputs.metricName &&
            m.dimensions[dimension] === value,
        );
        assert.ok(seen, `alarm ${String(alarm.inputs.name)} (${String(alarm.inputs.metricName)}) is not charted`);
      }
    });

    it('is known during a first preview with every resource output unknown', async () => {
      const result = await synthStack(stack, { preview: true, unknownOutputs: true });
      const [dashboard] = ofType(result.resources, DASHBOARD);
      assert.equal(typeof dashboard.inputs.dashboardBody, 'string');
      assert.ok(!(dashboard.inputs.dashboardBody as string).includes(UNKNOWN));
      parseBody(dashboard.inputs.dashboardBody);
    });
  });
}

describe('operations dashboard switch', () => {
  it('the stack setting dashboard=false leaves it out (and the stack output empty)', async () => {
    const config = { ...readStackConfig(ROOT, 'dev'), 'cqrs-workflows:dashboard': 'false' };
    const result = await synthProgram('dev', runProgram, { config });
    assert.deepEqual(
      result.errors.map((e) => e.message),
      [],
    );
    assert.equal(ofType(result.resources, DASHBOARD).length, 0);
    assert.ok(ofType(result.resources, T.alarm).length > 0, 'the alarms stay');
  });

  it('the component argument dashboard: false leaves it out', async () => {
    const result = await synthProgram('dev', () => new CqrsWorkflows('x', { prefix: 'nodash', dashboard: false }), {
      config: { 'aws:region': 'eu-west-1' },
    });
    assert.deepEqual(
      result.errors.map((e) => e.message),
      [],
    );
    assert.equal(ofType(result.resources, DASHBOARD).length, 0);
    assert.equal(
      ofType(result.resources, T.stateMachine).length,
      5,
      'command, command-wait, task, import-csv, import-zip',
    );
  });

  it('lays out any number of machines, functions and queues inside the grid, alarms 100 per widget', () => {
    const many = (n: number, f: (i: number) => string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, f(i)]));
    const body = buildDashboardBody({
      title: 't',
      region: 'eu-west-1',
      stack: 's',
      stateMachineArns: many(5, (i) => `arn:aws:states:eu-west-1:1:stateMachine:m${i}`),
      functionNames: many(30, (i) => `f${i}`),
      queues: Object.fromEntries(
        Array.from({ length: 7 }, (_, i) => [`q${i}`, { queueName: `q${i}`, deadLetterQueueName: `q${i}-dlq` }]),
      ),
      deadLetterQueueNames: { other: 'other-dlq' },
      alarmArns: Array.from({ length: 150 }, (_, i) => `arn:aws:cloudwatch:eu-west-1:1:alarm:a${i}`),
    });
    const parsed = parseBody(JSON.stringify(body));
    assert.equal(parsed.alarms.length, 150);
    assert.equal(body.widgets.filter((w) => w.type === 'alarm').length, 2);
  });
});
