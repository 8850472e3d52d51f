/**
 * Safe reading of policy-engine resource inputs.
 *
 * During `pulumi preview` the engine hands policies a proxy over the raw inputs: reading a
 * value that is not known yet throws an `UnknownValueError` (the engine then downgrades the
 * whole policy to advisory for that resource). Rules in this pack read through {@link get},
 * which turns an unknown value into the {@link UNKNOWN} marker instead of throwing, so a rule
 * can decide for itself what "unknown" means (a log destination that is an unknown ARN is
 * still *set*; a state machine definition that is unknown is a regression and a violation).
 *
 * Unknown is recognised in every shape it can take:
 * - the engine's proxy throwing on access (message "... can't be known during preview");
 * - the engine's unknown sentinel strings (e.g. `04da6b54-80e4-46f7-96ec-b56ff0331ba9`);
 * - `@pulumi/pulumi`'s `unknown` object (what mocks produce in preview mode);
 * - an `Output` that slipped through unresolved.
 *
 * `undefined` (or a missing key) is "absent", never "unknown".
 */
import * as pulumi from '@pulumi/pulumi';

/** Marker returned by {@link get} for a value not known during preview. */
export const UNKNOWN: unique symbol = Symbol('unknown-at-preview');
export type Unknown = typeof UNKNOWN;

/** The engine's sentinels for unknown values (mirrors @pulumi/policy's internal proxy module). */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  '1c4a061d-8072-4f0a-a4cb-0ff528b18fe7', // boolean
  '3eeb2bf0-c639-47a8-9e75-3b44932eb421', // number
  '04da6b54-80e4-46f7-96ec-b56ff0331ba9', // string (also @pulumi/pulumi's rpc unknownValue)
  '6a19a0b0-7e62-4c92-b797-7f8e31da9cc2', // array
  '030794c1-ac77-496b-92df-f27374a8bd58', // asset
  'e48ece36-62e2-4504-bad9-02848725956a', // archive
  'dd056dcd-154b-4c76-9bd3-c8f88648b5ff', // object
]);

/** True if `v` is an unknown-at-preview value in any representation. */
export function isUnknownValue(v: unknown): boolean {
  if (typeof v === 'string') {
    return UNKNOWN_SENTINELS.has(v);
  }
  if (v === null || typeof v !== 'object') {
    return false;
  }
  if (pulumi.isUnknown(v) || pulumi.Output.isInstance(v)) {
    return true;
  }
  const ctor = (v as { constructor?: { name?: string } }).constructor;
  return ctor?.name === 'Unknown';
}

/** True if `e` is the error the engine's (or the offline runner's) proxy throws for an unknown value. */
export function isUnknownValueError(e: unknown): boolean {
  if (!(e instanceof Error)) {
    return false;
  }
  return (
    e.constructor.name === 'UnknownValueError' ||
    e.name === 'UnknownValueError' ||
    /can't be known during preview/.test(e.message)
  );
}

/**
 * Reads `obj[path[0]][path[1]]...`. Returns `undefined` when any step is absent or not an
 * object, and {@link UNKNOWN} when any step is unknown at preview.
 */
export function get(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (isUnknownValue(cur)) {
      return UNKNOWN;
    }
    if (cur === null || cur === undefined || typeof cur !== 'object') {
      return undefined;
    }
    try {
      cur = (cur as Record<string | number, unknown>)[key];
    } catch (e) {
      if (isUnknownValueError(e)) {
        return UNKNOWN;
      }
      throw e;
    }
  }
  return isUnknownValue(cur) ? UNKNOWN : cur;
}

/** Set = present with a value (known or unknown); `undefined`/`null`/empty string are not set. */
export function isSet(v: unknown): boolean {
  return v === UNKNOWN || (v !== undefined && v !== null && v !== '');
}

/** A JSON value, as produced by `JSON.parse`. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/**
 * Deep-copies `v` into plain JSON (dropping `undefined`, reading through the engine's proxies).
 * Returns {@link UNKNOWN} if any part of it is unknown at preview.
 */
export function toPlain(v: unknown): Json | undefined | Unknown {
  if (v === UNKNOWN || isUnknownValue(v)) {
    return UNKNOWN;
  }
  if (v === undefined) {
    return undefined;
  }
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') {
    return v;
  }
  if (Array.isArray(v)) {
    const out: Json[] = [];
    for (let i = 0; i < v.length; i++) {
      const item = toPlain(get(v, i));
      if (item === UNKNOWN) {
        return UNKNOWN;
      }
      out.push(item === undefined ? null : item);
    }
    return out;
  }
  if (typeof v === 'object') {
    const out: JsonObject = {};
    for (const key of Object.keys(v)) {
      const item = toPlain(get(v, key));
      if (item === UNKNOWN) {
        return UNKNOWN;
      }
      if (item !== undefined) {
        out[key] = item;
      }
    }
    return out;
  }
  return undefined;
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges a policy's config (as returned by `args.getConfig`) over defaults, ignoring undefined. */
export function withDefaults<T extends object>(defaults: T, config: Partial<T> | undefined): T {
  const out = { ...defaults };
  if (config) {
    for (const [k, v] of Object.entries(config)) {
      if (v !== undefined && k !== 'enforcementLevel') {
        (out as Record<string, unknown>)[k] = v;
      }
    }
  }
  return out;
}
