import type { ChoiceRule, ChoiceState } from './types';

/** `{ Variable, NumericEquals, Next }` */
export function whenNumberEquals(variable: string, value: number, next: string): ChoiceRule {
  return { Variable: variable, NumericEquals: value, Next: next };
}

/** `{ Variable, StringEquals, Next }` */
export function whenStringEquals(variable: string, value: string, next: string): ChoiceRule {
  return { Variable: variable, StringEquals: value, Next: next };
}

/**
 * A Choice state. `defaultNext` is required on purpose: without a Default an
 * unmatched value fails the execution with States.NoChoiceMatched, which no Catch
 * can route to a failure step.
 */
export function choiceState(choices: ChoiceRule[], defaultNext: string, comment?: string): ChoiceState {
  if (choices.length === 0) throw new Error('choiceState: at least one choice rule is required');
  const state: ChoiceState = { Type: 'Choice', Choices: choices, Default: defaultNext };
  if (comment !== undefined) state.Comment = comment;
  return state;
}
