/**
 * The multi-language schema. `npm run schema` infers it from the TypeScript sources with
 * Pulumi's analyzer (refined: integers) and writes `schema.json`, which the provider
 * serves; `--check` exits non-zero when the committed file differs.
 */
import * as fs from 'node:fs';
import { formatSchema, inferSchema, schemaPath } from '../components/provider';

if (require.main === module) {
  const next = formatSchema(inferSchema());
  const file = schemaPath();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== next) {
      process.stderr.write(`${file} is out of date: run \`npm run schema\`\n`);
      process.exit(1);
    }
  } else {
    fs.writeFileSync(file, next);
    process.stdout.write(`wrote ${file}\n`);
  }
}
