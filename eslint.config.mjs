import js from '@eslint/js';
import pulumi from '@pulumi/eslint-plugin';
import tseslint from 'typescript-eslint';
import { createLayersPlugin } from './tools/eslint-layers.mjs';

const root = import.meta.dirname;

export default tseslint.config(
  {
    // examples/vpc needs @pulumi/awsx, which only the consumer test installs (and type-checks it).
    ignores: [
      'node_modules/',
      'policies/node_modules/',
      'policies/lib/',
      'dist/',
      'out/',
      '.ci/',
      '.scratch/',
      '**/*.js',
      '**/*.mjs',
      'examples/vpc/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    plugins: { '@pulumi': pulumi, layers: createLayersPlugin(root) },
    rules: {
      'layers/imports': 'error',
      '@pulumi/no-output-in-template-literal': 'error',
      '@pulumi/no-output-instance-in-template-literal': 'error',
    },
  },
  {
    // Tests drive SDK mocks and parse JSON they produced themselves.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
);
