/**
 * An Amazon States Language definition as a Graphviz graph, drawn the way the Step
 * Functions console draws it: one node per state (its type, name and the limits that
 * matter: MaxConcurrency, TimeoutSeconds, HeartbeatSeconds …), `Next` and Choice edges
 * solid, `Default` labelled, Catch edges dashed and labelled with their error names, and
 * Map and Parallel bodies nested in a box under the state that runs them. Graphviz does
 * the layout; this module only says what is connected to what.
 */
import type {
  Catcher,
  ChoiceCondition,
  ChoiceRule,
  NestedStateMachine,
  State,
  StateMachineDefinition,
} from '../../components/asl/types';

export const STATE_TYPES = ['Task', 'Choice', 'Map', 'Parallel', 'Wait', 'Pass', 'Succeed', 'Fail'] as const;

/** What the page and the tests need to find a state in the SVG. */
export interface GraphState {
  name: string;
  type: State['Type'];
  /** JSON pointer of the state in the definition. */
  path: string;
  /** Graphviz node name; it becomes the `<title>` of the node's `<g>` in the SVG. */
  nodeName: string;
  /** The SVG `id` of the node's `<g>`. */
  svgId: string;
}

export interface MachineGraph {
  dot: string;
  states: GraphState[];
}

const FONT = 'Helvetica,Arial,sans-serif';

/** Fill and stroke per state type (close to the console's palette). */
const STYLE: Record<State['Type'], { fill: string; stroke: string }> = {
  Task: { fill: '#e8f1fb', stroke: '#2e73b8' },
  Choice: { fill: '#fff4e0', stroke: '#c77c02' },
  Map: { fill: '#f1e9fb', stroke: '#7d3cb5' },
  Parallel: { fill: '#f1e9fb', stroke: '#7d3cb5' },
  Wait: { fill: '#eef0f2', stroke: '#5f6b7a' },
  Pass: { fill: '#edf7ee', stroke: '#3b8a44' },
  Succeed: { fill: '#e3f6e5', stroke: '#1e7b34' },
  Fail: { fill: '#fdecea', stroke: '#c0392b' },
};
const EDGE = '#5f6b7a';
const CATCH = '#c0392b';

/** A quoted DOT string. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** Text inside an HTML-like label. */
function h(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attrs(a: Record<string, string | number | undefined>): string {
  const parts = Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) =>
      k === 'label' && typeof v === 'string' && v.startsWith('<') ? `${k}=${v}` : `${k}=${q(String(v))}`,
    );
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

function shorten(s: string, max = 42): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** A state's label: type on top, name in bold, then its details, one per line. */
function label(type: string, name: string, details: string[], color: string): string {
  const rows = [
    `<TR><TD><FONT POINT-SIZE="8" COLOR="${color}">${h(type.toUpperCase())}</FONT></TD></TR>`,
    `<TR><TD><B>${h(name)}</B></TD></TR>`,
    ...details.map((d) => `<TR><TD><FONT POINT-SIZE="8" COLOR="#4a5562">${h(d)}</FONT></TD></TR>`),
  ];
  return `<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">${rows.join('')}</TABLE>>`;
}

function functionName(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return undefined;
  const m = /:function:([^:]+)/.exec(arn);
  return m ? m[1] : arn;
}

/** What a Task calls, in the console's words: "Lambda invoke", "wait for callback", "SNS publish" … */
function taskDetails(state: Extract<State, { Type: 'Task' }>): string[] {
  const out: string[] = [];
  const m = /^arn:[^:]+:states:::([^:]+):([^.]+)(?:\.(\w+))?$/.exec(state.Resource);
  const params = (state.Parameters ?? {}) as Record<string, unknown>;
  if (m) {
    const [, service, action, pattern] = m;
    const target = service === 'lambda' ? functionName(params.FunctionName ?? params['FunctionName.$']) : undefined;
    out.push(service === 'lambda' && target ? `λ ${shorten(target, 34)}` : `${service}:${action}`);
    if (pattern === 'waitForTaskToken') out.push('waits for a callback (task token)');
    else if (pattern === 'sync' || pattern?.startsWith('sync')) out.push('waits for the job to finish (.sync)');
  } else if (state.Resource.includes(':activity:')) out.push('Activity');
  else out.push(shorten(functionName(state.Resource) ?? state.Resource, 40));
  const limits: string[] = [];
  if (state.TimeoutSeconds !== undefined) limits.push(`TimeoutSeconds ${state.TimeoutSeconds}`);
  if (state.TimeoutSecondsPath) limits.push(`TimeoutSecondsPath ${state.TimeoutSecondsPath}`);
  if (state.HeartbeatSeconds !== undefined) limits.push(`HeartbeatSeconds ${state.HeartbeatSeconds}`);
  if (state.HeartbeatSecondsPath) limits.push(`HeartbeatSecondsPath ${state.HeartbeatSecondsPath}`);
  out.push(...limits);
  out.push(...retryDetails(state.Retry));
  return out;
}

function retryDetails(retry: { MaxAttempts?: number }[] | undefined): string[] {
  if (!retry?.length) return [];
  const attempts = retry.map((r) => r.MaxAttempts ?? 3).join('/');
  return [`Retry ${retry.length === 1 ? 'rule' : 'rules'}: ×${attempts}`];
}

function mapDetails(state: Extract<State, { Type: 'Map' }>): string[] {
  const out: string[] = [];
  out.push(
    state.MaxConcurrency === undefined ? 'MaxConcurrency unset (unlimited)' : `MaxConcurrency ${state.MaxConcurrency}`,
  );
  if (state.ItemReader) {
    const reader = /:::(.+)$/.exec(state.ItemReader.Resource)?.[1] ?? state.ItemReader.Resource;
    const type = state.ItemReader.ReaderConfig?.InputType;
    out.push(`items from ${reader}${type ? ` (${type})` : ''}`);
  } else if (state.ItemsPath) out.push(`items ${state.ItemsPath}`);
  const b = state.ItemBatcher;
  if (b) {
    const parts = [
      b.MaxItemsPerBatch !== undefined ? `≤ ${b.MaxItemsPerBatch} items` : '',
      b.MaxInputBytesPerBatch !== undefined ? `≤ ${b.MaxInputBytesPerBatch} bytes` : '',
    ].filter(Boolean);
    out.push(`batches of ${parts.join(', ')}`);
  }
  if (state.ToleratedFailurePercentage !== undefined)
    out.push(`tolerates ${state.ToleratedFailurePercentage} % failures`);
  if (state.ToleratedFailureCount !== undefined) out.push(`tolerates ${state.ToleratedFailureCount} failures`);
  if (state.ResultWriter) out.push(`results to ${/:::(.+)$/.exec(state.ResultWriter.Resource)?.[1] ?? 'S3'}`);
  out.push(...retryDetails(state.Retry));
  return out;
}

function conditionText(rule: ChoiceCondition & { Next?: string }): string {
  const c = { ...rule };
  delete c.Next;
  if ('And' in c) return c.And.map(conditionText).join(' and ');
  if ('Or' in c) return c.Or.map(conditionText).join(' or ');
  if ('Not' in c) return `not (${conditionText(c.Not)})`;
  const { Variable, ...ops } = c;
  const [op, value] = Object.entries(ops)[0] ?? ['?', ''];
  const symbols: Record<string, string> = {
    NumericEquals: '==',
    StringEquals: '==',
    BooleanEquals: '==',
    NumericLessThan: '<',
    NumericGreaterThan: '>',
    NumericLessThanEquals: '≤',
    NumericGreaterThanEquals: '≥',
    StringMatches: 'matches',
  };
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  if (op in symbols) return `${Variable} ${symbols[op]} ${shown}`;
  return `${Variable} ${op}${value === true ? '' : ` ${shown}`}`;
}

function catchLabel(c: Catcher): string {
  return c.ErrorEquals.join(',\n');
}

interface Scope {
  /** Where a state with End: true (and Succeed/Fail) goes. */
  exit: string;
  /** Arrow style into the exit: the top level ends at "End", a nested body at its join point. */
  nested: boolean;
  /**
   * Edges into the exit, written after a Parallel branch's box is closed: an edge statement
   * inside a subgraph makes both of its nodes members of that subgraph's box.
   */
  deferred?: string[];
}

class GraphBuilder {
  private readonly lines: string[] = [];
  readonly states: GraphState[] = [];
  private readonly nodeNames = new Map<string, string>();
  private clusters = 0;
  private edges = 0;
  private indent = '  ';

  constructor(private readonly key: string) {}

  /** Node names are the state names (Graphviz writes them as each node's title), made unique if a name repeats. */
  assignNames(definition: NestedStateMachine): void {
    const seen = new Map<string, number>();
    const visit = (m: NestedStateMachine, base: string) => {
      for (const [name, state] of Object.entries(m.States)) {
        const path = `${base}/States/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const n = seen.get(name) ?? 0;
        seen.set(name, n + 1);
        this.nodeNames.set(path, n === 0 ? name : `${name} (${path})`);
        if (state.Type === 'Map') {
          const body = state.ItemProcessor ?? state.Iterator;
          if (body) visit(body, `${path}/${state.ItemProcessor ? 'ItemProcessor' : 'Iterator'}`);
        } else if (state.Type === 'Parallel') state.Branches.forEach((b, i) => visit(b, `${path}/Branches/${i}`));
      }
    };
    visit(definition, '');
  }

  line(s: string): void {
    this.lines.push(this.indent + s);
  }

  edge(from: string, to: string, a: Record<string, string | number | undefined>, deferred?: string[]): void {
    this.edges += 1;
    const statement = `${q(from)} -> ${q(to)}${attrs({ id: `${this.key}-edge-${this.edges}`, ...a })};`;
    if (deferred) deferred.push(statement);
    else this.line(statement);
  }

  machine(m: NestedStateMachine, base: string, scope: Scope): void {
    const names = (name: string) =>
      this.nodeNames.get(`${base}/States/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`) ?? name;
    for (const [name, state] of Object.entries(m.States)) {
      const path = `${base}/States/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const nodeName = names(name);
      const svgId = `${this.key}-state-${this.states.length + 1}`;
      this.states.push({ name, type: state.Type, path, nodeName, svgId });
      const style = STYLE[state.Type];
      const node = (details: string[], extra: Record<string, string> = {}) =>
        this.line(
          `${q(nodeName)}${attrs({
            id: svgId,
            class: `state state-${state.Type.toLowerCase()}`,
            label: label(
              state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED'
                ? `Distributed Map · ${state.ItemProcessor.ProcessorConfig.ExecutionType}`
                : state.Type,
              name,
              details,
              style.stroke,
            ),
            fillcolor: style.fill,
            color: style.stroke,
            tooltip: `${state.Type} ${name}${state.Comment ? ` — ${state.Comment}` : ''}`,
            ...extra,
          })};`,
        );
      const next = (target: string | undefined) => (target === undefined ? undefined : names(target));
      let exitFrom = nodeName;

      if (state.Type === 'Map' || state.Type === 'Parallel') {
        this.clusters += 1;
        const cluster = `cluster_${this.key}_${this.clusters}`;
        const join = `${nodeName} ⟂`;
        this.line(`subgraph ${q(cluster)} {`);
        const outer = this.indent;
        this.indent += '  ';
        this.line(
          `graph${attrs({ id: `${this.key}-container-${this.clusters}`, class: `container container-${state.Type.toLowerCase()}`, label: '', style: 'rounded,filled', fillcolor: '#faf7fe', color: style.stroke, penwidth: 1 })};`,
        );
        node(
          state.Type === 'Map'
            ? mapDetails(state)
            : [`${state.Branches.length} branches`, ...retryDetails(state.Retry)],
        );
        this.line(
          `${q(join)}${attrs({ id: `${svgId}-join`, class: 'join', shape: 'point', width: 0.07, color: style.stroke, tooltip: `end of ${name}` })};`,
        );
        const bodies =
          state.Type === 'Map'
            ? [
                {
                  body: state.ItemProcessor ?? state.Iterator,
                  base: `${path}/${state.ItemProcessor ? 'ItemProcessor' : 'Iterator'}`,
                  title: '',
                },
              ]
            : state.Branches.map((b, i) => ({ body: b, base: `${path}/Branches/${i}`, title: `branch ${i + 1}` }));
        for (const { body, base: bodyBase, title } of bodies) {
          if (!body) continue;
          if (title) {
            this.clusters += 1;
            this.line(`subgraph ${q(`cluster_${this.key}_${this.clusters}`)} {`);
            this.indent += '  ';
            this.line(
              `graph${attrs({ id: `${this.key}-container-${this.clusters}`, class: 'container container-branch', label: title, fontsize: 9, fontcolor: '#4a5562', style: 'rounded,dashed', color: '#b9a3d6', fillcolor: 'none' })};`,
            );
          }
          const deferred: string[] = [];
          this.machine(body, bodyBase, { exit: join, nested: true, deferred });
          if (title) {
            this.indent = this.indent.slice(2);
            this.line('}');
          }
          for (const statement of deferred) this.line(statement);
          this.edge(
            nodeName,
            this.nodeNames.get(`${bodyBase}/States/${body.StartAt.replace(/~/g, '~0').replace(/\//g, '~1')}`) ??
              body.StartAt,
            {
              class: 'edge-iterate',
              color: style.stroke,
              style: 'bold',
            },
          );
        }
        this.indent = outer;
        this.line('}');
        exitFrom = join;
      } else if (state.Type === 'Task') node(taskDetails(state));
      else if (state.Type === 'Choice')
        node([`${state.Choices.length} ${state.Choices.length === 1 ? 'rule' : 'rules'}`]);
      else if (state.Type === 'Wait') {
        const what =
          state.Seconds !== undefined
            ? `Seconds ${state.Seconds}`
            : state.SecondsPath
              ? `SecondsPath ${state.SecondsPath}`
              : state.Timestamp
                ? `until ${state.Timestamp}`
                : `until ${state.TimestampPath ?? '?'}`;
        node([what]);
      } else if (state.Type === 'Fail')
        node([
          state.Error
            ? `Error ${state.Error}`
            : state.ErrorPath
              ? `ErrorPath ${state.ErrorPath}`
              : 'fails the execution',
        ]);
      else node([]);

      // transitions
      if (state.Type === 'Choice') {
        state.Choices.forEach((rule: ChoiceRule) => {
          this.edge(nodeName, names(rule.Next), {
            class: 'edge-choice',
            label: shorten(conditionText(rule), 36),
            color: EDGE,
            fontcolor: '#4a5562',
          });
        });
        if (state.Default)
          this.edge(nodeName, names(state.Default), {
            class: 'edge-default',
            label: 'Default',
            color: EDGE,
            fontcolor: '#4a5562',
            style: 'bold',
          });
      } else if (state.Type === 'Succeed' || state.Type === 'Fail') {
        this.edge(
          nodeName,
          scope.exit,
          { class: 'edge-end', color: '#9aa5b1', arrowhead: scope.nested ? 'none' : 'normal' },
          scope.deferred,
        );
      } else {
        const t = state as { Next?: string; End?: boolean };
        if (t.Next !== undefined) this.edge(exitFrom, next(t.Next)!, { class: 'edge-next', color: EDGE });
        else
          this.edge(
            exitFrom,
            scope.exit,
            { class: 'edge-end', color: '#9aa5b1', arrowhead: scope.nested ? 'none' : 'normal' },
            scope.deferred,
          );
      }
      const catches = 'Catch' in state ? (state.Catch ?? []) : [];
      for (const c of catches) {
        this.edge(exitFrom, names(c.Next), {
          class: 'edge-catch',
          style: 'dashed',
          color: CATCH,
          fontcolor: CATCH,
          label: catchLabel(c),
          tooltip: `Catch ${c.ErrorEquals.join(', ')} → ${c.Next}${c.ResultPath !== undefined ? ` (ResultPath ${String(c.ResultPath)})` : ''}`,
        });
      }
    }
  }

  build(definition: StateMachineDefinition, title: string): string {
    this.assignNames(definition);
    const start = '⟨start⟩';
    const end = '⟨end⟩';
    const heading = [
      title,
      definition.TimeoutSeconds !== undefined ? `TimeoutSeconds ${definition.TimeoutSeconds}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    this.lines.push(`digraph ${q(this.key)} {`);
    this.line(
      `graph${attrs({ id: `${this.key}-graph`, class: 'machine', rankdir: 'TB', fontname: FONT, fontsize: 12, labelloc: 't', label: heading, bgcolor: 'white', nodesep: 0.3, ranksep: 0.42, pad: 0.2 })};`,
    );
    this.line(
      `node${attrs({ fontname: FONT, fontsize: 11, shape: 'box', style: 'rounded,filled', penwidth: 1.2, margin: '0.26,0.06' })};`,
    );
    this.line(`edge${attrs({ fontname: FONT, fontsize: 8, arrowsize: 0.7, penwidth: 1.1 })};`);
    this.line(
      `${q(start)}${attrs({ id: `${this.key}-start`, class: 'terminal', shape: 'circle', label: 'Start', fontsize: 9, width: 0.5, fixedsize: 'true', style: 'filled', fillcolor: '#ffffff', color: '#5f6b7a' })};`,
    );
    this.line(
      `${q(end)}${attrs({ id: `${this.key}-end`, class: 'terminal', shape: 'circle', label: 'End', fontsize: 9, width: 0.5, fixedsize: 'true', style: 'filled', fillcolor: '#ffffff', color: '#5f6b7a' })};`,
    );
    this.edge(start, this.nodeNames.get(`/States/${definition.StartAt}`) ?? definition.StartAt, {
      class: 'edge-start',
      color: EDGE,
    });
    this.machine(definition, '', { exit: end, nested: false });
    this.lines.push('}');
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * The DOT source of one state machine. `key` names the machine in SVG ids (`<key>-state-<n>`),
 * so several machines can live in one page; `title` is drawn above the graph.
 */
export function definitionToGraph(key: string, definition: StateMachineDefinition, title = key): MachineGraph {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error(`machine key "${key}" must be letters, digits, '-' or '_'`);
  const builder = new GraphBuilder(key);
  const dot = builder.build(definition, title);
  return { dot, states: builder.states };
}
