import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The folder of this package's package.json, whether the components run from
 * source (`components/`) or from the published build (`dist/components/`).
 */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'cqrs-workflows') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the cqrs-workflows package root above ${__dirname}`);
    dir = parent;
  }
}
