/**
 * Amazon States Language helpers shared by every rule that reads a state machine
 * `definition`: parse it (JSON string or object), and walk every state wherever it is nested
 * (Parallel `Branches`, Map `ItemProcessor`, legacy Map `Iterator`).
 *
 * Preview-safe by construction: only the `definition` (and, for some rules, `type`) input is
 * read; never `roleArn` or any other value that could be an unknown output during preview.
 * Deliberately independent of `components/` so the pack installs standalone.
 */
import { ReportViolation, ResourceValidation, ResourceValidationArgs, validateResourceOfType } from '@pulumi/policy';
import { StateMachine } from '@pulumi/aws/sfn';
import { get, isJsonObject, isUnknownValue, Json, JsonObject, toPlain, UNKNOWN } from './values';

export type QueryLanguage = 'JSONPath' | 'JSONata';
export type ExecutionType = 'STANDARD' | 'EXPRESS';

/** One state, with where it sits in the definition. */
export interface VisitedState {
  /** The state's name. */
  name: string;
  /** Slash-separated location, e.g. `sync_data_all/ItemProcessor/sync_data` or `p/Branches[1]/t`. */
  path: string;
  /** The state object itself (plain JSON). */
  state: JsonObject;
  /** `Type` of the state (`Task`, `Map`, ...), or "" when missing. */
  type: string;
  /** Effective query language: the state's own `QueryLanguage`, else the enclosing one. */
  queryLanguage: QueryLanguage;
  /**
   * How the states around it execute: the machine's type at top level, or the child
   * execution type of an enclosing Distributed Map (`ProcessorConfig.ExecutionType`).
   */
  executionType: ExecutionType;
  /** Number of enclosing Map/Parallel states. */
  depth: number;
  /** The enclosing Map and Parallel states, outermost first. */
  enclosing: VisitedState[];
}

export type DefinitionResult =
  { kind: 'ok'; definition: JsonObject } | { kind: 'unknown'; message: string } | { kind: 'invalid'; message: string };

export const UNKNOWN_DEFINITION_MESSAGE =
  'The state machine definition is unknown at preview (or missing), so this policy cannot check it. ' +
  'Build the definition from names and config only (Lambda and state machine ARNs from their names plus ' +
  'the account, region and partition), never from resource outputs: see "Preview and unknown values" in ' +
  "this pack's README.md.";

/** Parses a `definition` input that may be a JSON string, an object, absent or unknown. */
export function parseDefinition(raw: unknown): DefinitionResult {
  if (raw === UNKNOWN || raw === undefined || raw === null || isUnknownValue(raw)) {
    return { kind: 'unknown', message: UNKNOWN_DEFINITION_MESSAGE };
  }
  let value: unknown;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw) as unknown;
    } catch (e) {
      return { kind: 'invalid', message: `The state machine definition is not valid JSON: ${(e as Error).message}` };
    }
  } else {
    const plain = toPlain(raw);
    if (plain === UNKNOWN) {
      return { kind: 'unknown', message: UNKNOWN_DEFINITION_MESSAGE };
    }
    value = plain;
  }
  if (!isJsonObject(value) || !isJsonObject(value['States'])) {
    return { kind: 'invalid', message: 'The state machine definition has no "States" object.' };
  }
  return { kind: 'ok', definition: value };
}

/** Reads and parses `args.props.definition` (the only input read). */
export function readDefinition(args: Pick<ResourceValidationArgs, 'props'>): DefinitionResult {
  return parseDefinition(get(args.props, 'definition'));
}

/** Reads the machine `type` input: STANDARD (default), EXPRESS, or UNKNOWN. */
export function readMachineType(args: Pick<ResourceValidationArgs, 'props'>): ExecutionType | typeof UNKNOWN {
  const t = get(args.props, 'type');
  if (t === UNKNOWN) {
    return UNKNOWN;
  }
  return typeof t === 'string' && t.toUpperCase() === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
}

function languageOf(v: Json | undefined, inherited: QueryLanguage): QueryLanguage {
  return v === 'JSONata' ? 'JSONata' : v === 'JSONPath' ? 'JSONPath' : inherited;
}

/** True for a Map state run as a Distributed Map. */
export function isDistributedMap(state: JsonObject): boolean {
  const processor = state['ItemProcessor'];
  if (!isJsonObject(processor)) {
    return false;
  }
  const cfg = processor['ProcessorConfig'];
  return isJsonObject(cfg) && cfg['Mode'] === 'DISTRIBUTED';
}

/**
 * True if `v` is a JSONata expression string: exactly `{%` … `%}`. Step Functions takes a
 * string with anything around the delimiters (`" {% 5 %}"`) as a literal string.
 */
export function isJsonataExpression(v: unknown): boolean {
  return typeof v === 'string' && /^\{%[\s\S]*%\}$/.test(v);
}

/**
 * A JSONPath-only field (`*Path`, Parameters, ResultSelector, …) set in a JSONata state,
 * where Step Functions rejects it: a rule must not take it for a bound.
 */
export function jsonPathOnlyIn(s: VisitedState, field: string): boolean {
  return s.queryLanguage === 'JSONata' && s.state[field] !== undefined;
}

/**
 * Walks every state of the definition, depth-first, calling `visit` for each.
 * `machineType` seeds {@link VisitedState.executionType} (default STANDARD).
 */
export function walkStates(
  definition: JsonObject,
  visit: (s: VisitedState) => void,
  machineType: ExecutionType = 'STANDARD',
): void {
  const topLanguage = languageOf(definition['QueryLanguage'], 'JSONPath');
  walkMachine(definition, '', topLanguage, machineType, [], visit);
}

/** Convenience: all states as an array. */
export function allStates(definition: JsonObject, machineType: ExecutionType = 'STANDARD'): VisitedState[] {
  const out: VisitedState[] = [];
  walkStates(definition, (s) => out.push(s), machineType);
  return out;
}

function walkMachine(
  machine: JsonObject,
  prefix: string,
  language: QueryLanguage,
  executionType: ExecutionType,
  enclosing: VisitedState[],
  visit: (s: VisitedState) => void,
): void {
  const states = machine['States'];
  if (!isJsonObject(states)) {
    return;
  }
  const machineLanguage = languageOf(machine['QueryLanguage'], language);
  for (const [name, raw] of Object.entries(states)) {
    if (!isJsonObject(raw)) {
      continue;
    }
    const path = prefix ? `${prefix}/${name}` : name;
    const type = typeof raw['Type'] === 'string' ? raw['Type'] : '';
    const stateLanguage = languageOf(raw['QueryLanguage'], machineLanguage);
    const visited: VisitedState = {
      name,
      path,
      state: raw,
      type,
      queryLanguage: stateLanguage,
      executionType,
      depth: enclosing.length,
      enclosing,
    };
    visit(visited);
    const inner = [...enclosing, visited];
    if (type === 'Parallel' && Array.isArray(raw['Branches'])) {
      raw['Branches'].forEach((branch, i) => {
        if (isJsonObject(branch)) {
          walkMachine(branch, `${path}/Branches[${i}]`, stateLanguage, executionType, inner, visit);
        }
      });
    }
    if (type === 'Map') {
      for (const key of ['ItemProcessor', 'Iterator'] as const) {
        const sub = raw[key];
        if (!isJsonObject(sub)) {
          continue;
        }
        let childExecution = executionType;
        if (key === 'ItemProcessor' && isDistributedMap(raw)) {
          const cfg = sub['ProcessorConfig'];
          const et = isJsonObject(cfg) ? cfg['ExecutionType'] : undefined;
          childExecution = et === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
        }
        walkMachine(sub, `${path}/${key}`, stateLanguage, childExecution, inner, visit);
      }
    }
  }
}

export const STATE_MACHINE_TYPE = 'aws:sfn/stateMachine:StateMachine';

/**
 * Builds a `validateResource` for `aws:sfn/stateMachine:StateMachine` that parses the
 * definition and hands it to `check`; an unknown or invalid definition is reported as a
 * violation (never silently passed). Other resource types are `notApplicable`
 * (`validateResourceOfType` does that, and tags the function so the engine skips them cheaply).
 */
export function validateDefinition(
  check: (definition: JsonObject, args: ResourceValidationArgs, reportViolation: ReportViolation) => void,
): ResourceValidation {
  return validateResourceOfType(StateMachine, (_props, args, reportViolation) => {
    const parsed = readDefinition(args);
    if (parsed.kind !== 'ok') {
      reportViolation(parsed.message);
      return;
    }
    check(parsed.definition, args, reportViolation);
  });
}
