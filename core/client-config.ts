/**
 * What an application needs to reach one deployment: the `clientConfig` output of the
 * CqrsWorkflows component, read by `createCqrsClient` (which adds the SDK clients).
 * Plain JSON, so it travels through stack outputs, StackReferences and environment
 * variables unchanged.
 */
export interface ClientConfig {
  /** AWS region of the deployment. */
  region: string;
  /** Physical names of the tables the client writes to and reads from. */
  tables: ClientTables;
  /** Name of the import bucket (uploads go under `imports/`). */
  importBucket: string;
  /** ARN of the main SNS topic (imports are started through it). */
  mainTopicArn: string;
  /** CSV files up to this many bytes are imported in DIRECT mode, larger ones by the import-csv machine (integer). */
  directImportMaxBytes: number;
}

/** Physical table names, by the client's names for them. */
export interface ClientTables {
  /** The `commands` table. */
  commands: string;
  /** The `data` table (latest version of each entity). */
  data: string;
  /** The `tasks` table. */
  tasks: string;
  /** The `import_tmp` table (import jobs and their rows). */
  importTmp: string;
}

function text(value: unknown, where: string, problems: string[]): string {
  if (typeof value === 'string' && value !== '') return value;
  problems.push(`${where} must be a non-empty string, got ${JSON.stringify(value) ?? 'undefined'}`);
  return '';
}

/**
 * Checks a `clientConfig` value that crossed a process boundary (a JSON environment
 * variable, a StackReference output). Accepts the JSON text or the parsed value;
 * throws one error listing every missing or malformed field.
 */
export function parseClientConfig(value: unknown): ClientConfig {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new Error(`clientConfig is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`clientConfig must be an object, got ${JSON.stringify(parsed) ?? 'undefined'}`);
  }
  const raw = parsed as Record<string, unknown>;
  const problems: string[] = [];
  const tablesRaw = (raw.tables !== null && typeof raw.tables === 'object' ? raw.tables : {}) as Record<
    string,
    unknown
  >;
  const config: ClientConfig = {
    region: text(raw.region, 'region', problems),
    tables: {
      commands: text(tablesRaw.commands, 'tables.commands', problems),
      data: text(tablesRaw.data, 'tables.data', problems),
      tasks: text(tablesRaw.tasks, 'tables.tasks', problems),
      importTmp: text(tablesRaw.importTmp, 'tables.importTmp', problems),
    },
    importBucket: text(raw.importBucket, 'importBucket', problems),
    mainTopicArn: text(raw.mainTopicArn, 'mainTopicArn', problems),
    directImportMaxBytes: 0,
  };
  const bytes = raw.directImportMaxBytes;
  if (typeof bytes === 'number' && Number.isInteger(bytes) && bytes >= 0) config.directImportMaxBytes = bytes;
  else problems.push(`directImportMaxBytes must be an integer >= 0, got ${JSON.stringify(bytes) ?? 'undefined'}`);
  if (problems.length > 0) throw new Error(`invalid clientConfig:\n  - ${problems.join('\n  - ')}`);
  return config;
}
