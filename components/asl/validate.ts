import type { JsonValue, NestedStateMachine, State, StateMachineDefinition } from './types';
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
 * Validates a definition with asl-validator (paths and ARNs checked) plus the checks
 * listed in `supplementaryIssues`. Throws a `DefinitionValidationError` naming the
 * machine, each offending state and the validator's message.
 */
export function validateDefinition(machineName: string, definition: StateMachineDefinition): void {
  // Validate what would be deployed (JSON), and on a copy: asl-validator writes a
  // default QueryLanguage into every state it visits.
  const copy = JSON.parse(JSON.stringify(definition)) as StateMachineDefinition;
  let result: ReturnType<AslValidator>;
  try {
    result = aslValidator(copy, { checkPaths: true, checkArn: true });
  } catch (err) {
    throw new Error(
      `State machine "${machineName}": asl-validator could not process the definition: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const issues = result.errors.map((e) => locate(definition, e));
  issues.push(...supplementaryIssues(definition));
  if (issues.length > 0) throw new DefinitionValidationError(machineName, issues);
}
