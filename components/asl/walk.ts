import type { NestedStateMachine, State } from './types';

/**
 * Called once per state. `path` is the JSON pointer of the state inside the
 * definition, e.g. `/States/sync_data_all/ItemProcessor/States/sync_target` — the
 * same notation asl-validator uses for its error paths.
 */
export type StateVisitor = (stateName: string, state: State, path: string) => void;

/** Called once per state container: the definition itself, every Map iteration and every Parallel branch. */
export type StateMachineVisitor = (machine: NestedStateMachine, path: string, ownerStateName: string | null) => void;

/** Escapes a state name for use in a JSON pointer (RFC 6901). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function nestedMachinesOf(state: State, path: string): { machine: NestedStateMachine; path: string }[] {
  const found: { machine: NestedStateMachine; path: string }[] = [];
  if (state.Type === 'Map') {
    if (isMachine(state.ItemProcessor)) found.push({ machine: state.ItemProcessor, path: `${path}/ItemProcessor` });
    if (isMachine(state.Iterator)) found.push({ machine: state.Iterator, path: `${path}/Iterator` });
  } else if (state.Type === 'Parallel' && Array.isArray(state.Branches)) {
    state.Branches.forEach((branch, i) => {
      if (isMachine(branch)) found.push({ machine: branch, path: `${path}/Branches/${i}` });
    });
  }
  return found;
}

// Definitions handed to the validator may be hand-edited or broken: walk defensively.
function isMachine(value: unknown): value is NestedStateMachine {
  if (typeof value !== 'object' || value === null) return false;
  const states = (value as { States?: unknown }).States;
  return typeof states === 'object' && states !== null && !Array.isArray(states);
}

function walk(
  machine: NestedStateMachine,
  base: string,
  owner: string | null,
  onMachine: StateMachineVisitor | null,
  onState: StateVisitor | null,
): void {
  onMachine?.(machine, base, owner);
  for (const [name, state] of Object.entries(machine.States)) {
    if (typeof state !== 'object' || state === null) continue;
    const path = `${base}/States/${escapePointerToken(name)}`;
    onState?.(name, state, path);
    for (const nested of nestedMachinesOf(state, path)) walk(nested.machine, nested.path, name, onMachine, onState);
  }
}

/**
 * Visits every state, depth first, a Map or Parallel state before the states of its
 * ItemProcessor / Iterator / Branches.
 */
export function forEachState(definition: NestedStateMachine, visit: StateVisitor): void {
  if (isMachine(definition)) walk(definition, '', null, null, visit);
}

/** Visits the definition and every nested state container (`path` "" for the top level). */
export function forEachStateMachine(definition: NestedStateMachine, visit: StateMachineVisitor): void {
  if (isMachine(definition)) walk(definition, '', null, visit, null);
}

/**
 * The chain of state names a JSON pointer goes through, outermost first:
 * `/States/a/ItemProcessor/States/b/Retry/0` → `["a", "b"]`.
 */
export function stateNamesInPointer(pointer: string): string[] {
  const tokens = pointer.split('/').slice(1).map(unescapePointerToken);
  const names: string[] = [];
  let i = 0;
  // Follow only the structural route (States/<name>/ItemProcessor|Iterator|Branches/<n>):
  // a payload key that happens to be called "States" is not a state.
  while (tokens[i] === 'States' && i + 1 < tokens.length) {
    names.push(tokens[i + 1]);
    i += 2;
    if (tokens[i] === 'ItemProcessor' || tokens[i] === 'Iterator') i += 1;
    else if (tokens[i] === 'Branches' && /^\d+$/.test(tokens[i + 1] ?? '')) i += 2;
    else break;
  }
  return names;
}
