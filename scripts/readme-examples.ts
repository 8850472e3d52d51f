/**
 * README code blocks that show a file of examples/ carry a marker,
 * `<!-- example: examples/typescript/index.ts -->`, right above the fence. `--write`
 * copies each file into its block; without it, the script lists the blocks that differ
 * (a test does the same), so the README never shows code the tests do not run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..');
const MARKER = /<!-- example: (\S+) -->\n```(\w+)\n(?:[^`][\s\S]*?\n)?```/g;

export function renderReadmeExamples(readme: string): string {
  return readme.replace(MARKER, (_block, file: string, lang: string) => {
    const code = fs.readFileSync(path.join(root, file), 'utf8').replace(/\n+$/, '');
    return `<!-- example: ${file} -->\n\`\`\`${lang}\n${code}\n\`\`\``;
  });
}

export function exampleFilesInReadme(readme: string): string[] {
  return [...readme.matchAll(MARKER)].map((m) => m[1]);
}

if (require.main === module) {
  const readmePath = path.join(root, 'README.md');
  const current = fs.readFileSync(readmePath, 'utf8');
  const next = renderReadmeExamples(current);
  if (process.argv.includes('--write')) fs.writeFileSync(readmePath, next);
  else if (next !== current) {
    process.stderr.write(
      'README.md examples differ from examples/: run `npx tsx scripts/readme-examples.ts --write`\n',
    );
    process.exit(1);
  }
}
