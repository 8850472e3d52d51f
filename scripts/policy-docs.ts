/**
 * Renders the policy pack's rule and setting tables from its rule catalog (each rule's
 * description, level, documentation and configSchema). `--write` updates
 * policies/README.md between its markers; a test compares them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ruleCatalog } from '../policies/rules/catalog';

export const README = path.join(__dirname, '..', 'policies', 'README.md');
const MARKERS = {
  rules: ['<!-- rules:begin -->', '<!-- rules:end -->'],
  settings: ['<!-- settings:begin -->', '<!-- settings:end -->'],
} as const;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function rulesTable(): string {
  const rows = Object.entries(ruleCatalog).map(
    ([name, { policy, docs }]) =>
      `| \`${name}\` | ${policy.enforcementLevel ?? 'advisory'} | ${cell(docs.checks)} | ${cell(docs.protectsAgainst)} |`,
  );
  return ['| policy | default level | checks | protects against |', '|---|---|---|---|', ...rows].join('\n');
}

export function settingsTable(): string {
  const rows: string[] = [];
  for (const [name, { policy }] of Object.entries(ruleCatalog)) {
    for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
      const range = [
        schema.minimum !== undefined ? `≥ ${String(schema.minimum)}` : '',
        schema.maximum !== undefined ? `≤ ${String(schema.maximum)}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      rows.push(
        `| \`${key}\` | \`${name}\` | ${String(schema.type)}${range ? ` (${range})` : ''} | ${JSON.stringify(schema.default)} | ${cell(schema.description ?? '')} |`,
      );
    }
  }
  return ['| setting | policy | type | default | description |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** The README with both tables replaced by what the catalog says. */
export function renderReadme(current: string): string {
  let out = current;
  for (const [key, [begin, end]] of Object.entries(MARKERS)) {
    const start = out.indexOf(begin);
    const stop = out.indexOf(end);
    if (start < 0 || stop < start) throw new Error(`policies/README.md has no ${begin} … ${end} section`);
    const table = key === 'rules' ? rulesTable() : settingsTable();
    out = `${out.slice(0, start + begin.length)}\n${table}\n${out.slice(stop)}`;
  }
  return out;
}

if (require.main === module) {
  const current = fs.readFileSync(README, 'utf8');
  const next = renderReadme(current);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(README, next);
    console.log(next === current ? 'policies/README.md is up to date' : 'policies/README.md updated');
  } else {
    process.stdout.write(`${rulesTable()}\n\n${settingsTable()}\n`);
  }
}
