/**
 * Derives and simulates every call of a synthesized stack once, for the tests that read it.
 */
import * as path from 'node:path';
import { handlerEntryPath } from '../../../components/bundle';
import { FUNCTION_KEYS, type FunctionKey } from '../../../components/function-catalog';
import { physicalName } from '../../../components/naming';
import type { SynthResource } from '../../../scripts/synth/run-program';
import { CodeCallExtractor, type SdkCall } from './code-calls';
import { IamEngine, type Verdict } from './engine';
import { stackModel, type StackModel } from './model';
import {
  codeCalls,
  machineCalls,
  platformCalls,
  serviceCalls,
  trustCalls,
  type Call,
  type Unresolved,
} from './required-calls';

export const ROOT = path.join(__dirname, '..', '..', '..');

let extractor: CodeCallExtractor | undefined;
const sdkCache = new Map<FunctionKey, SdkCall[]>();

/** The SDK calls reached from a handler entry (computed once per process). */
export function sdkCallsOf(key: FunctionKey): SdkCall[] {
  let calls = sdkCache.get(key);
  if (!calls) {
    extractor ??= new CodeCallExtractor(
      ROOT,
      FUNCTION_KEYS.map((k) => path.relative(ROOT, handlerEntryPath(k))),
    );
    calls = extractor.callsFrom(path.relative(ROOT, handlerEntryPath(key)));
    sdkCache.set(key, calls);
  }
  return calls;
}

/** SDK exports that send requests themselves, used by the handler's reached code. */
export function sdkHelpersOf(key: FunctionKey): { name: string; site: string }[] {
  sdkCallsOf(key);
  return extractor?.sdkHelpersFrom(path.relative(ROOT, handlerEntryPath(key))) ?? [];
}

export interface StackIam {
  model: StackModel;
  engine: IamEngine;
  calls: Call[];
  unresolved: Unresolved[];
  verdicts: Map<Call, Verdict>;
}

/** Every call of the stack, derived and simulated (coverage recorded in `engine`). */
export async function analyseStack(
  stack: string,
  resources: SynthResource[],
  region: string,
  prefix: string,
): Promise<StackIam> {
  const model = stackModel(stack, resources, region);
  const calls: Call[] = [];
  const unresolved: Unresolved[] = [];
  for (const key of FUNCTION_KEYS) {
    const fn = model.functions.find((f) => f.name === physicalName(prefix, key, 'lambdaFunction'));
    if (!fn) throw new Error(`${stack}: no function for ${key}`);
    const code = codeCalls(model, fn, sdkCallsOf(key));
    calls.push(...code.calls, ...platformCalls(model, fn));
    unresolved.push(...code.unresolved);
  }
  for (const machine of model.machines) {
    const derived = machineCalls(model, machine);
    calls.push(...derived.calls);
    unresolved.push(...derived.unresolved);
  }
  calls.push(...serviceCalls(model), ...trustCalls(model));
  const engine = new IamEngine(model);
  const verdicts = new Map<Call, Verdict>();
  for (const call of calls) verdicts.set(call, await engine.check(call));
  return { model, engine, calls, unresolved, verdicts };
}

export function principalName(call: Call): string {
  return 'role' in call.principal ? call.principal.role.replace(/^.*:role\//, '') : call.principal.service;
}

export function show(call: Call, verdict?: Verdict): string {
  return `${principalName(call)} ${call.action} ${call.resource}${verdict ? ` → ${verdict.outcome}${verdict.detail ? ` (${verdict.detail})` : ''}` : ''}  [${call.source}]`;
}
