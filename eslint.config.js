import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const io = { group: ['node:*', 'mongodb', 'fastify', 'pino'], message: 'No I/O here.' };
const temporalClients = {
  group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
  message: 'No Temporal client or worker here.',
};
/** Our folders a layer must not import. */
const ours = (folders) => ({
  group: folders.flatMap((f) => [`**/${f}/*`, `**/${f}`]),
  message: `Not from this layer (docs/architecture.md, Modules): ${folders.join(', ')}.`,
});
const layer = (files, why, patterns) => ({
  files: [files],
  rules: {
    'no-restricted-imports': ['error', { patterns: patterns.map((p) => ({ ...p, message: `${why}: ${p.message}` })) }],
  },
});

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
  // The layer table of docs/architecture.md ("Modules"): what each folder may import. Type-only imports are
  // allowed where a pattern says so; everything not listed is free.
  layer('src/contract/**/*.ts', 'the contract does no I/O and knows no implementation', [
    io,
    temporalClients,
    ours(['db', 'activities', 'api', 'ops', 'infra', 'cli', 'workflows']),
    { group: ['**/stock/*', '**/stock'], allowTypeImports: true, message: 'Only types of the stock library.' },
  ]),
  layer('src/db/**/*.ts', 'storage imports nothing of ours', [
    { regex: '^\\.\\./', message: 'Only mongodb, Node and its own files: no module of ours, not even types.' },
  ]),
  layer('src/carts/**/*.ts', 'the carts domain knows no HTTP and no Temporal', [
    { group: ['@temporalio/*', 'fastify', '@fastify/*'], message: 'The carts domain knows no HTTP and no Temporal.' },
    ours(['api', 'activities', 'workflows', 'ops', 'cli', 'infra']),
    { group: ['**/contract/*', '**/contract'], allowTypeImports: true, message: 'Only types of the contract.' },
  ]),
  layer('src/stock/**/*.ts', 'the stock library knows no HTTP and no Temporal', [
    temporalClients,
    { group: ['fastify', '@temporalio/workflow'], message: 'The stock library knows no HTTP and no Temporal.' },
    ours(['workflows', 'activities', 'api', 'ops', 'infra', 'cli', 'contract']),
  ]),
  layer('src/events/**/*.ts', 'events and webhooks storage know no HTTP and no Temporal', [
    { group: ['@temporalio/*', 'fastify', '@fastify/*'], message: 'Events storage knows no HTTP and no Temporal.' },
    ours(['api', 'activities', 'workflows', 'ops', 'cli', 'infra', 'stock', 'admission']),
    { group: ['**/contract/*', '**/contract'], allowTypeImports: true, message: 'Only types of the contract.' },
  ]),
  layer('src/admission/**/*.ts', 'the waiting rooms know no HTTP and no Temporal', [
    { group: ['@temporalio/*', 'fastify', '@fastify/*'], message: 'The waiting rooms know no HTTP and no Temporal.' },
    ours(['api', 'activities', 'workflows', 'ops', 'cli', 'infra', 'stock', 'carts', 'contract']),
  ]),
  layer('src/activities/**/*.ts', 'activities may import everything but workflows', [
    ours(['api', 'ops', 'cli']),
    { group: ['**/workflows/*', '**/workflows'], allowTypeImports: true, message: 'Only types of workflows.' },
  ]),
  layer('src/ops/**/*.ts', 'ops checks read storage and the stock library', [
    ours(['api', 'cli', 'workflows']),
    { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Only types of activities.' },
  ]),
  layer('src/api/**/*.ts', 'the API starts and messages workflows through the contract', [
    ours(['activities', 'cli']),
    { group: ['**/workflows/*', '**/workflows'], allowTypeImports: true, message: 'Only types of workflows.' },
  ]),
  layer('src/client/**/*.ts', 'the typed HTTP client runs in browsers too', [
    { group: ['node:*', 'mongodb', 'fastify', 'pino'], message: 'Browser-safe: no Node builtins or servers.' },
    { group: ['@temporalio/*'], message: 'A client of the HTTP API, not of Temporal.' },
    { group: ['../*'], message: 'No folder of ours: only openapi-fetch and the generated ./openapi.' },
  ]),
  layer('bench/harness/**/*.ts', 'the load harness bench and chaos share knows neither, nor holdfast', [
    ours(['lib', 'chaos', 'src']),
  ]),
  layer('src/workflows/**/*.ts', 'workflow code runs in Temporal’s deterministic sandbox', [
    { group: ['node:*'], message: 'Workflow code runs in the sandbox: no Node builtins.' },
    { group: ['mongodb', 'fastify', 'pino'], message: 'Workflow code must not do I/O: use an activity.' },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
      message: 'Workflow code imports only @temporalio/workflow.',
    },
    ours(['db', 'api', 'ops', 'infra', 'cli']),
    { group: ['**/activities/*', '**/activities'], allowTypeImports: true, message: 'Use import type.' },
    { group: ['**/stock/*', '**/stock'], allowTypeImports: true, message: 'Only types of the stock library.' },
  ]),
);
