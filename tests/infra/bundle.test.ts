import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildSync } from 'esbuild';
import { bundleAllHandlers, bundleHandler, HANDLER_BUILD_OPTIONS } from '../../components/bundle';
import { S3_ON_MAIN_PATH } from '../../handlers/bundle-options';
import { FUNCTION_KEYS } from '../../components/function-catalog';
import { ofType, ROOT, synthStack, T } from '../support/synth';

describe('handler bundles', () => {
  it('are byte-identical across builds (no spurious diff on pulumi up)', () => {
    const first = bundleAllHandlers({ cache: false });
    const second = bundleAllHandlers({ cache: false });
    for (const key of FUNCTION_KEYS) {
      const a = first[key];
      const b = second[key];
      assert.equal(a.sha256, b.sha256, key);
      assert.deepEqual(a.files, b.files, key);
      for (const [file, text] of Object.entries(a.files)) {
        assert.ok(!text.includes(path.resolve(__dirname, '..', '..')), `${key}: ${file} holds an absolute path`);
      }
    }
  });

  it('load the S3 SDK from a file of its own only where S3 is off the main path', () => {
    const withLazySdk: string[] = [];
    const deployed = bundleAllHandlers();
    const s3Bundled = bundleAllHandlers({ lazyS3Sdk: false });
    for (const key of FUNCTION_KEYS) {
      const lazy = deployed[key];
      const eager = s3Bundled[key];
      assert.ok(lazy.files['index.js'] && lazy.files['index.js.map'], key);
      if (S3_ON_MAIN_PATH.includes(key)) {
        assert.deepEqual(Object.keys(lazy.files).sort(), ['index.js', 'index.js.map'], key);
        assert.equal(lazy.sha256, eager.sha256, `${key}: the import steps keep the S3 client in their bundle`);
        continue;
      }
      if (lazy.lazyBytes === 0) {
        // Never reaches S3 (the notification consumer, command-step): the same archive either way.
        assert.equal(lazy.sha256, eager.sha256, key);
        continue;
      }
      withLazySdk.push(key);
      assert.ok(lazy.files['s3-sdk.js'], `${key} reaches S3, so its archive carries s3-sdk.js`);
      assert.equal(lazy.lazyBytes, Buffer.byteLength(lazy.files['s3-sdk.js']));
      assert.ok(
        lazy.sizeBytes < eager.sizeBytes - 50_000,
        `${key}: ${lazy.sizeBytes} bytes at cold start, ${eager.sizeBytes} with the S3 SDK bundled`,
      );
    }
    assert.deepEqual(withLazySdk, ['task-step', 'stream-router', 'task-action-consumer', 'execution-watch']);
  });

  it('give an archive whose handler and lazily loaded S3 SDK load in a fresh Node process', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-archive-'));
    try {
      const bundle = bundleHandler('execution-watch');
      for (const [file, text] of Object.entries(bundle.files)) fs.writeFileSync(path.join(dir, file), text);
      // The handler asks for the SDK by this name, next to it in the archive (core/s3-sdk-loader.ts).
      assert.ok(bundle.files['index.js'].includes('"./s3-sdk.js"'));
      const script = [
        `const h = require(${JSON.stringify(path.join(dir, 'index.js'))});`,
        // Loading the handler must not load the SDK: that is the point of the separate file.
        `if (Object.keys(require.cache).some((f) => f.endsWith('s3-sdk.js'))) throw new Error('s3-sdk.js loaded eagerly');`,
        `const sdk = require(${JSON.stringify(path.join(dir, 's3-sdk.js'))});`,
        `const names = ['S3Client', 'GetObjectCommand', 'HeadObjectCommand', 'PutObjectCommand'];`,
        `process.stdout.write(JSON.stringify({ handler: typeof h.handler, sdk: names.filter((n) => typeof sdk.S3_SDK[n] === 'function') }));`,
      ].join('\n');
      const res = spawnSync(process.execPath, ['-e', script], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1' },
      });
      assert.equal(res.status, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), {
        handler: 'function',
        sdk: ['S3Client', 'GetObjectCommand', 'HeadObjectCommand', 'PutObjectCommand'],
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('change when the handler changes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-bundle-'));
    const entry = path.join(dir, 'probe.ts');
    try {
      fs.writeFileSync(entry, 'export const handler = async () => ({ answer: 41 });\n');
      const before = bundleHandler(entry, { cache: false });
      fs.writeFileSync(entry, 'export const handler = async () => ({ answer: 42 });\n');
      const after = bundleHandler(entry, { cache: false });
      assert.notEqual(before.sha256, after.sha256);
      fs.writeFileSync(entry, 'export const handler = async () => ({ answer: 41 });\n');
      assert.equal(bundleHandler(entry, { cache: false }).sha256, before.sha256);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('give the same Lambda code asset in two separate runs of the program', async () => {
    const first = await synthStack('dev');
    const second = await synthStack('dev', { preview: true });
    const code = (r: typeof first) =>
      Object.fromEntries(
        ofType(r.resources, T.lambda).map((l) => [String(l.inputs.name), JSON.stringify(l.inputs.code)]),
      );
    const a = code(first);
    assert.equal(Object.keys(a).length, FUNCTION_KEYS.length);
    assert.deepEqual(code(second), a);
    for (const serialized of Object.values(a)) assert.match(serialized, /index\.js/);
  });

  it("carry one DynamoDB client even when the consumer's node_modules holds two copies of it", () => {
    // The layout npm makes when a consumer has its own @aws-sdk/client-dynamodb at a
    // version outside our range: ours nested under cqrs-workflows, theirs (and the
    // lib-dynamodb whose peer it is) at the top.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-dedupe-'));
    const sdk = (name: string) => path.join(ROOT, 'node_modules', '@aws-sdk', name);
    const pkgDir = path.join(dir, 'node_modules', 'cqrs-workflows');
    try {
      const copy = (from: string, to: string) => fs.cpSync(from, to, { recursive: true });
      copy(sdk('client-dynamodb'), path.join(dir, 'node_modules', '@aws-sdk', 'client-dynamodb'));
      copy(sdk('lib-dynamodb'), path.join(dir, 'node_modules', '@aws-sdk', 'lib-dynamodb'));
      copy(sdk('client-dynamodb'), path.join(pkgDir, 'node_modules', '@aws-sdk', 'client-dynamodb'));
      for (const part of ['handlers', 'core', 'package.json', 'tsconfig.json'])
        copy(path.join(ROOT, part), path.join(pkgDir, part));

      const dynamoCopies = (options: typeof HANDLER_BUILD_OPTIONS) => {
        const result = buildSync({
          ...options,
          logLevel: 'silent',
          absWorkingDir: pkgDir,
          // Everything else resolves from the project's own node_modules.
          nodePaths: [path.join(ROOT, 'node_modules')],
          entryPoints: [path.join(pkgDir, 'handlers', 'command-step.ts')],
          outfile: path.join(pkgDir, '.bundle', 'index.js'),
          write: false,
          metafile: true,
        });
        const roots = new Set<string>();
        for (const [file, info] of Object.entries(result.metafile.outputs['.bundle/index.js']?.inputs ?? {})) {
          const m = /^(.*@aws-sdk\/client-dynamodb)\//.exec(file);
          if (m && info.bytesInOutput > 0) roots.add(m[1]);
        }
        return [...roots];
      };

      const withoutAlias = { ...HANDLER_BUILD_OPTIONS, alias: {} };
      assert.equal(dynamoCopies(withoutAlias).length, 2, 'the layout reproduces two clients without the alias');
      assert.deepEqual(dynamoCopies(HANDLER_BUILD_OPTIONS), ['node_modules/@aws-sdk/client-dynamodb']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
