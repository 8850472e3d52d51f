/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The stack report in a real browser: `npm run synth` writes out/<stack>/index.html, headless
 * Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens it from disk, and
 * the test fails on any console error, page error or network request. Every state of every
 * definition the synth wrote must be a node of its machine's SVG; Catch edges are dashed and
 * carry their error names; Map and Parallel bodies sit inside their state's box. A page made
 * from a definition with every state type is checked the same way. Screenshots go to
 * out/screenshots/.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { forEachState } from '../../components/asl/walk';
import type { StateMachineDefinition } from '../../components/asl/types';
import { renderReportPage } from '../../scripts/report/page';
import { graphvizVersion, renderMachineSvg } from '../../scripts/report/render-svg';
import { UNKNOWN } from '../../scripts/synth/run-program';
import { ROOT } from '../support/synth';
import { ALL_STATE_TYPES } from './fixtures';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The flags known to work on these machines (no background traffic into a closed network). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS = path.join(ROOT, 'out', 'screenshots');

interface Visit {
  consoleErrors: string[];
  requests: string[];
}

/** Opens a file in a fresh page and records console errors, page errors and every request but the page itself. */
async function open(context: BrowserContext, file: string): Promise<{ page: Page; visit: Visit }> {
  const page = await context.newPage();
  const url = pathToFileURL(file).href;
  const visit: Visit = { consoleErrors: [], requests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') visit.consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => visit.consoleErrors.push(String(err)));
  page.on('request', (r) => {
    if (r.url() !== url) visit.requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, visit };
}

interface SvgNode {
  id: string;
  cls: string;
  title: string;
  texts: string[];
  box: { x: number; y: number; width: number; height: number };
}

/** Every node of one machine's SVG, read from the DOM with its rendered box. */
function nodesOf(page: Page, machine: string): Promise<SvgNode[]> {
  return page.evaluate((name) => {
    const section = document.querySelector(`section[data-machine="${name}"]`);
    if (!section) throw new Error(`no section for ${name}`);
    return [...section.querySelectorAll('svg g.node')].map((g) => {
      const b = (g as SVGGraphicsElement).getBoundingClientRect();
      return {
        id: g.id,
        cls: g.getAttribute('class') ?? '',
        title: g.querySelector(':scope > title')?.textContent ?? '',
        texts: [...g.querySelectorAll('text')].map((t) => t.textContent ?? ''),
        box: { x: b.x, y: b.y, width: b.width, height: b.height },
      };
    });
  }, machine);
}

function stateNames(def: StateMachineDefinition): { name: string; type: string; path: string }[] {
  const out: { name: string; type: string; path: string }[] = [];
  forEachState(def, (name, state, p) => out.push({ name, type: state.Type, path: p }));
  return out;
}

/** Every state of the definition is a node whose title and text are its name. */
async function assertEveryStateDrawn(page: Page, machine: string, def: StateMachineDefinition): Promise<SvgNode[]> {
  const nodes = await nodesOf(page, machine);
  for (const s of stateNames(def)) {
    const node = nodes.find((n) => n.title === s.name);
    assert.ok(node, `${machine}: state ${s.name} is not a node of its SVG`);
    assert.ok(node.texts.includes(s.name), `${machine}: ${s.name} not written as text in its node`);
    assert.ok(node.cls.includes(`state-${s.type.toLowerCase()}`), `${machine}: ${s.name} class ${node.cls}`);
    assert.ok(node.box.width > 0 && node.box.height > 0, `${machine}: ${s.name} is rendered`);
  }
  return nodes;
}

/** A nested state's box lies inside the box (cluster) of the Map or Parallel that runs it. */
async function assertBodiesNested(page: Page, machine: string, def: StateMachineDefinition): Promise<number> {
  let checked = 0;
  const nodes = await nodesOf(page, machine);
  const clusters = await page.evaluate((name) => {
    const section = document.querySelector(`section[data-machine="${name}"]`)!;
    return [...section.querySelectorAll('svg g.cluster')].map((g) => {
      const b = (g.querySelector('path, polygon') as SVGGraphicsElement).getBoundingClientRect();
      return { cls: g.getAttribute('class') ?? '', box: { x: b.x, y: b.y, width: b.width, height: b.height } };
    });
  }, machine);
  const inside = (a: SvgNode['box'], b: SvgNode['box']) =>
    a.x >= b.x - 0.5 &&
    a.y >= b.y - 0.5 &&
    a.x + a.width <= b.x + b.width + 0.5 &&
    a.y + a.height <= b.y + b.height + 0.5;
  forEachState(def, (name, state) => {
    if (state.Type !== 'Map' && state.Type !== 'Parallel') return;
    const owner = nodes.find((n) => n.title === name)!;
    const bodies = state.Type === 'Map' ? [state.ItemProcessor ?? state.Iterator!] : state.Branches;
    // the container is the smallest Map/Parallel cluster holding the state's own node
    const container = clusters
      .filter((c) => /container-(map|parallel)/.test(c.cls) && inside(owner.box, c.box))
      .sort((a, b) => a.box.width * a.box.height - b.box.width * b.box.height)[0];
    assert.ok(container, `${machine}: ${name} has a box around it`);
    for (const body of bodies) {
      for (const inner of Object.keys(body.States)) {
        const node = nodes.find((n) => n.title === inner)!;
        assert.ok(inside(node.box, container.box), `${machine}: ${inner} is drawn inside ${name}`);
        checked += 1;
      }
    }
  });
  return checked;
}

/** Catch edges are dashed and labelled with their error names. */
async function catchEdges(page: Page, machine: string): Promise<{ dashed: boolean; label: string }[]> {
  return page.evaluate((name) => {
    const section = document.querySelector(`section[data-machine="${name}"]`)!;
    return [...section.querySelectorAll('svg g.edge.edge-catch')].map((g) => ({
      dashed: Boolean(g.querySelector('path')?.getAttribute('stroke-dasharray')),
      label: [...g.querySelectorAll('text')].map((t) => t.textContent).join(' '),
    }));
  }, machine);
}

describe('stack report page in headless Chromium', function () {
  this.timeout(240000);
  let context: BrowserContext;
  let profile: string;
  let outDir: string;
  let synthStdout: string;

  before(async function () {
    assert.ok(
      fs.existsSync(CHROMIUM),
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does it)`,
    );
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-report-'));
    const synth = spawnSync(
      process.execPath,
      [require.resolve('tsx/cli'), 'scripts/synth.ts', '--stack', 'dev', '--out', outDir],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CQRS_SILENT: '1' } },
    );
    synthStdout = synth.stdout;
    assert.equal(synth.status, 0, `synth failed:\n${synth.stdout}\n${synth.stderr}`);
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1400, height: 1000 },
    });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('npm run synth prints the stack outputs and the page path', () => {
    assert.match(synthStdout, /\nStack outputs\n/);
    assert.match(synthStdout, /^ {2}dashboardName: cqrs-dev-operations$/m);
    assert.match(
      synthStdout,
      /^ {4}command: arn:aws:states:[a-z0-9-]+:123456789012:stateMachine:cqrs-dev-command-express$/m,
    );
    assert.ok(
      synthStdout.includes(`Stack report: ${path.relative(ROOT, path.join(outDir, 'index.html'))}`),
      synthStdout,
    );
  });

  it('opens from disk with no console error and no network request; every state of every definition is a node', async () => {
    const { page, visit } = await open(context, path.join(outDir, 'index.html'));
    const definitions = fs.readdirSync(outDir).filter((f) => f.endsWith('.asl.json'));
    assert.equal(definitions.length, 5, 'command (EXPRESS), command-wait, task, import-csv, import-zip');
    let nested = 0;
    for (const file of definitions) {
      const machine = file.replace(/\.asl\.json$/, '');
      const def = JSON.parse(fs.readFileSync(path.join(outDir, file), 'utf8')) as StateMachineDefinition;
      await assertEveryStateDrawn(page, machine, def);
      nested += await assertBodiesNested(page, machine, def);
      for (const edge of await catchEdges(page, machine)) {
        assert.ok(edge.dashed, `${machine}: a Catch edge is not dashed`);
        assert.match(edge.label, /States\.|[A-Z]\w+/, `${machine}: a Catch edge without its error names`);
      }
    }
    assert.ok(nested >= 5, `Map bodies checked: ${nested}`);
    const command = await nodesOf(page, 'cqrs-dev-command-express');
    // on the EXPRESS command path (the default) a version waits in the command-wait machine
    const wait = (await nodesOf(page, 'cqrs-dev-command-wait')).find((n) => n.title === 'wait_prev_command')!;
    assert.ok(
      wait.texts.includes('TimeoutSeconds 3600') && wait.texts.includes('HeartbeatSeconds 300'),
      wait.texts.join('|'),
    );
    const map = command.find((n) => n.title === 'sync_data_all')!;
    assert.ok(map.texts.includes('MaxConcurrency 10'), map.texts.join('|'));
    const catches = await catchEdges(page, 'cqrs-dev-command-wait');
    assert.ok(catches.some((c) => c.label.includes('States.HeartbeatTimeout') && c.label.includes('States.Timeout')));
    const sections = await page.evaluate(() => [...document.querySelectorAll('main > section')].map((s) => s.id));
    assert.deepEqual(sections, ['outputs', 'machines', 'bundles', 'policies', 'resources']);
    const text = await page.evaluate(() => document.body.innerText);
    for (const expected of ['cqrs-dev-operations', 'cqrs-dev-command-step', 'No violations.', 'OperationsDashboard']) {
      assert.ok(text.includes(expected), `page shows ${expected}`);
    }
    await page.screenshot({ path: path.join(SCREENSHOTS, 'report-dev.png'), fullPage: true });
    assert.deepEqual(visit.consoleErrors, []);
    assert.deepEqual(visit.requests, []);
    await page.close();
  });

  it('draws every state type: Task, Choice, Map, Parallel, Wait, Pass, Succeed, Fail, nested bodies, dashed Catch edges', async () => {
    const { svg, states } = await renderMachineSvg('fixture', ALL_STATE_TYPES, 'all state types');
    const file = path.join(outDir, 'all-state-types.html');
    fs.writeFileSync(
      file,
      renderReportPage({
        project: 'fixture',
        stack: 'test',
        mode: 'fixture',
        outputs: { unknownOutput: UNKNOWN },
        unknownSentinel: UNKNOWN,
        resources: [],
        bundles: [],
        machines: [{ name: 'fixture', type: 'STANDARD', svg, states, timeoutSeconds: 900 }],
        policies: [],
        layoutEngine: await graphvizVersion(),
      }),
    );
    const { page, visit } = await open(context, file);
    const nodes = await assertEveryStateDrawn(page, 'fixture', ALL_STATE_TYPES);
    assert.equal(await assertBodiesNested(page, 'fixture', ALL_STATE_TYPES), 4);
    const byName = (n: string) => nodes.find((x) => x.title === n)!;
    assert.ok(byName('await_approval').texts.includes('TimeoutSeconds 600'));
    assert.ok(byName('await_approval').texts.includes('HeartbeatSeconds 60'));
    assert.ok(byName('each_item').texts.includes('MaxConcurrency 3'));
    const catches = await catchEdges(page, 'fixture');
    assert.equal(catches.length, 3);
    assert.ok(catches.every((c) => c.dashed));
    assert.deepEqual(catches.map((c) => c.label).sort(), [
      'ItemFailed',
      'States.ALL',
      'States.Timeout, States.HeartbeatTimeout',
    ]);
    const edgeClasses = await page.evaluate(() =>
      [...document.querySelectorAll('svg g.edge')].map((g) => ({
        cls: g.getAttribute('class') ?? '',
        label: [...g.querySelectorAll('text')].map((t) => t.textContent).join(' '),
      })),
    );
    assert.ok(
      edgeClasses.some((e) => e.cls.includes('edge-default') && e.label === 'Default'),
      'the Default edge',
    );
    assert.equal(edgeClasses.filter((e) => e.cls.includes('edge-choice')).length, 2);
    assert.ok(edgeClasses.some((e) => e.cls.includes('edge-next')));
    assert.ok(await page.evaluate(() => document.body.innerText.includes('known after deploy')));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'all-state-types.png'), fullPage: true });
    assert.deepEqual(visit.consoleErrors, []);
    assert.deepEqual(visit.requests, []);
    await page.close();
  });

  it('the page forbids every fetch: an injected image request is blocked and reported', async () => {
    // Proves the checks above can fail: the page's Content-Security-Policy refuses the load,
    // Chromium reports it on the console.
    const file = path.join(outDir, 'index.html');
    const html = fs.readFileSync(file, 'utf8').replace('</main>', '<img src="http://127.0.0.1:9/x.png"></main>');
    const probe = path.join(outDir, 'probe.html');
    fs.writeFileSync(probe, html);
    const { page, visit } = await open(context, probe);
    assert.ok(
      visit.consoleErrors.some((m) => /Content Security Policy/i.test(m)),
      visit.consoleErrors.join('\n'),
    );
    await page.close();
  });
});
