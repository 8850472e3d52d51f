import { ResourceValidationPolicy } from '@pulumi/policy';
import { isDistributedMap, isJsonataExpression, validateDefinition, walkStates } from './asl';
import { withDefaults } from './values';

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

/**
 * Every Map state, wherever nested, must bound its fan-out: `MaxConcurrency` an integer in
 * [1, ceiling], or a dynamic `MaxConcurrencyPath` / JSONata `{% %}` expression.
 * Missing or 0 means unlimited (inline: up to 40 at once; distributed: up to 10,000 child
 * executions) and is a violation: it is how the seed's Map overran Lambda concurrency and
 * downstream tables.
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
        maximum: 10000,
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
      const mc = s.state['MaxConcurrency'];
      const hasPath = typeof s.state['MaxConcurrencyPath'] === 'string';
      if (mc === undefined || mc === null) {
        if (!hasPath) {
          reportViolation(
            `${kind} state "${s.path}" has no MaxConcurrency: its concurrency is unlimited. Set MaxConcurrency between 1 and ${ceiling}.`,
          );
        }
        return;
      }
      if (typeof mc === 'string') {
        if (isJsonataExpression(mc) && s.queryLanguage === 'JSONata') {
          return; // dynamic, like MaxConcurrencyPath
        }
        reportViolation(
          `${kind} state "${s.path}" has MaxConcurrency ${JSON.stringify(mc)}, which is neither a number nor a JSONata expression in a JSONata state.`,
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
          `${kind} state "${s.path}" has MaxConcurrency ${mc}, which means unlimited concurrency. Set it between 1 and ${ceiling}.`,
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
