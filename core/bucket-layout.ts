/**
 * Key prefixes of the import bucket. The Pulumi components grant S3 access per
 * prefix and set the lifecycle from the same constants, so code and IAM agree.
 */
export const BUCKET_PREFIXES = {
  /** CSV and ZIP files to import: applications upload here. */
  uploads: 'imports/',
  /** CSV files extracted from ZIP imports. */
  unzipped: 'unzipped/',
  /** Distributed Map `ResultWriter` manifests and result files. */
  results: 'import-results/',
  /** CSV rows parsed by csv_loader as JSON Lines, read by the import-csv machine's Distributed Map. */
  staged: 'staged/',
  /** Values too large for a state or an item; rows keep a reference, so these never expire. */
  payloads: 'payloads/',
} as const;

/**
 * Where a CSV to import can be: uploaded by an application, or extracted from a ZIP.
 * Import keys travel in job rows and execution inputs, so the grants of the import
 * functions that read them are scoped to these prefixes.
 */
export const CSV_SOURCE_PREFIXES = [BUCKET_PREFIXES.uploads, BUCKET_PREFIXES.unzipped] as const;
