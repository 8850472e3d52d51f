import type { JsonValue, NestedStateMachine, State, StateMachineDefinition } from './types';
import { useCompiledSchemaCheck } from './schema-check';
import { escapePointerToken, forEachState, forEachStateMachine, stateNamesInPointer } from './walk';

// asl-validator 4 ships no type declarations; this is the part of its CommonJS
// export (dist/src/validator.js) we use.
interface AslValidatorError {
  'Error code': string;
  Message: string;
  schemaError?: { instancePath: string; schemaPath: string };
}
type AslValidator = (
  definition: unknown,
  options: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errors: AslValidatorError[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- asl-validator is CommonJS without typings
const aslValidator = require('asl-validator') as AslValidator;
useCompiledSchemaCheck();

/** One problem found in a definition. */
export interface DefinitionIssue {
  /** The state(s) the problem is in; empty when it concerns the machine as a whole. */
  stateNames: string[];
  /** JSON pointer of the offending value, when the check reports one. */
  path?: string;
  /** asl-validator's error code, or ours for the checks it lacks. */
  code: string;
  message: string;
}

export class DefinitionValidationError extends Error {
  constructor(
    readonly machineName: string,
    readonly issues: readonly DefinitionIssue[],
  ) {
    super(formatMessage(machineName, issues));
    this.name = 'DefinitionValidationError';
  }
}

function formatMessage(machineName: string, issues: readonly DefinitionIssue[]): string {
  const lines = issues.map((issue) => {
    const where = issue.stateNames.length > 0 ? `state ${issue.stateNames.map((n) => `"${n}"`).join(', ')}` : 'machine';
    const at = issue.path !== undefined && issue.path !== '' ? ` at ${issue.path}` : '';
    return `  - ${where}${at}: ${issue.code}: ${issue.message}`;
  });
  return `State machine "${machineName}" definition is invalid (${issues.length} issue(s)):\n${lines.join('\n')}`;
}

interface Transition {
  stateName: string;
  target: string;
}

/** Every Next / Default / Choices[].Next / Catch[].Next of the states directly in `machine`. */
function transitionsOf(machine: NestedStateMachine): Transition[] {
  const out: Transition[] = [];
  for (const [stateName, state] of Object.entries(machine.States)) {
    // Read loosely: the definition being validated may not match its type.
    const s = state as unknown as { Next?: unknown; Default?: unknown; Choices?: unknown; Catch?: unknown };
    const targets: unknown[] = [s.Next, s.Default];
    for (const list of [s.Choices, s.Catch]) {
      if (Array.isArray(list)) targets.push(...list.map((rule: { Next?: unknown } | null) => rule?.Next));
    }
    for (const target of targets) if (typeof target === 'string') out.push({ stateName, target });
  }
  return out;
}

/** States (and containers, by their owner) that transition to `target`. */
function statesTargeting(definition: StateMachineDefinition, target: string): string[] {
  const names: string[] = [];
  forEachStateMachine(definition, (machine, _path, owner) => {
    if (machine.StartAt === target && owner !== null) names.push(owner);
    for (const t of transitionsOf(machine)) if (t.target === target) names.push(t.stateName);
  });
  return [...new Set(names)];
}

function hasKeyPair(value: JsonValue | undefined, base: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((v) => hasKeyPair(v, base));
  if (base in value && `${base}.$` in value) return true;
  return Object.values(value).some((v) => hasKeyPair(v, base));
}

/** Maps an asl-validator error to the state(s) it is about. */
function locate(definition: StateMachineDefinition, error: AslValidatorError): DefinitionIssue {
  const issue: DefinitionIssue = { stateNames: [], code: error['Error code'], message: error.Message };
  const pointer = error.schemaError?.instancePath;
  if (pointer !== undefined) {
    issue.path = pointer;
    const chain = stateNamesInPointer(pointer);
    if (chain.length > 0) issue.stateNames = [chain[chain.length - 1]];
    return issue;
  }
  const m = error.Message;
  let match: RegExpMatchArray | null;
  if (
    (match = m.match(/^State "(.+)" /)) ||
    (match = m.match(/^State (.+) is not reachable$/)) ||
    (match = m.match(/^A state with this name already exists: (.+)$/))
  ) {
    issue.stateNames = [match[1]];
  } else if ((match = m.match(/target: (.+)$/))) {
    issue.stateNames = statesTargeting(definition, match[1]);
  } else if ((match = m.match(/suffix from: (.+?)(\.\$)+$/))) {
    const base = match[1];
    forEachState(definition, (name, state) => {
      const s = state as { Parameters?: JsonValue; ResultSelector?: JsonValue; ItemSelector?: JsonValue };
      if (hasKeyPair(s.Parameters, base) || hasKeyPair(s.ResultSelector, base) || hasKeyPair(s.ItemSelector, base))
        issue.stateNames.push(name);
    });
  } else if (error['Error code'] === 'MISSING_TERMINAL_STATE') {
    // asl-validator numbers containers ("fsm2"); name the Map/Parallel owning the one without a terminal state.
    forEachStateMachine(definition, (machine, _path, owner) => {
      const terminal = Object.values(machine.States).some(
        (s: State) => s.Type === 'Succeed' || s.Type === 'Fail' || ('End' in s && s.End === true),
      );
      if (!terminal && owner !== null) issue.stateNames.push(owner);
    });
  }
  return issue;
}

/**
 * ASL rules asl-validator 4.0.0 does not enforce:
 * - a transition may only target a state of the same container (it checks Iterator
 *   and Branches but not ItemProcessor, and its "target exists" check is global);
 * - HeartbeatSeconds must be smaller than TimeoutSeconds.
 */
function supplementaryIssues(definition: StateMachineDefinition): DefinitionIssue[] {
  const issues: DefinitionIssue[] = [];
  const everyStateName = new Set<string>();
  forEachState(definition, (name) => everyStateName.add(name));
  forEachStateMachine(definition, (machine, path) => {
    for (const t of transitionsOf(machine)) {
      // A target that exists nowhere is already reported by asl-validator.
      if (!(t.target in machine.States) && everyStateName.has(t.target)) {
        issues.push({
          stateNames: [t.stateName],
          path: `${path}/States/${escapePointerToken(t.stateName)}`,
          code: 'OUT_OF_SCOPE_TRANSITION',
          message: `transitions to "${t.target}", which is not in the same States container`,
        });
      }
    }
  });
  forEachState(definition, (name, state, path) => {
    if (
      state.Type === 'Task' &&
      state.HeartbeatSeconds !== undefined &&
      state.TimeoutSeconds !== undefined &&
      state.HeartbeatSeconds >= state.TimeoutSeconds
    ) {
      issues.push({
        stateNames: [name],
        path,
        code: 'TASK_HEARTBEAT',
        message: `HeartbeatSeconds (${state.HeartbeatSeconds}) must be smaller than TimeoutSeconds (${state.TimeoutSeconds})`,
      });
    }
  });
  return issues;
}

/**
 * Keys asl-validator 4 finds by searching the whole document (`$..States`, `$..Iterator`,
 * `$..[Next,Default]`, …) rather than by following the structure: a state or a payload key
 * with one of these names makes it crash (a state named "Iterator", a payload key "States")
 * or report a transition that is not there.
 */
const SEARCHED_KEYS = new Set([
  'States',
  'Iterator',
  'Branches',
  'ItemProcessor',
  'Next',
  'Default',
  'StartAt',
  'Parameters',
  'ResultSelector',
]);
/** Fields of a state whose value is free-form JSON (a payload), not ASL structure. */
const PAYLOAD_FIELDS = ['Parameters', 'ResultSelector', 'ItemSelector', 'Arguments', 'Output', 'Assign', 'Result'];
const NESTED_PAYLOADS: Record<string, string[]> = {
  ItemReader: ['Parameters', 'Arguments'],
  ResultWriter: ['Parameters', 'Arguments'],
  ItemBatcher: ['BatchInput'],
};
const STATE_SUFFIX = '__state';
const KEY_SUFFIX = '__key';

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of the definition asl-validator can walk: states and payload keys named like the
 * keys it searches for get a suffix (transitions follow), so what it validates is the same
 * machine. `restore` maps an issue found on the copy back to the original names.
 */
function forValidator(definition: StateMachineDefinition): {
  definition: StateMachineDefinition;
  restore: (issue: DefinitionIssue) => DefinitionIssue;
} {
  const renamed = new Set<string>();
  forEachState(definition, (name) => {
    if (SEARCHED_KEYS.has(name)) renamed.add(name);
  });
  const target = (t: unknown) => (typeof t === 'string' && renamed.has(t) ? `${t}${STATE_SUFFIX}` : t);
  const payload = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(payload);
    if (!isObject(v)) return v;
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [SEARCHED_KEYS.has(k) ? `${k}${KEY_SUFFIX}` : k, payload(x)]),
    );
  };
  const machine = (m: unknown): unknown => {
    if (!isObject(m)) return m;
    const out: Loose = { ...m };
    if ('StartAt' in m) out.StartAt = target(m.StartAt);
    if (isObject(m.States)) {
      out.States = Object.fromEntries(
        Object.entries(m.States).map(([name, st]) => [renamed.has(name) ? `${name}${STATE_SUFFIX}` : name, state(st)]),
      );
    }
    return out;
  };
  const state = (st: unknown): unknown => {
    if (!isObject(st)) return st;
    const out: Loose = { ...st };
    for (const f of PAYLOAD_FIELDS) if (f in st) out[f] = payload(st[f]);
    for (const [f, inner] of Object.entries(NESTED_PAYLOADS)) {
      const value = st[f];
      if (!isObject(value)) continue;
      const copy: Loose = { ...value };
      for (const k of inner) if (k in value) copy[k] = payload(value[k]);
      out[f] = copy;
    }
    if ('Next' in st) out.Next = target(st.Next);
    if ('Default' in st) out.Default = target(st.Default);
    for (const list of ['Choices', 'Catch'] as const) {
      const rules = st[list];
      if (Array.isArray(rules))
        out[list] = (rules as unknown[]).map((r) => (isObject(r) && 'Next' in r ? { ...r, Next: target(r.Next) } : r));
    }
    if (st.Type === 'Map') for (const k of ['ItemProcessor', 'Iterator']) if (k in st) out[k] = machine(st[k]);
    if (st.Type === 'Parallel' && Array.isArray(st.Branches)) out.Branches = st.Branches.map(machine);
    return out;
  };
  const text = (t: string) => t.split(STATE_SUFFIX).join('').split(KEY_SUFFIX).join('');
  return {
    definition: machine(JSON.parse(JSON.stringify(definition))) as StateMachineDefinition,
    restore: (issue) => ({
      ...issue,
      stateNames: issue.stateNames.map(text),
      ...(issue.path !== undefined ? { path: text(issue.path) } : {}),
      message: text(issue.message),
    }),
  };
}

/**
 * asl-validator's findings, on the original names. A definition it still cannot process is
 * not accepted unvalidated: that becomes an issue of its own.
 */
function validatorIssues(definition: StateMachineDefinition): DefinitionIssue[] {
  const prepared = forValidator(definition);
  let result: ReturnType<AslValidator>;
  try {
    // It writes a default QueryLanguage into every state it visits: it gets a copy.
    result = aslValidator(prepared.definition, { checkPaths: true, checkArn: true });
  } catch (err) {
    // Name what is most likely to blame: states that are not objects.
    const broken: string[] = [];
    forEachStateMachine(definition, (m) => {
      for (const [name, st] of Object.entries(m.States as Record<string, unknown>))
        if (!isObject(st)) broken.push(name);
    });
    return [
      {
        stateNames: broken,
        code: 'VALIDATOR_FAILURE',
        message: `asl-validator could not process the definition (${(err as Error).message}); it is not deployed unvalidated`,
      },
    ];
  }
  return result.errors.map((e) => prepared.restore(locate(prepared.definition, e)));
}

/**
 * Validates a definition with asl-validator (paths and ARNs checked) plus the checks
 * listed in `supplementaryIssues`. Throws a `DefinitionValidationError` naming the
 * machine, each offending state and the validator's message; never another error.
 */
export function validateDefinition(machineName: string, definition: StateMachineDefinition): void {
  // Validate what would be deployed (JSON).
  let deployed: StateMachineDefinition;
  try {
    deployed = JSON.parse(JSON.stringify(definition)) as StateMachineDefinition;
  } catch (err) {
    throw new DefinitionValidationError(machineName, [
      { stateNames: [], code: 'NOT_JSON', message: `the definition is not JSON: ${(err as Error).message}` },
    ]);
  }
  if (!isObject(deployed) || !isObject((deployed as { States?: unknown }).States)) {
    throw new DefinitionValidationError(machineName, [
      { stateNames: [], code: 'NO_STATES', message: 'the definition has no "States" object' },
    ]);
  }
  const issues = [...validatorIssues(deployed), ...supplementaryIssues(deployed)];
  if (issues.length > 0) throw new DefinitionValidationError(machineName, issues);
}
