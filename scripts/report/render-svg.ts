/**
 * Graphviz (dot, compiled to WebAssembly by @hpcc-js/wasm-graphviz) lays the state machine
 * graphs out at synth time, in Node and offline: the page gets finished SVG and runs no
 * layout code. The WebAssembly module ships inside the package, so nothing is downloaded.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { StateMachineDefinition } from '../../components/asl/types';
import { definitionToGraph, type GraphState } from './asl-graph';

let loading: Promise<Graphviz> | undefined;

/** The engine is loaded once per process (the WebAssembly compile is most of the cost). */
function graphviz(): Promise<Graphviz> {
  loading ??= Graphviz.load();
  return loading;
}

/** Graphviz's SVG without the XML prolog, DOCTYPE and comments, so it can be inlined in HTML. */
export function inlineSvg(svg: string): string {
  return svg
    .replace(/<\?xml[^>]*\?>\s*/g, '')
    .replace(/<!DOCTYPE[^>]*>\s*/g, '')
    .replace(/<!--[\s\S]*?-->\s*/g, '')
    .trim();
}

export interface MachineSvg {
  svg: string;
  states: GraphState[];
  dot: string;
}

/** One state machine as a standalone SVG document (for files) and its states. */
export async function renderMachineSvg(
  key: string,
  definition: StateMachineDefinition,
  title?: string,
): Promise<MachineSvg> {
  const graph = definitionToGraph(key, definition, title);
  const svg = (await graphviz()).dot(graph.dot, 'svg');
  return { svg, states: graph.states, dot: graph.dot };
}

/** The Graphviz version that drew a picture (shown on the page). */
export async function graphvizVersion(): Promise<string> {
  return (await graphviz()).version();
}
