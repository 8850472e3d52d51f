/**
 * Renders the config schema as the `config:` block of Pulumi.yaml and as the
 * README table. `--write` updates both files; tests compare them with the schema.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { CONFIG_SCHEMA, type ConfigSpec } from '../components/stack-config';

const root = path.join(__dirname, '..');
export const README_BEGIN = '<!-- config-reference:begin -->';
export const README_END = '<!-- config-reference:end -->';

export function pulumiYamlConfig(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [string, ConfigSpec][]) {
    const entry: Record<string, unknown> = { type: spec.type, description: spec.description, default: spec.default };
    if (spec.type === 'array') entry.items = { type: 'string' };
    out[key] = entry;
  }
  return out;
}

function allowed(spec: ConfigSpec): string {
  switch (spec.type) {
    case 'integer':
      return spec.oneOf ? `one of ${spec.oneOf.join(', ')}` : `${spec.min} – ${spec.max}`;
    case 'boolean':
      return 'true / false';
    case 'string':
      return spec.oneOf ? spec.oneOf.map((v) => `\`${v}\``).join(' / ') : 'see description';
    case 'array':
      return 'list of strings';
  }
}

export function readmeTable(): string {
  const rows = (Object.entries(CONFIG_SCHEMA) as [string, ConfigSpec][]).map(
    ([key, spec]) =>
      `| \`cqrs-workflows:${key}\` | ${spec.type} | \`${JSON.stringify(spec.default)}\` | ${allowed(spec)} | ${spec.description.replace(/\|/g, '\\|')} |`,
  );
  return ['| key | type | default | allowed | description |', '|---|---|---|---|---|', ...rows].join('\n');
}

export function renderPulumiYaml(current: string): string {
  const doc = YAML.parseDocument(current);
  doc.set('config', pulumiYamlConfig());
  return doc.toString({ lineWidth: 0 });
}

export function renderReadme(current: string): string {
  const start = current.indexOf(README_BEGIN);
  const end = current.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${README_BEGIN} … ${README_END} markers`);
  return `${current.slice(0, start + README_BEGIN.length)}\n${readmeTable()}\n${current.slice(end)}`;
}

if (require.main === module) {
  const yamlPath = path.join(root, 'Pulumi.yaml');
  const readmePath = path.join(root, 'README.md');
  const write = process.argv.includes('--write');
  const yamlNext = renderPulumiYaml(fs.readFileSync(yamlPath, 'utf8'));
  const readmeNext = renderReadme(fs.readFileSync(readmePath, 'utf8'));
  if (write) {
    fs.writeFileSync(yamlPath, yamlNext);
    fs.writeFileSync(readmePath, readmeNext);
  } else {
    process.stdout.write(readmeTable() + '\n');
  }
}
