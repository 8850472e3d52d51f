import { ResourceValidationPolicy } from '@pulumi/policy';
import { isJsonataExpression, validateDefinition, walkStates } from './asl';
import { isJsonObject, withDefaults } from './values';

export interface MapBatchingConfig {
  /** Lowest MaxInputBytesPerBatch accepted. */
  minInputBytesPerBatch: number;
}

export const MAP_BATCHING_DEFAULTS: MapBatchingConfig = { minInputBytesPerBatch: 1024 };

/** AWS hard limit for one batch (256 KiB). */
export const MAX_INPUT_BYTES_PER_BATCH = 262144;

/**
 * `ItemBatcher.MaxInputBytesPerBatch` caps the bytes per child batch. The seed set it to 10
 * bytes, which makes every batch a single row (or fails outright): a tiny byte cap silently
 * defeats batching. Above 256 KiB AWS rejects it.
 */
export const distributedMapBatchBytes: ResourceValidationPolicy = {
  name: 'sfn-distributed-map-batch-bytes',
  description:
    'Distributed Map ItemBatcher.MaxInputBytesPerBatch, when set, is between the configured minimum and 262144 bytes.',
  enforcementLevel: 'mandatory',
  configSchema: {
    properties: {
      minInputBytesPerBatch: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_INPUT_BYTES_PER_BATCH,
        default: MAP_BATCHING_DEFAULTS.minInputBytesPerBatch,
        description: 'Lowest MaxInputBytesPerBatch accepted on an ItemBatcher.',
      },
    },
  },
  validateResource: validateDefinition((definition, args, reportViolation) => {
    const cfg = withDefaults(MAP_BATCHING_DEFAULTS, args.getConfig<Partial<MapBatchingConfig>>());
    walkStates(definition, (s) => {
      if (s.type !== 'Map' || !isJsonObject(s.state['ItemBatcher'])) {
        return;
      }
      const bytes = s.state['ItemBatcher']['MaxInputBytesPerBatch'];
      if (bytes === undefined || bytes === null) {
        return;
      }
      if (typeof bytes === 'string' && s.queryLanguage === 'JSONata' && isJsonataExpression(bytes)) {
        return;
      }
      if (typeof bytes !== 'number' || !Number.isInteger(bytes)) {
        reportViolation(
          `Map state "${s.path}" has an invalid ItemBatcher.MaxInputBytesPerBatch ${JSON.stringify(bytes)}.`,
        );
      } else if (bytes < cfg.minInputBytesPerBatch) {
        reportViolation(
          `Map state "${s.path}" has ItemBatcher.MaxInputBytesPerBatch ${bytes}, below the minimum ${cfg.minInputBytesPerBatch} (policy config "minInputBytesPerBatch"); use MaxItemsPerBatch to size batches by count.`,
        );
      } else if (bytes > MAX_INPUT_BYTES_PER_BATCH) {
        reportViolation(
          `Map state "${s.path}" has ItemBatcher.MaxInputBytesPerBatch ${bytes}, above the AWS limit ${MAX_INPUT_BYTES_PER_BATCH}.`,
        );
      }
    });
  }),
};
