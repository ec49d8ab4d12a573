// ESLint: rules that catch bugs or guard the architecture, over every workspace.
// Layout and style are Prettier's (.prettierrc.json); no rule here is about them.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Tests, the cross-service kit, and common's in-process test kit (@chat/common/testing).
const TEST_FILES = ['**/*.test.ts', 'tests/**', 'common/src/testing.ts', 'common/src/testing/**'];
const SUBGRAPHS = readdirSync(new URL('subgraphs/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** Prisma is reached through a subgraph's store (`src/store/**`), never from resolvers or services. */
const prisma = {
  group: ['@chat/prisma', '@prisma/client', '@prisma/client/*', '@prisma/adapter-*', '**/generated/prisma/**'],
  message:
    'Prisma belongs in src/store/** (or prisma/): import a store from ../store/<name>-store.ts and call it instead.',
};

const OTHER_SUBGRAPH_MESSAGE =
  'A subgraph never imports another subgraph: move what both need into @chat/common, or reach the other ' +
  'subgraph through the schema (entities and federation).';

/** A subgraph is deployed on its own: what two subgraphs share lives in `@chat/common`. */
const otherSubgraph = (name) => [
  { group: ['@chat/subgraph-*', '@chat/subgraph-*/**'], message: OTHER_SUBGRAPH_MESSAGE },
  {
    regex: `^(\\.\\./){2,}(subgraphs/)?(${SUBGRAPHS.filter((other) => other !== name).join('|')})/`,
    message: OTHER_SUBGRAPH_MESSAGE,
  },
];

/** Test helpers have their own entry so that product code cannot reach them. */
const testHelpers = {
  group: ['@chat/common/testing', '**/common/src/testing.ts', './testing.ts'],
  message:
    '@chat/common/testing is for *.test.ts files, tests/ and bench/ only: product code must not import test helpers.',
};

/** `no-restricted-imports` with these groups (a later config replaces a rule's options, so each scope lists all). */
const restrict = (...patterns) => ['error', { patterns }];

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '**/src/generated/',
    '.data/',
    '.services/',
    '.turbo/',
    'bench/results/',
  ]),
  {
    files: ['**/*.{ts,js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      parser: tseslint.parser,
      // One program for the whole repository (tsconfig.json), as `npm run typecheck` builds it: a
      // workspace's own tsconfig pulls in every workspace it imports, so one program per workspace checked
      // common/ eleven times over.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A promise nobody awaits loses its rejection (an unhandled rejection ends the process).
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test awaits its own describe/it/test: the promise they return is for nesting only.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      // A promise where a boolean or a void callback is expected: always truthy, or its rejection lost.
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `return promise` inside try/catch skips the catch; `return await` there keeps it.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      '@typescript-eslint/only-throw-error': 'error',
      // Passing on a rejection of unknown type (from another promise or callback) is fine; a made-up non-Error is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // "[object Object]" in a message or a key.
      '@typescript-eslint/no-base-to-string': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      'no-unused-vars': 'off',
      // Dead imports and variables; `const { omitted: _, ...rest } = value` is how a field is left out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // TypeScript checks names (and knows Node's globals); ESLint's copy would need a globals list.
      'no-undef': 'off',
      'no-redeclare': 'off',
      'no-restricted-imports': restrict(testHelpers),
    },
  },
  {
    // Plain JavaScript (the service probes, this file) is in no tsconfig.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['common/src/**/*.ts', 'gateway/src/**/*.ts'],
    ignores: TEST_FILES,
    rules: { 'no-restricted-imports': restrict(prisma, testHelpers) },
  },
  {
    // The runtime opens the database every process shares (embedded PGlite or a Postgres server) and hands
    // the client to each subgraph's stores: it is the plumbing that creates what stores use, not a store.
    files: ['common/src/runtime.ts'],
    rules: { 'no-restricted-imports': restrict(testHelpers) },
  },
  ...SUBGRAPHS.map((name) => ({
    files: [`subgraphs/${name}/src/**/*.ts`],
    ignores: [...TEST_FILES, `subgraphs/${name}/src/store/**`],
    rules: { 'no-restricted-imports': restrict(prisma, ...otherSubgraph(name), testHelpers) },
  })),
  ...SUBGRAPHS.map((name) => ({
    files: [`subgraphs/${name}/src/store/**/*.ts`],
    ignores: TEST_FILES,
    rules: { 'no-restricted-imports': restrict(...otherSubgraph(name), testHelpers) },
  })),
  {
    // Tests set up and inspect rows directly and may use any test helper. So may the benchmarks, which ship
    // nothing and seed their data from the same factories (@chat/common/testing).
    files: [...TEST_FILES, 'bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  ...SUBGRAPHS.map((name) => ({
    // Still, a subgraph's own tests stay within that subgraph.
    files: [`subgraphs/${name}/src/**/*.test.ts`],
    rules: { 'no-restricted-imports': restrict(...otherSubgraph(name)) },
  })),
);
