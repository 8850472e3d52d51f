// The import layers of docs/architecture.md as an ESLint rule. An import is checked by
// where it resolves, not by how its specifier is spelt, so `../../client/commands` and
// `../client` are judged alike.
import path from 'node:path';

/**
 * What each top-level folder may import from the rest of the project (besides itself).
 * A folder absent from the table (scripts, tests, tools) may import anything.
 */
export const LAYERS = {
  core: [],
  handlers: ['core'],
  client: ['core'],
  // The components bundle the handlers: they may name the entries and the bundle options.
  components: ['core', 'handlers/bundle-options'],
  // The pack is installed and run on its own (npm ci --prefix policies).
  policies: [],
  // index.ts and program.ts: the Pulumi program.
  '.': ['components', 'core'],
};

function layerOf(relativePath) {
  const [first, ...rest] = relativePath.split('/');
  return rest.length === 0 ? '.' : first;
}

function allowed(fromLayer, target) {
  const rules = LAYERS[fromLayer];
  if (rules === undefined) return true;
  const targetLayer = layerOf(target);
  if (targetLayer === fromLayer) return true;
  return rules.some((entry) => target === entry || target.startsWith(`${entry}/`) || targetLayer === entry);
}

export function createLayersPlugin(projectRoot) {
  const rule = {
    meta: {
      type: 'problem',
      docs: { description: 'Imports point downward only (docs/architecture.md, "Layers")' },
      schema: [],
      messages: {
        crossing: '{{from}}/ may not import {{target}} (allowed: {{allowed}}); see docs/architecture.md, "Layers"',
      },
    },
    create(context) {
      const file = path.relative(projectRoot, context.filename);
      if (file.startsWith('..')) return {};
      const fromLayer = layerOf(file.split(path.sep).join('/'));
      function check(node, spec) {
        if (typeof spec !== 'string' || !spec.startsWith('.')) return;
        const target = path
          .relative(projectRoot, path.resolve(path.dirname(context.filename), spec))
          .split(path.sep)
          .join('/')
          .replace(/\.(ts|js|mjs)$/, '')
          .replace(/\/index$/, '');
        if (allowed(fromLayer, target)) return;
        context.report({
          node,
          messageId: 'crossing',
          data: {
            from: fromLayer === '.' ? '(root)' : fromLayer,
            target,
            allowed: LAYERS[fromLayer].length ? LAYERS[fromLayer].join(', ') : 'nothing outside itself',
          },
        });
      }
      return {
        ImportDeclaration: (node) => check(node.source, node.source.value),
        ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
        ExportAllDeclaration: (node) => check(node.source, node.source.value),
        ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
        TSImportType: (node) => {
          const lit = node.argument?.literal ?? node.argument;
          if (lit?.type === 'Literal') check(node, lit.value);
        },
        CallExpression: (node) => {
          if (
            node.callee.type === 'Identifier' &&
            node.callee.name === 'require' &&
            node.arguments[0]?.type === 'Literal'
          ) {
            check(node.arguments[0], node.arguments[0].value);
          }
        },
      };
    },
  };
  return { rules: { imports: rule } };
}
