/**
 * The rules of the `cqrs-workflows` pack, for the pack itself, tests, the offline runner and
 * other packs (this module is the package's main export: see README.md, "Using the rules in
 * your own pack"). Only the pack's `index.ts` constructs the PolicyPack (which starts a gRPC server).
 */
export * from './catalog';
export * from './asl';
export * from './values';
export * from './sfn-map-concurrency';
export * from './sfn-task-token';
export * from './sfn-express';
export * from './sfn-batching';
export * from './sfn-retry-jitter';
export * from './sfn-observability';
export * from './messaging';
export * from './dynamodb';
export * from './log-group';
export * from './event-source-mapping';
export * from './iam';
