import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { handlerEntryPath, HANDLER_BUILD_OPTIONS } from '../../components/bundle';
import { FUNCTION_KEYS, type FunctionKey } from '../../components/function-catalog';
import { ROOT, ofType, synthStack, T } from '../support/synth';

/** SDK v3 command class → the IAM action it needs. */
const ACTION_OF: Record<string, string[]> = {
  GetCommand: ['dynamodb:GetItem'],
  PutCommand: ['dynamodb:PutItem'],
  UpdateCommand: ['dynamodb:UpdateItem'],
  QueryCommand: ['dynamodb:Query'],
  BatchGetCommand: ['dynamodb:BatchGetItem'],
  BatchWriteCommand: ['dynamodb:BatchWriteItem'],
  GetObjectCommand: ['s3:GetObject'],
  HeadObjectCommand: ['s3:GetObject'],
  PutObjectCommand: ['s3:PutObject'],
  // a multipart upload is authorised as PutObject (csv_loader stages large files this way)
  CreateMultipartUploadCommand: ['s3:PutObject'],
  UploadPartCommand: ['s3:PutObject'],
  CompleteMultipartUploadCommand: ['s3:PutObject'],
  AbortMultipartUploadCommand: ['s3:AbortMultipartUpload'],
  InvokeCommand: ['lambda:InvokeFunction'],
  PublishCommand: ['sns:Publish'],
  SendTaskSuccessCommand: ['states:SendTaskSuccess'],
  SendTaskFailureCommand: ['states:SendTaskFailure'],
  StartExecutionCommand: ['states:StartExecution'],
  DescribeExecutionCommand: ['states:DescribeExecution'],
};

/** Actions the code reaches that a regex over `new XCommand(` cannot see. */
const INDIRECT: Record<string, string[]> = {
  // TransactWriteItems is authorised per item: the items are Put/Update, matched below.
  TransactWriteCommand: [],
};

/**
 * Commands the clients carry for features these handlers leave off: DynamoDB
 * endpoint discovery (off by default) and S3 Express sessions (directory buckets only).
 */
const SDK_INTERNAL = new Set(['DescribeEndpointsCommand', 'CreateSessionCommand']);

/** Grants that come from the platform, not from a call in the handler's code. */
const PLATFORM = new Set([
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
  'sqs:SendMessage',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
  'kms:GenerateDataKey',
  'kms:Decrypt',
  's3:AbortMultipartUpload',
]);

/**
 * The SDK commands that survive tree-shaking in the handler's bundle: each SDK v3
 * command is its own module (`…/commands/PutItemCommand.js`), so one with bytes in
 * the output is one the handler can send.
 */
function commandsIn(key: FunctionKey): string[] {
  const result = buildSync({
    ...HANDLER_BUILD_OPTIONS,
    logLevel: 'silent',
    absWorkingDir: ROOT,
    entryPoints: [handlerEntryPath(key)],
    outfile: path.join(ROOT, '.bundle', 'index.js'),
    write: false,
    metafile: true,
  });
  const [, output] = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js')) ?? [];
  assert.ok(output, `no bundle for ${key}`);
  const bundled = new Set<string>();
  const constructed = new Set<string>();
  for (const [file, info] of Object.entries(output.inputs)) {
    if (info.bytesInOutput === 0) continue;
    const m = /node_modules\/@aws-sdk\/(client|lib)-[a-z0-9-]+\/dist-[a-z]+\/commands\/([A-Za-z]+Command)\.js$/.exec(
      file,
    );
    if (m) bundled.add(m[2]);
    if (file.startsWith('handlers/') || file.startsWith('core/')) {
      for (const [, command] of fs
        .readFileSync(path.join(ROOT, file), 'utf8')
        .matchAll(/new ([A-Z][A-Za-z]+Command)\(/g))
        constructed.add(command);
    }
  }
  // Constructed by our code (file level) and kept by tree-shaking (module level):
  // SDK modules alone over-count (clients keep commands they never send), our
  // files alone over-count (a shared module's unused helpers).
  return [...constructed].filter((c) => bundled.has(c));
}

function actionsUsedBy(key: FunctionKey): { used: Set<string>; transactional: boolean } {
  const used = new Set<string>();
  let transactional = false;
  for (const command of commandsIn(key)) {
    if (SDK_INTERNAL.has(command)) continue;
    if (command in INDIRECT) {
      transactional = true;
      continue;
    }
    const actions = ACTION_OF[command];
    assert.ok(actions, `${key}: no IAM mapping for ${command}; add it to this test`);
    actions.forEach((a) => used.add(a));
  }
  return { used, transactional };
}

describe("every handler's role grants what its code calls, and nothing it does not (dev stack)", () => {
  let granted: Record<string, Set<string>>;

  before(async () => {
    const { resources } = await synthStack('dev');
    granted = {};
    for (const key of FUNCTION_KEYS) {
      const policy = ofType(resources, T.rolePolicy).find((p) => p.name === `cqrs-${key}-policy`);
      assert.ok(policy, `no role policy for ${key}`);
      const doc = JSON.parse(String(policy.inputs.policy)) as { Statement: { Action: string[] }[] };
      granted[key] = new Set(doc.Statement.flatMap((s) => s.Action));
    }
  });

  for (const key of FUNCTION_KEYS) {
    it(key, () => {
      const { used, transactional } = actionsUsedBy(key);
      // Executors are invoked only when some are registered; dev registers none.
      const missing = [...used].filter((a) => !granted[key].has(a) && a !== 'lambda:InvokeFunction');
      assert.deepEqual(missing, [], `${key} calls APIs its role does not allow`);
      const unused = [...granted[key]]
        .filter((a) => !used.has(a) && !PLATFORM.has(a))
        .filter(
          // A transaction's Put/Update items need PutItem/UpdateItem.
          (a) => !(transactional && (a === 'dynamodb:PutItem' || a === 'dynamodb:UpdateItem')),
        );
      assert.deepEqual(unused, [], `${key} is granted actions its code never calls`);
    });
  }
});
