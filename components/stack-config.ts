/**
 * The stack configuration: one schema that the program validates against, that
 * `Pulumi.yaml` declares and that README documents (tests keep the three equal).
 */
import {
  DEFAULT_IMPORT_RECORD_RETENTION_DAYS,
  DEFAULT_ZIP_BOUNDS,
  ZIP_HISTORY_EVENTS_PER_FILE,
  ZIP_MAX_FILES_HISTORY_BOUND,
} from '../core/limits';
import { CommandPath, DEFAULT_DIRECT_IMPORT_MAX_BYTES } from '../core/status';
import { longestQueueVisibility } from './messaging';
import { defaultPrefix, prefixProblem } from './naming';
import { IMPORT_CSV_DEFAULTS } from './workflows/import-csv-definition';

export const CONFIG_NAMESPACE = 'cqrs-workflows';

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

interface BaseSpec {
  description: string;
}
interface IntegerSpec extends BaseSpec {
  type: 'integer';
  default: number;
  min: number;
  max: number;
  oneOf?: readonly number[];
}
interface BooleanSpec extends BaseSpec {
  type: 'boolean';
  default: boolean;
}
interface StringSpec extends BaseSpec {
  type: 'string';
  default: string;
  oneOf?: readonly string[];
  /** Returns a reason when the value is not acceptable. */
  check?: (value: string) => string | undefined;
}
interface StringListSpec extends BaseSpec {
  type: 'array';
  default: readonly string[];
  itemCheck?: (value: string) => string | undefined;
}
export type ConfigSpec = IntegerSpec | BooleanSpec | StringSpec | StringListSpec;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const CONFIG_SCHEMA = {
  namePrefix: {
    type: 'string',
    default: '',
    description: 'Prefix of every physical name (`<prefix>-<name>`). Empty means `cqrs-<stack>`.',
    check: (v: string) => (v === '' ? undefined : prefixProblem(v)),
  },
  deletionProtection: {
    type: 'boolean',
    default: false,
    description: 'DynamoDB deletion protection on every table.',
  },
  protectData: {
    type: 'boolean',
    default: false,
    description: 'Pulumi `protect` on tables and the import bucket, so `pulumi destroy` refuses to delete data.',
  },
  logRetentionDays: {
    type: 'integer',
    default: 14,
    min: 1,
    max: 3653,
    oneOf: LOG_RETENTION_DAYS,
    description: 'Retention of every Lambda and state machine log group, in days.',
  },
  stateMachineLogLevel: {
    type: 'string',
    default: 'ERROR',
    oneOf: ['ALL', 'ERROR', 'FATAL'],
    description:
      'Step Functions logging level (logging stays on; the policy pack requires it). `ALL` logs every state transition.',
  },
  includeExecutionData: {
    type: 'boolean',
    default: false,
    description:
      "Include execution input/output in state machine logs. Off by default: inputs carry imported rows and commands' keys; turn on only where that data may sit in CloudWatch Logs.",
  },
  alarmEmails: {
    type: 'array',
    default: [],
    description: 'E-mail addresses subscribed to the alarm topic.',
    itemCheck: (v: string) => (EMAIL.test(v) ? undefined : 'is not an e-mail address'),
  },
  maxReceiveCount: {
    type: 'integer',
    default: 5,
    min: 2,
    max: 1000,
    description:
      'Deliveries of an SQS message before it moves to its dead-letter queue. At least 2: the last delivery of a DIRECT import ends its job instead of trying again. `maxReceiveCount` × the longest visibility timeout (5,400 s, import-action) must fit inside `queueRetentionDays`.',
  },
  queueRetentionDays: {
    type: 'integer',
    default: 4,
    min: 1,
    max: 13,
    description:
      'Retention of the work queues, in days. Dead-letter queues keep messages 14 days (the SQS maximum), which must exceed it: a moved message keeps its original enqueue time.',
  },
  lambdaMemoryMb: {
    type: 'integer',
    default: 256,
    min: 128,
    max: 10240,
    description: 'Memory of every handler Lambda, in MB.',
  },
  streamMaxRetryAttempts: {
    type: 'integer',
    default: 3,
    min: 0,
    max: 10,
    description:
      'Retries of a failing DynamoDB stream batch before it goes to its on-failure queue (the stream dead-letter queue; for the commands stream `command-stream-failures`, where execution-watch ends its versions).',
  },
  commandWaitTimeoutSeconds: {
    type: 'integer',
    default: 3600,
    min: 60,
    max: 86400,
    description: '`TimeoutSeconds` of `wait_prev_command`: the longest one wait for the previous version.',
  },
  commandWaitHeartbeatSeconds: {
    type: 'integer',
    default: 300,
    min: 10,
    max: 86399,
    description:
      '`HeartbeatSeconds` of `wait_prev_command`: how often a waiting version re-checks its predecessor. Must be below the timeout.',
  },
  commandMaxWaitSeconds: {
    type: 'integer',
    default: 86400,
    min: 60,
    max: 31536000,
    description: 'Total time a version may wait for its predecessor (across re-checks) before it fails with a reason.',
  },
  commandTtlDays: {
    type: 'integer',
    default: 90,
    min: 1,
    max: 3650,
    description: 'Days a superseded command version is kept before DynamoDB TTL removes it.',
  },
  commandPath: {
    type: 'string',
    default: CommandPath.EXPRESS,
    oneOf: Object.values(CommandPath),
    description:
      "Which machines run a command version. `EXPRESS`: one EXPRESS run per version (started by the stream router), the STANDARD `command-wait` machine only for versions that wait for their predecessor — about a tenth of the price. `STANDARD`: the seed's shape, one STANDARD execution per version, every command in the execution history.",
  },
  syncMaxConcurrency: {
    type: 'integer',
    default: 10,
    min: 1,
    max: 40,
    description: '`MaxConcurrency` of `sync_data_all` (sync targets run at once).',
  },
  taskMaxConcurrency: {
    type: 'integer',
    default: 2,
    min: 1,
    max: 40,
    description: "`MaxConcurrency` of the task machine's `map_state`.",
  },
  taskTimeoutSeconds: {
    type: 'integer',
    default: 900,
    min: 60,
    max: 31536000,
    description: 'Overall `TimeoutSeconds` of the task machine.',
  },
  importMaxItemsPerBatch: {
    type: 'integer',
    default: IMPORT_CSV_DEFAULTS.maxItemsPerBatch,
    min: 1,
    max: 10000,
    description:
      "`ItemBatcher.MaxItemsPerBatch` of the CSV import's Distributed Map: at most this many rows per child execution; a batch also stays under 120 KiB (`MaxInputBytesPerBatch`), which decides for rows of ordinary size (about 400 rows of 200 bytes).",
  },
  importMaxConcurrency: {
    type: 'integer',
    default: 50,
    min: 1,
    max: 1000,
    description: "`MaxConcurrency` of the CSV import's Distributed Map (child executions at once).",
  },
  importToleratedFailurePercentage: {
    type: 'integer',
    default: 5,
    min: 0,
    max: 100,
    description:
      "`ToleratedFailurePercentage` of the CSV import's Distributed Map (failed child batches, not invalid rows).",
  },
  zipChildTimeoutSeconds: {
    type: 'integer',
    default: 3600,
    min: 60,
    max: 86400,
    description: '`TimeoutSeconds` of `trigger_single_csv_and_wait`: the longest one CSV of a ZIP may take.',
  },
  directImportMaxBytes: {
    type: 'integer',
    default: DEFAULT_DIRECT_IMPORT_MAX_BYTES,
    min: 0,
    max: 52428800,
    description:
      'CSV files up to this size are imported in `DIRECT` mode (one Lambda); larger ones by the import-csv machine. `0`: never DIRECT.',
  },
  importAccessLogging: {
    type: 'boolean',
    default: false,
    description:
      'S3 server access logging of the import bucket (who read or wrote which file) into a private log bucket `<prefix>-import-logs-<account>`, kept `logRetentionDays` days.',
  },
  importResultRetentionDays: {
    type: 'integer',
    default: 30,
    min: 1,
    max: 3650,
    description:
      'Days the import bucket keeps what an import derives from an upload: unzipped CSVs (`unzipped/`), staged rows (`staged/`) and Distributed Map results (`import-results/`). Offloaded payloads (`payloads/`) are kept: command, history and data rows reference them.',
  },
  importUploadRetentionDays: {
    type: 'integer',
    default: 30,
    min: 0,
    max: 3650,
    description: 'Days the import bucket keeps uploaded files (`imports/`). `0`: keep them.',
  },
  importRecordRetentionDays: {
    type: 'integer',
    default: DEFAULT_IMPORT_RECORD_RETENTION_DAYS,
    min: 1,
    max: 3650,
    description:
      "Days `import_tmp` keeps an import's per-row items (IMPORT_ROW, IMPORT_ERROR, IMPORT_BATCH), counted from the job's creation (DynamoDB TTL). The job row itself, with its counters and summary, is kept.",
  },
  zipMaxEntries: {
    type: 'integer',
    default: DEFAULT_ZIP_BOUNDS.maxEntries,
    min: 1,
    max: 100000,
    description:
      "Entries (of any kind) a ZIP archive may have; a larger archive fails before anything is unzipped. Read from the archive's central directory.",
  },
  zipMaxFiles: {
    type: 'integer',
    default: DEFAULT_ZIP_BOUNDS.maxFiles,
    min: 1,
    max: ZIP_MAX_FILES_HISTORY_BOUND,
    description: `CSV files one ZIP job may import. At most ${ZIP_MAX_FILES_HISTORY_BOUND}: each file adds up to ${ZIP_HISTORY_EVENTS_PER_FILE} events to the import-zip execution, whose history holds 25,000.`,
  },
  zipMaxUncompressedBytes: {
    type: 'integer',
    default: DEFAULT_ZIP_BOUNDS.maxUncompressedBytes,
    min: 1,
    max: 10737418240,
    description:
      'Uncompressed bytes of the CSV files of one ZIP archive together, checked on the central directory before anything is written and again while streaming.',
  },
  zipMaxCompressionRatio: {
    type: 'integer',
    default: DEFAULT_ZIP_BOUNDS.maxCompressionRatio,
    min: 1,
    max: 10000,
    description:
      'Largest uncompressed ÷ compressed size of a CSV entry of a ZIP archive (a guard against ZIP bombs); the whole archive fails before anything is written.',
  },
  dashboard: {
    type: 'boolean',
    default: true,
    description:
      'Create the CloudWatch operations dashboard `<prefix>-operations` (alarms, business metrics, executions, queues, functions).',
  },
} as const satisfies Record<string, ConfigSpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

type ValueOf<S> = S extends { type: 'integer' }
  ? number
  : S extends { type: 'boolean' }
    ? boolean
    : S extends { type: 'array' }
      ? string[]
      : string;

/** The validated settings of one stack. */
export type StackSettings = { -readonly [K in ConfigKey]: ValueOf<(typeof CONFIG_SCHEMA)[K]> } & {
  /** The resolved prefix (namePrefix, or `cqrs-<stack>` when empty). */
  prefix: string;
  stack: string;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseValue(key: string, spec: ConfigSpec, raw: string): { value?: unknown; problem?: string } {
  const fullKey = `${CONFIG_NAMESPACE}:${key}`;
  const show = JSON.stringify(raw);
  switch (spec.type) {
    case 'integer': {
      // Plain digits only: Number() would also take "1e3", "0x10", " 7 " and "+7".
      const n = Number(raw);
      if (!/^-?(0|[1-9][0-9]*)$/.test(raw) || !Number.isSafeInteger(n)) {
        return { problem: `${fullKey} = ${show}: must be a whole number from ${spec.min} to ${spec.max}` };
      }
      if (spec.oneOf && !spec.oneOf.includes(n)) {
        return { problem: `${fullKey} = ${show}: must be one of ${spec.oneOf.join(', ')}` };
      }
      if (n < spec.min || n > spec.max) {
        return { problem: `${fullKey} = ${show}: must be from ${spec.min} to ${spec.max}` };
      }
      return { value: n };
    }
    case 'boolean':
      if (raw === 'true' || raw === 'false') return { value: raw === 'true' };
      return { problem: `${fullKey} = ${show}: must be true or false` };
    case 'string': {
      if (spec.oneOf && !spec.oneOf.includes(raw)) {
        return { problem: `${fullKey} = ${show}: must be one of ${spec.oneOf.join(', ')}` };
      }
      const reason = spec.check?.(raw);
      return reason ? { problem: `${fullKey} = ${show}: ${reason}` } : { value: raw };
    }
    case 'array': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return { problem: `${fullKey} = ${show}: must be a list of strings` };
      }
      if (!Array.isArray(parsed) || parsed.some((v) => typeof v !== 'string')) {
        return { problem: `${fullKey} = ${show}: must be a list of strings` };
      }
      for (const item of parsed as string[]) {
        const reason = spec.itemCheck?.(item);
        if (reason) return { problem: `${fullKey} item ${JSON.stringify(item)} ${reason}` };
      }
      return { value: parsed };
    }
  }
}

/** Checks between keys whose values are each valid on their own. */
function relatedProblems(values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const receives = values.maxReceiveCount as number;
  const retentionDays = values.queueRetentionDays as number;
  const { queue, seconds } = longestQueueVisibility();
  if (receives * seconds > retentionDays * 86400) {
    problems.push(
      `${CONFIG_NAMESPACE}:maxReceiveCount = ${receives}: ${receives} deliveries × ${seconds} s visibility timeout (${queue}) = ${receives * seconds} s, ` +
        `longer than queueRetentionDays (${retentionDays} days = ${retentionDays * 86400} s): a failing message would expire before it reaches its dead-letter queue`,
    );
  }
  const files = values.zipMaxFiles as number;
  const entries = values.zipMaxEntries as number;
  if (files > entries)
    problems.push(`${CONFIG_NAMESPACE}:zipMaxFiles = ${files}: must not exceed zipMaxEntries (${entries})`);
  return problems;
}

/**
 * Validates every key at once and throws one ConfigError listing each bad key with
 * its value and what is allowed, before any resource exists.
 *
 * @param read returns the raw string of a key (as `pulumi.Config.get` does), or undefined.
 * @param knownKeys every key set in the stack's namespace, to catch typos.
 */
export function loadStackSettings(
  stack: string,
  read: (key: string) => string | undefined,
  knownKeys: readonly string[] = [],
): StackSettings {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [ConfigKey, ConfigSpec][]) {
    const raw = read(key);
    if (raw === undefined) {
      values[key] = Array.isArray(spec.default) ? [...(spec.default as readonly unknown[])] : spec.default;
      continue;
    }
    const { value, problem } = parseValue(key, spec, raw);
    if (problem) problems.push(problem);
    else values[key] = value;
  }
  for (const key of knownKeys) {
    if (!(key in CONFIG_SCHEMA)) {
      problems.push(
        `${CONFIG_NAMESPACE}:${key} is not a known setting (known: ${Object.keys(CONFIG_SCHEMA).join(', ')})`,
      );
    }
  }
  if (problems.length === 0) {
    const heartbeat = values.commandWaitHeartbeatSeconds as number;
    const timeout = values.commandWaitTimeoutSeconds as number;
    if (heartbeat >= timeout) {
      problems.push(
        `${CONFIG_NAMESPACE}:commandWaitHeartbeatSeconds = ${heartbeat}: must be below commandWaitTimeoutSeconds (${timeout})`,
      );
    }
    const maxWait = values.commandMaxWaitSeconds as number;
    if (maxWait < timeout) {
      problems.push(
        `${CONFIG_NAMESPACE}:commandMaxWaitSeconds = ${maxWait}: must be at least commandWaitTimeoutSeconds (${timeout})`,
      );
    }
    problems.push(...relatedProblems(values));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const namePrefix = values.namePrefix as string;
  return {
    ...(values as Omit<StackSettings, 'prefix' | 'stack'>),
    prefix: namePrefix === '' ? defaultPrefix(stack) : namePrefix,
    stack,
  };
}
