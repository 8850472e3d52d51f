import type { StateMachineDefinition } from './types';

// Rebuilds the value with object keys in sorted order, so two structurally equal
// definitions serialize to the same bytes whatever order their keys were added in
// (a reordered builder must not show up as a diff in `pulumi preview`).
function canonical(value: unknown, at: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`serializeDefinition: ${at} is ${value}, which JSON cannot represent`);
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => canonical(item, `${at}[${i}]`));
  const proto: unknown = typeof value === 'object' ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const child = (value as Record<string, unknown>)[key];
      if (child !== undefined) out[key] = canonical(child, `${at}.${key}`);
    }
    return out;
  }
  throw new Error(`serializeDefinition: ${at} is a ${typeof value}, not a JSON value`);
}

/**
 * Deterministic JSON for a definition: keys sorted, `undefined` members dropped,
 * two-space indentation (readable diffs). Same input → same bytes.
 */
export function serializeDefinition(definition: StateMachineDefinition): string {
  return JSON.stringify(canonical(definition, 'definition'), null, 2);
}
