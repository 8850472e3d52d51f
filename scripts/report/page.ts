/**
 * The stack report: one self-contained HTML page (inline CSS, inline SVG, no script, a
 * Content-Security-Policy that forbids every fetch) with the stack outputs, each state
 * machine drawn, the Lambda bundles, the policy results and the resources by component.
 */
import type { GraphState } from './asl-graph';
import { inlineSvg } from './render-svg';

export interface ReportResource {
  type: string;
  name: string;
  urn: string;
  parent?: string;
  protect: boolean;
  custom: boolean;
  inputs: Record<string, unknown>;
}

export interface ReportBundle {
  functionName: string;
  bytes: number;
  gzipBytes: number;
}

export interface ReportMachine {
  /** Physical name; also the section's `data-machine`. */
  name: string;
  type: string;
  /** Graphviz SVG; undefined when the definition is unknown (a first preview). */
  svg?: string;
  states: GraphState[];
  /** Machine-level TimeoutSeconds, if any. */
  timeoutSeconds?: number;
  comment?: string;
}

export interface ReportPolicy {
  name: string;
  description: string;
  enforcementLevel: string;
  /** Resources the policy judged (applicable ones). */
  checked: number;
  violations: { resource: string; type: string; message: string; enforcementLevel: string }[];
}

export interface ReportData {
  project: string;
  stack: string;
  mode: string;
  /** Stack outputs; the engine's unknown sentinel where a value is unknown. */
  outputs: Record<string, unknown>;
  unknownSentinel: string;
  resources: ReportResource[];
  bundles: ReportBundle[];
  machines: ReportMachine[];
  policies: ReportPolicy[];
  /** Graphviz version that laid the machines out. */
  layoutEngine: string;
}

function e(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

/** `aws:lambda/function:Function` → `lambda Function`; component tokens keep their class name. */
function shortType(type: string): string {
  const aws = /^aws:([^/]+)\/[^:]+:(.+)$/.exec(type);
  if (aws) return `${aws[1]} ${aws[2]}`;
  const comp = /^[^:]+:index:(.+)$/.exec(type);
  return comp ? comp[1] : type;
}

function physicalName(r: ReportResource): string {
  for (const key of ['name', 'bucket', 'dashboardName']) {
    const v = r.inputs[key];
    if (typeof v === 'string') return v;
  }
  return '';
}

function outputValue(value: unknown, unknown: string): string {
  if (value === unknown) return '<span class="muted">known after deploy</span>';
  if (value === undefined || value === null) return '<span class="muted">—</span>';
  if (typeof value === 'object') return `<pre>${e(JSON.stringify(value, null, 2))}</pre>`;
  return `<code>${e(value)}</code>`;
}

function outputsSection(d: ReportData): string {
  const keys = Object.keys(d.outputs).sort();
  const rows = keys.map(
    (k) => `<tr><th scope="row"><code>${e(k)}</code></th><td>${outputValue(d.outputs[k], d.unknownSentinel)}</td></tr>`,
  );
  return `<section id="outputs"><h2>Stack outputs</h2>
<p class="muted">What <code>pulumi stack output</code> would show; the client's configuration comes from these.</p>
<table class="kv">${rows.join('\n')}</table></section>`;
}

function machinesSection(d: ReportData): string {
  const blocks = d.machines.map((m) => {
    const facts = [
      m.type,
      `${m.states.length} states`,
      m.timeoutSeconds !== undefined ? `TimeoutSeconds ${m.timeoutSeconds}` : '',
    ].filter(Boolean);
    const figure = m.svg
      ? `<figure class="graph">${inlineSvg(m.svg)}</figure>`
      : '<p class="warn">The definition is unknown in this mode (a first preview): nothing to draw.</p>';
    return `<section class="machine" id="machine-${e(m.name)}" data-machine="${e(m.name)}">
<h3>${e(m.name)} <span class="muted">${e(facts.join(' · '))}</span></h3>
${m.comment ? `<p>${e(m.comment)}</p>` : ''}${figure}</section>`;
  });
  return `<section id="machines"><h2>State machines</h2>
<p class="legend"><span class="swatch solid"></span> Next / Choice rule <span class="swatch bold"></span> Default, Map / Parallel body
<span class="swatch dashed"></span> Catch (error names on the edge) · boxes around a Map or Parallel hold the states it runs for each item or branch.</p>
${blocks.join('\n')}</section>`;
}

function bundlesSection(d: ReportData): string {
  const rows = [...d.bundles]
    .sort((a, b) => a.functionName.localeCompare(b.functionName))
    .map(
      (b) =>
        `<tr><td><code>${e(b.functionName)}</code></td><td class="num">${kb(b.bytes)}</td><td class="num">${kb(b.gzipBytes)}</td></tr>`,
    );
  const total = d.bundles.reduce((s, b) => s + b.bytes, 0);
  return `<section id="bundles"><h2>Lambda bundles</h2>
<table><thead><tr><th>function</th><th class="num">minified</th><th class="num">gzip</th></tr></thead>
<tbody>${rows.join('\n')}</tbody><tfoot><tr><td>${d.bundles.length} functions</td><td class="num">${kb(total)}</td><td></td></tr></tfoot></table></section>`;
}

function policiesSection(d: ReportData): string {
  const violations = d.policies.flatMap((p) => p.violations.map((v) => ({ ...v, policy: p.name })));
  const mandatory = violations.filter((v) => v.enforcementLevel === 'mandatory').length;
  const summary =
    violations.length === 0
      ? '<p class="ok">No violations.</p>'
      : `<p class="${mandatory ? 'bad' : 'warn'}">${violations.length} violation(s), ${mandatory} mandatory.</p>`;
  const rows = d.policies.map((p) => {
    const status =
      p.violations.length === 0
        ? '<span class="ok">pass</span>'
        : `<span class="bad">${p.violations.length} violation(s)</span>`;
    return `<tr><td><code>${e(p.name)}</code><div class="muted small">${e(p.description)}</div></td><td>${e(p.enforcementLevel)}</td><td class="num">${p.checked}</td><td>${status}</td></tr>`;
  });
  const list = violations.length
    ? `<ul class="violations">${violations
        .map(
          (v) =>
            `<li><strong>[${e(v.enforcementLevel)}] ${e(v.policy)}</strong> — ${e(v.type)} <code>${e(v.resource)}</code><pre>${e(v.message)}</pre></li>`,
        )
        .join('\n')}</ul>`
    : '';
  return `<section id="policies"><h2>Policy pack</h2>${summary}
<table><thead><tr><th>policy</th><th>enforcement</th><th class="num">resources judged</th><th>result</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>${list}</section>`;
}

function resourcesSection(d: ReportData): string {
  const children = new Map<string | undefined, ReportResource[]>();
  for (const r of d.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
  const count = (r: ReportResource): number => (children.get(r.urn) ?? []).reduce((n, c) => n + 1 + count(c), 0);
  const render = (r: ReportResource, depth: number): string => {
    const kids = children.get(r.urn) ?? [];
    const custom = kids.filter((k) => k.custom);
    const components = kids.filter((k) => !k.custom);
    const table = custom.length
      ? `<table class="resources"><thead><tr><th>type</th><th>logical name</th><th>physical name</th></tr></thead><tbody>${custom
          .map(
            (c) =>
              `<tr><td>${e(shortType(c.type))}</td><td><code>${e(c.name)}</code>${c.protect ? ' <span class="tag">protect</span>' : ''}</td><td><code>${e(physicalName(c))}</code></td></tr>`,
          )
          .join('')}</tbody></table>`
      : '';
    return `<details${depth < 1 ? ' open' : ''}><summary><strong>${e(shortType(r.type))}</strong> <code>${e(r.name)}</code> <span class="muted">${count(r)} resources</span></summary>
<div class="inner">${table}${components.map((c) => render(c, depth + 1)).join('\n')}</div></details>`;
  };
  const roots = (children.get(undefined) ?? []).filter((r) => !r.custom);
  const loose = (children.get(undefined) ?? []).filter((r) => r.custom);
  const byType = new Map<string, number>();
  for (const r of d.resources.filter((x) => x.custom)) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const types = [...byType.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) => `<tr><td>${e(shortType(t))}</td><td class="num">${n}</td></tr>`)
    .join('');
  return `<section id="resources"><h2>Resources by component</h2>
${roots.map((r) => render(r, 0)).join('\n')}
${loose.length ? `<p>Outside any component: ${loose.map((r) => `<code>${e(r.name)}</code>`).join(', ')}</p>` : ''}
<details><summary>Counts by type</summary><table>${types}</table></details></section>`;
}

const CSS = `
:root { color-scheme: light; --fg:#1d2630; --muted:#5f6b7a; --line:#d9dee4; --bg:#f7f9fb; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#232f3e; color:#fff; padding:14px 24px; }
header h1 { margin:0; font-size:20px; } header p { margin:4px 0 0; color:#c9d1da; }
nav { padding:8px 24px; background:#fff; border-bottom:1px solid var(--line); position:sticky; top:0; z-index:1; }
nav a { margin-right:16px; color:#0b5cad; text-decoration:none; }
main { padding:8px 24px 40px; max-width:1500px; }
section { margin-top:18px; } h2 { font-size:18px; border-bottom:1px solid var(--line); padding-bottom:4px; }
h3 { font-size:15px; margin:18px 0 6px; }
table { border-collapse:collapse; background:#fff; margin:6px 0; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
table.kv th { white-space:nowrap; background:#fafbfc; }
pre { margin:0; font-size:12px; white-space:pre-wrap; word-break:break-all; }
code { font: 12px/1.4 ui-monospace, Menlo, Consolas, monospace; }
.muted { color:var(--muted); font-weight:normal; } .small { font-size:12px; }
.ok { color:#1e7b34; font-weight:600; } .warn { color:#9a6200; font-weight:600; } .bad { color:#c0392b; font-weight:600; }
.tag { font-size:11px; background:#fdecea; color:#c0392b; border-radius:3px; padding:0 4px; }
figure.graph { margin:0; background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px; overflow:auto; }
figure.graph svg { display:block; max-width:100%; height:auto; margin:0 auto; }
.legend { color:var(--muted); font-size:12px; }
.swatch { display:inline-block; width:26px; height:0; vertical-align:middle; border-top:2px solid #5f6b7a; margin:0 2px 0 8px; }
.swatch.bold { border-top-width:3px; border-color:#7d3cb5; } .swatch.dashed { border-top:2px dashed #c0392b; }
details { background:#fff; border:1px solid var(--line); border-radius:4px; margin:6px 0; }
details > summary { padding:5px 8px; cursor:pointer; } details .inner { padding:0 8px 6px 18px; }
ul.violations li { margin-bottom:8px; }
`;

/** The whole page. Deterministic for the same input (no clock, no random ids). */
export function renderReportPage(d: ReportData): string {
  const customCount = d.resources.filter((r) => r.custom).length;
  const violations = d.policies.reduce((n, p) => n + p.violations.length, 0);
  const summary = [
    `${customCount} resources`,
    `${d.machines.length} state machines`,
    `${d.bundles.length} Lambda bundles`,
    violations === 0 ? 'policy pack: no violations' : `policy pack: ${violations} violation(s)`,
  ].join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${e(d.project)} · ${e(d.stack)} · stack report</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${e(d.project)} · stack <code>${e(d.stack)}</code></h1>
<p>Offline synthesis (${e(d.mode)}) under Pulumi mocks · ${e(summary)} · layout by Graphviz ${e(d.layoutEngine)}</p></header>
<nav><a href="#outputs">Outputs</a><a href="#machines">State machines</a><a href="#bundles">Bundles</a><a href="#policies">Policies</a><a href="#resources">Resources</a></nav>
<main>
${outputsSection(d)}
${machinesSection(d)}
${bundlesSection(d)}
${policiesSection(d)}
${resourcesSection(d)}
</main>
</body>
</html>
`;
}
