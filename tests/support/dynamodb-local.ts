/**
 * AWS DynamoDB Local (the jar shipped by the `local-dynamo` package, Java 17+) for handler
 * tests: started on a free loopback port, waited for until it answers, tables created with
 * the stack's schema (pk/sk strings, streams NEW_IMAGE on commands/tasks/import_tmp), and
 * killed at the end (mocha root `after` hook and process exit).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

export interface LocalDynamo {
  endpoint: string;
  port: number;
  client: DynamoDBClient;
  /** Physical names of the five tables. */
  tables: { commands: string; data: string; history: string; tasks: string; importTmp: string };
  stop(): Promise<void>;
}

const STREAM_TABLES = new Set(['commands', 'tasks', 'import_tmp']);

function jarDir(): string {
  const pkg = require.resolve('local-dynamo/package.json');
  const dir = join(dirname(pkg), 'aws_dynamodb_local');
  if (!existsSync(join(dir, 'DynamoDBLocal.jar'))) throw new Error(`DynamoDBLocal.jar not found in ${dir}`);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitUntilReady(
  client: DynamoDBClient,
  proc: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${proc.exitCode}:\n${output()}`);
    try {
      await client.send(new ListTablesCommand({}));
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms: ${String(lastError)}\n${output()}`);
}

async function createTables(client: DynamoDBClient, prefix: string): Promise<LocalDynamo['tables']> {
  const names = {
    commands: 'commands',
    data: 'data',
    history: 'history',
    tasks: 'tasks',
    importTmp: 'import_tmp',
  } as const;
  const out = {} as LocalDynamo['tables'];
  for (const [logical, suffix] of Object.entries(names) as Array<[keyof LocalDynamo['tables'], string]>) {
    const TableName = `${prefix}-${suffix}`;
    await client.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        ...(STREAM_TABLES.has(suffix)
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }
          : {}),
      }),
    );
    out[logical] = TableName;
  }
  return out;
}

export async function startDynamoDbLocal(options: { prefix?: string; timeoutMs?: number } = {}): Promise<LocalDynamo> {
  const dir = jarDir();
  const port = await freePort();
  const proc = spawn(
    'java',
    [
      '-Xmx512m',
      `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(dir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const kill = (): void => {
    if (proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
  };
  process.once('exit', kill);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await waitUntilReady(client, proc, () => output, options.timeoutMs ?? 60000);
    const tables = await createTables(client, options.prefix ?? 'cqrs-test');
    return {
      endpoint,
      port,
      client,
      tables,
      async stop() {
        client.destroy();
        process.removeListener('exit', kill);
        if (proc.exitCode !== null) return;
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            kill();
            resolve();
          }, 5000);
          proc.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          proc.kill('SIGTERM');
        });
      },
    };
  } catch (err) {
    kill();
    throw err;
  }
}

let shared: Promise<LocalDynamo> | undefined;

/**
 * One DynamoDB Local for the whole mocha run (started by the first suite that asks), stopped
 * by a root `after` hook registered when this module is loaded by a test file.
 */
export function sharedDynamoDbLocal(): Promise<LocalDynamo> {
  if (!shared) shared = startDynamoDbLocal();
  return shared;
}

if (typeof after === 'function') {
  after(async function () {
    this.timeout(20000);
    if (shared) {
      const db = await shared.catch(() => undefined);
      shared = undefined;
      await db?.stop();
    }
  });
}
