import type { Catcher } from './types';

/** Catches every catchable error into `next`, keeping the input and adding the error at `resultPath`. */
export function catchAll(next: string, resultPath: string | null): Catcher {
  return catchErrors(['States.ALL'], next, resultPath);
}

/** Catches the listed errors into `next` (`resultPath` as in `catchAll`). */
export function catchErrors(errors: readonly string[], next: string, resultPath: string | null): Catcher {
  if (errors.length === 0) throw new Error('catchErrors: at least one error name is required');
  return { ErrorEquals: [...errors], Next: next, ResultPath: resultPath };
}
