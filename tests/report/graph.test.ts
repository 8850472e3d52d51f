/**
 * The state machine pictures, laid out by Graphviz (WebAssembly) in Node: every state of
 * every definition becomes a node whose title and text are the state's name; the same
 * definition always gives the same SVG; the README's picture is what the code draws today.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { forEachState } from '../../components/asl/walk';
import type { StateMachineDefinition } from '../../components/asl/types';
import { validateDefinition } from '../../components/asl/validate';
import { COMMAND_DIAGRAM, commandDiagrams, renderCommandDiagram, renderDiagram } from '../../scripts/diagrams';
import { STATE_TYPES } from '../../scripts/report/asl-graph';
import { inlineSvg, renderMachineSvg } from '../../scripts/report/render-svg';
import { ofType, synthStack, T } from '../support/synth';
import { ALL_STATE_TYPES } from './fixtures';

/** The `<g>` of each node: its id, classes and title (Graphviz writes the node name as the title). */
function svgNodes(svg: string): { id: string; cls: string; title: string }[] {
  const out: { id: string; cls: string; title: string }[] = [];
  const re = /<g id="([^"]+)" class="(node[^"]*)">\s*<title>([^<]*)<\/title>/g;
  for (let m = re.exec(svg); m; m = re.exec(svg))
    out.push({ id: unescape(m[1]), cls: unescape(m[2]), title: unescape(m[3]) });
  return out;
}
function unescape(s: string): string {
  return s
    .replace(/&#45;/g, '-')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}
function stateNames(def: StateMachineDefinition): string[] {
  const names: string[] = [];
  forEachState(def, (name) => names.push(name));
  return names;
}

describe('state machine pictures (Graphviz in Node)', function () {
  this.timeout(120000);

  it('the fixture is valid ASL and holds every state type', () => {
    validateDefinition('all-state-types', ALL_STATE_TYPES);
    const types = new Set<string>();
    forEachState(ALL_STATE_TYPES, (_n, s) => types.add(s.Type));
    assert.deepEqual([...types].sort(), [...STATE_TYPES].sort());
  });

  it('every state is a node with its name as title and as text, typed by a class', async () => {
    const { svg, states } = await renderMachineSvg('fixture', ALL_STATE_TYPES);
    const nodes = svgNodes(svg);
    for (const name of stateNames(ALL_STATE_TYPES)) {
      const state = states.find((s) => s.name === name);
      assert.ok(state, `${name} in the graph model`);
      const node = nodes.find((n) => n.id === state.svgId);
      assert.ok(node, `${name}: node ${state.svgId} in the SVG`);
      assert.equal(node.title, name);
      assert.ok(node.cls.includes(`state-${state.type.toLowerCase()}`), node.cls);
      assert.ok(svg.includes(`>${name}</text>`), `${name} as text`);
    }
  });

  for (const stack of ['dev', 'prod']) {
    it(`every state of every ${stack} machine is a node of its picture`, async () => {
      const { resources } = await synthStack(stack);
      const machines = ofType(resources, T.stateMachine);
      assert.equal(machines.length, 5, 'command (EXPRESS), command-wait, task, import-csv, import-zip');
      for (const m of machines) {
        const def = JSON.parse(String(m.inputs.definition)) as StateMachineDefinition;
        const { svg } = await renderMachineSvg('m', def);
        const titles = new Set(svgNodes(svg).map((n) => n.title));
        for (const name of stateNames(def)) assert.ok(titles.has(name), `${String(m.inputs.name)}: ${name}`);
      }
    });
  }

  it('is deterministic and inlines without prolog, DOCTYPE or comments', async () => {
    const a = await renderMachineSvg('fixture', ALL_STATE_TYPES);
    const b = await renderMachineSvg('fixture', ALL_STATE_TYPES);
    assert.equal(a.svg, b.svg);
    const inline = inlineSvg(a.svg);
    assert.ok(inline.startsWith('<svg'), inline.slice(0, 40));
    assert.ok(!/<\?xml|<!DOCTYPE|<!--/.test(inline));
    // ids are ours (prefixed by the machine key), never Graphviz's defaults, so pages can hold many pictures
    assert.ok(!/id="(node|edge|clust|graph)\d+"/.test(inline));
  });

  it("README's pictures of the command machines (EXPRESS, command-wait, STANDARD) are what the code draws today (npm run diagrams)", async () => {
    const diagrams = commandDiagrams();
    assert.equal(diagrams[0].file, COMMAND_DIAGRAM);
    assert.equal(await renderCommandDiagram(), await renderDiagram(diagrams[0]));
    for (const d of diagrams) {
      const committed = fs.readFileSync(d.file, 'utf8');
      const relative = path.relative(path.join(__dirname, '..', '..'), d.file);
      assert.ok(committed === (await renderDiagram(d)), `${relative} is stale: run \`npm run diagrams\``);
    }
  });
});
