import { ResourceValidationPolicy } from '@pulumi/policy';
import {
  isDistributedMap,
  isJsonataExpression,
  jsonPathOnlyIn,
  validateDefinition,
  VisitedState,
  walkStates,
} from './asl';
import { withDefaults } from './values';

/** Step Functions runs an inline Map's iterations about 40 at a time at most, whatever MaxConcurrency says. */
export const INLINE_MAP_SERVICE_LIMIT = 40;
/** A Distributed Map runs at most 10,000 child executions at once. */
export const DISTRIBUTED_MAP_SERVICE_LIMIT = 10000;

export interface MapConcurrencyConfig {
  /** Ceiling for inline Map states (and legacy Iterator Maps). */
  maxInlineConcurrency: number;
  /** Ceiling for Distributed Map states (`ProcessorConfig.Mode: DISTRIBUTED`). */
  maxDistributedConcurrency: number;
}

export const MAP_CONCURRENCY_DEFAULTS: MapConcurrencyConfig = {
  maxInlineConcurrency: 40,
  maxDistributedConcurrency: 1000,
};

function unboundedMessage(kind: string, distributed: boolean): string {
  return distributed
    ? `${kind} then runs up to ${DISTRIBUTED_MAP_SERVICE_LIMIT.toLocaleString('en-US')} child executions at once`
    : `${kind} then runs as many iterations at once as Step Functions allows (about ${INLINE_MAP_SERVICE_LIMIT}), a bound the definition does not choose`;
}

/**
 * Every Map state, wherever nested, must choose its fan-out: `MaxConcurrency` an integer in
 * [1, ceiling], or a dynamic `MaxConcurrencyPath` (JSONPath states) / JSONata `{% %}`
 * expression (JSONata states). Missing or 0 leaves it to the service — about 40 iterations
 * of an inline Map at once, up to 10,000 child executions of a Distributed Map — which is
 * how the seed's Map overran Lambda concurrency and downstream tables.
 */
export const mapFiniteConcurrency: ResourceValidationPolicy = {
  name: 'sfn-map-finite-concurrency',
  description:
    'Every Step Functions Map state (inline or distributed, at any nesting level) sets a finite MaxConcurrency within the configured ceiling.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      maxInlineConcurrency: {
        type: 'integer',
        minimum: 1,
        default: MAP_CONCURRENCY_DEFAULTS.maxInlineConcurrency,
        description: 'Highest MaxConcurrency accepted on an inline Map state.',
      },
      maxDistributedConcurrency: {
        type: 'integer',
        minimum: 1,
        maximum: DISTRIBUTED_MAP_SERVICE_LIMIT,
        default: MAP_CONCURRENCY_DEFAULTS.maxDistributedConcurrency,
        description: 'Highest MaxConcurrency accepted on a Distributed Map state.',
      },
    },
  },
  validateResource: validateDefinition((definition, args, reportViolation) => {
    const cfg = withDefaults(MAP_CONCURRENCY_DEFAULTS, args.getConfig<Partial<MapConcurrencyConfig>>());
    walkStates(definition, (s) => {
      if (s.type !== 'Map') {
        return;
      }
      const distributed = isDistributedMap(s.state);
      const kind = distributed ? 'Distributed Map' : 'Map';
      const ceiling = distributed ? cfg.maxDistributedConcurrency : cfg.maxInlineConcurrency;
      const ceilingKey = distributed ? 'maxDistributedConcurrency' : 'maxInlineConcurrency';
      const set = `Set MaxConcurrency between 1 and ${ceiling}.`;
      if (jsonPathOnlyIn(s, 'MaxConcurrencyPath')) {
        reportViolation(
          `${kind} state "${s.path}" is a JSONata state with MaxConcurrencyPath, a JSONPath-only field Step Functions rejects there; use MaxConcurrency with a number or a {% %} expression.`,
        );
        return;
      }
      const mc = s.state['MaxConcurrency'];
      const hasPath = s.queryLanguage === 'JSONPath' && typeof s.state['MaxConcurrencyPath'] === 'string';
      if (mc === undefined || mc === null) {
        if (!hasPath) {
          reportViolation(
            `${kind} state "${s.path}" has no MaxConcurrency: ${unboundedMessage('it', distributed)}. ${set}`,
          );
        }
        return;
      }
      if (typeof mc === 'string') {
        if (isJsonataExpression(mc) && s.queryLanguage === 'JSONata') {
          return; // dynamic, like MaxConcurrencyPath
        }
        reportViolation(
          `${kind} state "${s.path}" has MaxConcurrency ${JSON.stringify(mc)}, which is neither a number nor a JSONata expression ({% … %}, nothing around it) in a JSONata state.`,
        );
        return;
      }
      if (typeof mc !== 'number' || !Number.isInteger(mc)) {
        reportViolation(
          `${kind} state "${s.path}" has an invalid MaxConcurrency ${JSON.stringify(mc)}; use an integer between 1 and ${ceiling}.`,
        );
        return;
      }
      if (mc <= 0) {
        reportViolation(
          `${kind} state "${s.path}" has MaxConcurrency ${mc}: ${unboundedMessage('it', distributed)}. ${set}`,
        );
        return;
      }
      if (mc > ceiling) {
        reportViolation(
          `${kind} state "${s.path}" has MaxConcurrency ${mc}, above the ceiling ${ceiling} (policy config "${ceilingKey}").`,
        );
      }
    });
  }),
};

/** How many iterations (or child executions) of one Map can run at once, and why. */
export interface MapFactor {
  concurrency: number;
  /** `MaxConcurrency 40`, `no MaxConcurrency`, `MaxConcurrencyPath`, … */
  reason: string;
}

/** What one Map contributes to the fan-out: its MaxConcurrency, capped by the service; the service limit when it sets none or decides at run time. */
export function mapFactor(s: VisitedState): MapFactor {
  const distributed = isDistributedMap(s.state);
  const limit = distributed ? DISTRIBUTED_MAP_SERVICE_LIMIT : INLINE_MAP_SERVICE_LIMIT;
  const kind = distributed ? 'Distributed Map' : 'inline Map';
  const mc = s.state['MaxConcurrency'];
  if (typeof mc === 'number' && Number.isInteger(mc) && mc > 0) {
    return mc > limit
      ? { concurrency: limit, reason: `${kind}, MaxConcurrency ${mc} capped by the service at ${limit}` }
      : { concurrency: mc, reason: `${kind}, MaxConcurrency ${mc}` };
  }
  if (typeof mc === 'string' && isJsonataExpression(mc)) {
    return { concurrency: limit, reason: `${kind}, MaxConcurrency decided at run time (up to ${limit})` };
  }
  if (typeof s.state['MaxConcurrencyPath'] === 'string') {
    return { concurrency: limit, reason: `${kind}, MaxConcurrencyPath decided at run time (up to ${limit})` };
  }
  return { concurrency: limit, reason: `${kind}, no bound chosen (up to ${limit})` };
}

export interface EffectiveConcurrencyConfig {
  /** Highest number of innermost iterations nested Maps may run at once (the product along the nesting). */
  maxEffectiveConcurrency: number;
}

export const EFFECTIVE_CONCURRENCY_DEFAULTS: EffectiveConcurrencyConfig = { maxEffectiveConcurrency: 1000 };

/**
 * Nested fan-out multiplies: an inline Map of 40 around a Distributed Map of 1,000 runs
 * 40,000 children at once, though each Map alone looks bounded. For every Map nested in
 * other Maps, the product of the concurrencies along the nesting (each Map's MaxConcurrency
 * capped by the service; the service limit where none is set or it is decided at run time)
 * must stay within `maxEffectiveConcurrency`. The default, 1,000, is the default Lambda
 * concurrency quota of an account and Region. The Map at which the product first exceeds
 * the bound is reported, with the whole path.
 */
export const mapEffectiveConcurrency: ResourceValidationPolicy = {
  name: 'sfn-map-effective-concurrency',
  description:
    'Nested Step Functions Map states keep the product of their concurrencies (the iterations that can run at once) within the configured bound.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      maxEffectiveConcurrency: {
        type: 'integer',
        minimum: 1,
        default: EFFECTIVE_CONCURRENCY_DEFAULTS.maxEffectiveConcurrency,
        description:
          'Highest product of MaxConcurrency along nested Map states (each capped by the service: about 40 inline, 10,000 distributed).',
      },
    },
  },
  validateResource: validateDefinition((definition, args, reportViolation) => {
    const cfg = withDefaults(EFFECTIVE_CONCURRENCY_DEFAULTS, args.getConfig<Partial<EffectiveConcurrencyConfig>>());
    walkStates(definition, (s) => {
      if (s.type !== 'Map') {
        return;
      }
      const chain = [...s.enclosing.filter((e) => e.type === 'Map'), s];
      if (chain.length < 2) {
        return; // a single Map is sfn-map-finite-concurrency's to judge
      }
      const factors = chain.map(mapFactor);
      const product = factors.reduce((p, f) => p * f.concurrency, 1);
      const outer = factors.slice(0, -1).reduce((p, f) => p * f.concurrency, 1);
      if (product <= cfg.maxEffectiveConcurrency || outer > cfg.maxEffectiveConcurrency) {
        return; // within the bound, or already reported at an enclosing Map
      }
      const n = (x: number) => x.toLocaleString('en-US');
      reportViolation(
        `Map state "${s.path}" can run ${factors.map((f) => n(f.concurrency)).join(' × ')} = ${n(product)} iterations at once, above the bound ${n(cfg.maxEffectiveConcurrency)} (policy config "maxEffectiveConcurrency"): ${chain
          .map((c, i) => `"${c.path}" (${factors[i].reason})`)
          .join(', ')}. Lower MaxConcurrency of one of these Maps.`,
      );
    });
  }),
};
