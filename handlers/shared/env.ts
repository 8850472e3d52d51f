/**
 * Environment access for the handlers. Every variable is read lazily (at call time), so a
 * function only fails on a variable it actually needs, with a message naming it.
 * The names are the ones in docs/architecture.md.
 */
export type EnvName =
  | 'COMMANDS_TABLE'
  | 'DATA_TABLE'
  | 'HISTORY_TABLE'
  | 'TASKS_TABLE'
  | 'IMPORT_TMP_TABLE'
  | 'IMPORT_BUCKET'
  | 'MAIN_TOPIC_ARN'
  | 'ALARM_TOPIC_ARN'
  | 'COMMAND_STATE_MACHINE_ARN'
  | 'COMMAND_WAIT_STATE_MACHINE_ARN'
  | 'COMMAND_PATH'
  | 'RETIRED_COMMAND_STATE_MACHINE_ARN'
  | 'COMMAND_RUN_TIMEOUT_SECONDS'
  | 'TASK_STATE_MACHINE_ARN'
  | 'IMPORT_CSV_STATE_MACHINE_ARN'
  | 'IMPORT_ZIP_STATE_MACHINE_ARN'
  | 'SYNC_TARGETS'
  | 'SYNC_CALL_TIMEOUTS'
  | 'TASK_EXECUTORS'
  | 'COMMAND_TTL_SECONDS'
  | 'COMMAND_MAX_WAIT_SECONDS'
  | 'DIRECT_IMPORT_MAX_BYTES'
  | 'IMPORT_RECORD_TTL_SECONDS'
  | 'MAX_RECEIVE_COUNT'
  | 'ZIP_MAX_ENTRIES'
  | 'ZIP_MAX_FILES'
  | 'ZIP_MAX_UNCOMPRESSED_BYTES'
  | 'ZIP_MAX_COMPRESSION_RATIO';

export class MissingEnvError extends Error {
  constructor(
    readonly variable: EnvName,
    detail?: string,
  ) {
    super(
      detail
        ? `environment variable ${variable} is invalid: ${detail}`
        : `environment variable ${variable} is required by this function but is not set`,
    );
    this.name = 'MissingEnvError';
  }
}

export function optionalEnv(name: EnvName): string | undefined {
  const value = process.env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function requireEnv(name: EnvName): string {
  const value = optionalEnv(name);
  if (value === undefined) throw new MissingEnvError(name);
  return value;
}

/** A required positive number (seconds, bytes). */
export function requirePositiveNumber(name: EnvName): number {
  const raw = requireEnv(name);
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new MissingEnvError(name, `expected a positive number, got "${raw}"`);
  return n;
}

/**
 * A whole number in plain digits, at least `min`; `fallback` when the variable is not set
 * (without a fallback it is required).
 */
export function integerEnv(name: EnvName, min: number, fallback?: number): number {
  const raw = optionalEnv(name);
  if (raw === undefined) {
    if (fallback === undefined) throw new MissingEnvError(name);
    return fallback;
  }
  const n = Number(raw);
  if (!/^(0|[1-9][0-9]*)$/.test(raw) || !Number.isSafeInteger(n) || n < min)
    throw new MissingEnvError(name, `expected a whole number of at least ${min}, got "${raw}"`);
  return n;
}

/** An optional positive number: undefined when unset. */
export function optionalPositiveNumber(name: EnvName): number | undefined {
  return optionalEnv(name) === undefined ? undefined : requirePositiveNumber(name);
}

/** JSON array of strings; missing means empty. */
export function stringListEnv(name: EnvName): string[] {
  const raw = optionalEnv(name);
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MissingEnvError(name, 'expected a JSON array of strings');
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new MissingEnvError(name, 'expected a JSON array of non-empty strings');
  }
  return parsed as string[];
}

/** JSON object of string values; missing means empty. */
export function stringMapEnv(name: EnvName): Record<string, string> {
  const raw = optionalEnv(name);
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MissingEnvError(name, 'expected a JSON object');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MissingEnvError(name, 'expected a JSON object');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'string' || v === '')
      throw new MissingEnvError(name, `value for "${k}" must be a non-empty string`);
    out[k] = v;
  }
  return out;
}

/** JSON object of positive numbers (e.g. seconds per name); missing means empty. */
export function numberMapEnv(name: EnvName): Record<string, number> {
  const out: Record<string, number> = {};
  const raw = optionalEnv(name);
  if (raw === undefined) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MissingEnvError(name, 'expected a JSON object of numbers');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new MissingEnvError(name, 'expected a JSON object of numbers');
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new MissingEnvError(name, `value for "${k}" must be a positive number`);
    out[k] = v;
  }
  return out;
}

export const tables = {
  commands: (): string => requireEnv('COMMANDS_TABLE'),
  data: (): string => requireEnv('DATA_TABLE'),
  history: (): string => requireEnv('HISTORY_TABLE'),
  tasks: (): string => requireEnv('TASKS_TABLE'),
  importTmp: (): string => requireEnv('IMPORT_TMP_TABLE'),
};
