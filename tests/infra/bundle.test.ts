import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleHandler } from '../../components/bundle';
import { FUNCTION_KEYS } from '../../components/function-catalog';
import { ofType, synthStack, T } from '../support/synth';

describe('handler bundles', () => {
  it('are byte-identical across builds (no spurious diff on pulumi up)', () => {
    for (const key of FUNCTION_KEYS) {
      const a = bundleHandler(key, { cache: false });
      const b = bundleHandler(key, { cache: false });
      assert.equal(a.sha256, b.sha256, key);
      assert.equal(a.code, b.code, key);
      assert.ok(
        !a.sourceMap.includes(path.resolve(__dirname, '..', '..')),
        `${key}: source map holds an absolute path`,
      );
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
});
