import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = path.resolve(__dirname, '..', '..');

interface LayersModule {
  createLayersPlugin(projectRoot: string): ESLint.Plugin;
  LAYERS: Record<string, string[]>;
}

/** Lints `code` as if it were the file at `file` with the project's layer rule only (no type information needed). */
async function crossings(eslint: ESLint, file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return result.messages.map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

describe('import layers (docs/architecture.md)', function () {
  let layers: LayersModule;
  let eslint: ESLint;

  before(async () => {
    layers = (await import(path.join(root, 'tools', 'eslint-layers.mjs'))) as LayersModule;
    eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        {
          files: ['**/*.ts'],
          languageOptions: { parser: tseslint.parser as never },
          plugins: { layers: layers.createLayersPlugin(root) },
          rules: { 'layers/imports': 'error' },
        },
      ],
    });
  });

  it('is switched on for every TypeScript file by the project config', async () => {
    const real = new ESLint({ cwd: root });
    for (const file of ['core/status.ts', 'handlers/command-step.ts', 'client/index.ts', 'components/index.ts']) {
      const config = (await real.calculateConfigForFile(path.join(root, file))) as { rules: Record<string, unknown> };
      assert.deepEqual(config.rules['layers/imports'], [2], file);
    }
  });

  it('passes on the whole tree', async () => {
    const results = await eslint.lintFiles([
      'core',
      'handlers',
      'client',
      'components',
      'policies',
      'index.ts',
      'program.ts',
    ]);
    // Only this rule is loaded here; other rules' disable comments are not this test's concern.
    const found = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === 'layers/imports')
        .map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.message}`),
    );
    assert.ok(results.length > 100, `linted ${results.length} files`);
    assert.deepEqual(found, []);
  });

  const wrong: Array<[string, string, string]> = [
    [
      'client/commands.ts',
      "import { log } from '../handlers/shared/log';",
      'client/ may not import handlers/shared/log',
    ],
    [
      'client/index.ts',
      "export { handler } from '../handlers/command-step';",
      'client/ may not import handlers/command-step',
    ],
    [
      'handlers/triggers/router.ts',
      "import { publishCommand } from '../../client/commands';",
      'handlers/ may not import client/commands',
    ],
    [
      'handlers/import/csv.ts',
      "const c = require('../../components/naming');",
      'handlers/ may not import components/naming',
    ],
    ['core/keys.ts', "import { log } from '../handlers/shared/log';", 'core/ may not import handlers/shared/log'],
    ['core/status.ts', "import type { CqrsClient } from '../client';", 'core/ may not import client'],
    [
      'components/messaging.ts',
      "import { Action } from '../handlers/shared/notify';",
      'components/ may not import handlers/shared/notify',
    ],
    [
      'components/tables.ts',
      "import { createCqrsClient } from '../client/index';",
      'components/ may not import client',
    ],
    [
      'policies/rules/iam.ts',
      "import { CqrsWorkflows } from '../../components/cqrs-workflows';",
      'policies/ may not import components/cqrs-workflows',
    ],
    [
      'program.ts',
      "import { handler } from './handlers/stream-router';",
      '(root)/ may not import handlers/stream-router',
    ],
  ];
  for (const [file, code, expected] of wrong) {
    it(`fails ${file}: ${code}`, async () => {
      const messages = await crossings(eslint, file, code);
      assert.equal(messages.length, 1, messages.join('\n'));
      assert.ok(messages[0].startsWith('layers/imports: ') && messages[0].includes(expected), messages[0]);
    });
  }

  const right: Array<[string, string]> = [
    ['handlers/triggers/router.ts', "import { publishCommandWith } from '../../core/commands';"],
    ['client/commands.ts', "import { publishCommandWith } from '../core/commands';"],
    ['components/bundle.ts', "import { handlerBundleOptions } from '../handlers/bundle-options';"],
    ['components/messaging.ts', "import { Action } from '../core/status';"],
    ['handlers/import/csv.ts', "import { log } from '../shared/log';"],
    ['tests/x.test.ts', "import { router } from '../handlers/triggers/router';"],
    ['program.ts', "import { CqrsWorkflows } from './components/cqrs-workflows';"],
  ];
  for (const [file, code] of right) {
    it(`allows ${file}: ${code}`, async () => {
      assert.deepEqual(await crossings(eslint, file, code), []);
    });
  }
});
