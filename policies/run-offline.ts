/**
 * Runs the pack's resource policies without the Pulumi CLI: builds `ResourceValidationArgs`
 * the way @pulumi/policy's analyzer server does for each resource and collects violations.
 * Used by the synth command (every resource of a stack synthesized under Pulumi mocks) and by
 * the unit tests.
 *
 * Fidelity to the engine (@pulumi/policy 1.21 server.js):
 * - enforcement level = config[policy].enforcementLevel || config.all || policy.enforcementLevel
 *   || "advisory" (the pack default); "disabled" skips the policy; "remediate" reports as mandatory;
 * - props: `undefined` values are dropped (absent), and the props are wrapped in a proxy that
 *   throws on a value unknown at preview (engine sentinel strings, `pulumi.unknown`, an Output),
 *   exactly like the engine; a policy that lets that error escape gets the engine's advisory
 *   "can't run policy ... during preview" diagnostic;
 * - `notApplicable(reason)` throws; the outcome is recorded as "not applicable", not a violation;
 * - a validation tagged with a resource type (validateResourceOfType) is skipped as not
 *   applicable for other types without being called;
 * - `getConfig()` returns the policy's configSchema defaults overlaid with the supplied config
 *   (minus `enforcementLevel`), as the CLI does before it configures the analyzer;
 * - violation messages are the policy description, a newline, then the reported message.
 */
import {
  EnforcementLevel,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from '@pulumi/policy';
import { Resource, Unwrap } from '@pulumi/pulumi';
import { allPolicies } from './rules';
import { isUnknownValue, isUnknownValueError } from './rules/values';

export interface OfflineResource {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
}

export interface PolicyViolation {
  policy: string;
  enforcementLevel: string;
  resource: { type: string; name: string; urn: string };
  message: string;
}

export interface NotApplicableOutcome {
  policy: string;
  resource: { type: string; name: string; urn: string };
  reason?: string;
}

/** Per-policy config as in a `--policy-pack-config` file: an enforcement level, or an object of settings. */
export type OfflinePolicyConfig = Record<string, Record<string, unknown> | EnforcementLevel>;

export interface RunOptions {
  /** Stack tags (user tags of the stack), exposed as `args.stackTags`. */
  stackTags?: Record<string, string>;
  /** Policy pack config, keyed by policy name (plus optional `all`). */
  config?: OfflinePolicyConfig;
  /** Policies to run; defaults to the whole pack. */
  policies?: ResourceValidationPolicy[];
}

export interface RunResult {
  violations: PolicyViolation[];
  notApplicable: NotApplicableOutcome[];
}

/** Thrown by `args.notApplicable` (mirrors the engine's NotApplicableError). */
export class NotApplicableError extends Error {
  constructor(public readonly reason?: string) {
    super(reason ?? 'Policy does not apply');
    this.name = 'NotApplicableError';
  }
}

/** Thrown when a policy reads a value unknown at preview (mirrors the engine's UnknownValueError). */
export class UnknownValueError extends Error {
  constructor(public readonly path: string[]) {
    super(`value at .${path.join('.')} can't be known during preview`);
    this.name = 'UnknownValueError';
  }
}

function dropUndefined(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || isUnknownValue(v)) {
    return v;
  }
  if (Array.isArray(v)) {
    return v.map((x) => (x === undefined ? null : dropUndefined(x)));
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined) {
      out[k] = dropUndefined(x);
    }
  }
  return out;
}

function unknownCheckingProxy<T>(target: T, path: string[] = []): T {
  if (target === null || typeof target !== 'object' || isUnknownValue(target)) {
    return target;
  }
  return new Proxy(target, {
    get: (obj, prop) => {
      const field = (obj as Record<string | symbol, unknown>)[prop];
      if (typeof prop === 'symbol') {
        return field;
      }
      const next = [...path, prop];
      if (isUnknownValue(field)) {
        throw new UnknownValueError(next);
      }
      const desc = Object.getOwnPropertyDescriptor(obj, prop);
      if (desc && 'value' in desc && desc.configurable === false && desc.writable === false) {
        return field;
      }
      return unknownCheckingProxy(field, next);
    },
  });
}

function pulumiTypeOf(x: unknown): string | undefined {
  const t = (x as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof t === 'string' ? t : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const pulumiType = pulumiTypeOf(resourceClass);
  if (pulumiType) {
    return type === pulumiType;
  }
  const isInstance = (resourceClass as { isInstance?: (value: unknown) => unknown }).isInstance;
  return typeof isInstance === 'function' && isInstance({ __pulumiType: type }) === true;
}

function freezeMap(map: Map<string, string>): ReadonlyMap<string, string> {
  return Object.freeze({
    entries: map.entries.bind(map),
    forEach: map.forEach.bind(map),
    get: map.get.bind(map),
    has: map.has.bind(map),
    keys: map.keys.bind(map),
    size: map.size,
    values: map.values.bind(map),
    [Symbol.iterator]: map[Symbol.iterator].bind(map),
  });
}

function policyConfigEntry(
  policy: ResourceValidationPolicy,
  config: OfflinePolicyConfig | undefined,
): Record<string, unknown> | EnforcementLevel | undefined {
  return config?.[policy.name];
}

/** The policy's effective config: configSchema defaults overlaid with the supplied settings. */
export function resolvePolicyConfig(
  policy: ResourceValidationPolicy,
  config?: OfflinePolicyConfig,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (schema.default !== undefined) {
      out[key] = schema.default;
    }
  }
  const entry = policyConfigEntry(policy, config);
  if (entry && typeof entry === 'object') {
    for (const [k, v] of Object.entries(entry)) {
      if (k !== 'enforcementLevel') {
        out[k] = v;
      }
    }
  }
  return out;
}

/** The enforcement level the engine would use for `policy` under `config`. */
export function resolveEnforcementLevel(
  policy: ResourceValidationPolicy,
  config?: OfflinePolicyConfig,
): EnforcementLevel {
  const entry = policyConfigEntry(policy, config);
  const fromEntry = typeof entry === 'string' ? entry : (entry?.enforcementLevel as EnforcementLevel | undefined);
  const all = config?.['all'];
  const fromAll = typeof all === 'string' ? all : (all?.enforcementLevel as EnforcementLevel | undefined);
  return fromEntry || fromAll || policy.enforcementLevel || 'advisory';
}

/** Builds the `ResourceValidationArgs` the engine would pass to `policy` for `resource`. */
export function makeValidationArgs(
  resource: OfflineResource,
  policy: ResourceValidationPolicy,
  opts: Pick<RunOptions, 'stackTags' | 'config'> & { resourceOptions?: Partial<PolicyResourceOptions> } = {},
): ResourceValidationArgs {
  const props = unknownCheckingProxy(dropUndefined(resource.props) as Record<string, unknown>);
  const type = resource.type;
  const effectiveConfig = resolvePolicyConfig(policy, opts.config);
  const options: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...opts.resourceOptions,
  };
  return {
    type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: options,
    stackTags: freezeMap(new Map(Object.entries(opts.stackTags ?? {}))),
    isType<TResource extends Resource>(resourceClass: { new (...rest: never[]): TResource }): boolean {
      return isTypeOf(type, resourceClass);
    },
    asType<TResource extends Resource, TArgs>(resourceClass: {
      new (name: string, args: TArgs, ...rest: never[]): TResource;
    }): Unwrap<NonNullable<TArgs>> | undefined {
      return isTypeOf(type, resourceClass) ? (props as unknown as Unwrap<NonNullable<TArgs>>) : undefined;
    },
    getConfig<T extends object>(): T {
      return { ...effectiveConfig } as T;
    },
    notApplicable(reason?: string): never {
      throw new NotApplicableError(reason);
    },
  };
}

/** Runs every policy on every resource; returns violations and not-applicable outcomes. */
export async function evaluatePolicies(resources: OfflineResource[], opts: RunOptions = {}): Promise<RunResult> {
  const policies = opts.policies ?? allPolicies;
  const result: RunResult = { violations: [], notApplicable: [] };
  for (const resource of resources) {
    const ref = { type: resource.type, name: resource.name, urn: resource.urn };
    for (const policy of policies) {
      let level = resolveEnforcementLevel(policy, opts.config);
      if (level === 'disabled' || !policy.validateResource) {
        continue;
      }
      if (level === 'remediate') {
        level = 'mandatory';
      }
      const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
      if (validations.length === 1) {
        const pulumiType = pulumiTypeOf(validations[0]);
        if (pulumiType && pulumiType !== resource.type) {
          result.notApplicable.push({
            policy: policy.name,
            resource: ref,
            reason: `Policy only applies to resources of type '${pulumiType}'`,
          });
          continue;
        }
      }
      const enforcementLevel = level;
      const report: ReportViolation = (message: string) => {
        result.violations.push({
          policy: policy.name,
          enforcementLevel,
          resource: ref,
          message: message ? `${policy.description}\n${message}` : policy.description,
        });
      };
      for (const validation of validations) {
        try {
          await Promise.resolve(validation(makeValidationArgs(resource, policy, opts), report));
        } catch (e) {
          if (e instanceof NotApplicableError) {
            result.notApplicable.push({ policy: policy.name, resource: ref, reason: e.reason });
          } else if (isUnknownValueError(e)) {
            result.violations.push({
              policy: policy.name,
              enforcementLevel: 'advisory',
              resource: ref,
              message: `can't run policy '${policy.name}' during preview: ${(e as Error).message}`,
            });
          } else {
            throw new Error(
              `Error validating resource ${resource.urn} with policy '${policy.name}': ${(e as Error).message}`,
              { cause: e },
            );
          }
        }
      }
    }
  }
  return result;
}

/** Runs every policy on every resource and returns the violations (advisory and mandatory). */
export async function runPolicies(
  resources: OfflineResource[],
  opts?: { stackTags?: Record<string, string>; config?: Record<string, Record<string, unknown>> },
): Promise<PolicyViolation[]> {
  return (await evaluatePolicies(resources, opts)).violations;
}
