import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.holdfast/', 'bench/results/', 'test-results/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node builtins, no clients.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflow code runs in the sandbox: no Node builtins.' },
            { group: ['mongodb', 'fastify', 'pino'], message: 'Workflow code must not do I/O: use an activity.' },
            {
              group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
              message: 'Workflow code imports only @temporalio/workflow.',
            },
            { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Use import type.' },
          ],
        },
      ],
    },
  },
);
