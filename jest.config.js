// Jest runs in its ESM mode (the project is ESM; @huggingface/tokenizers is
// ESM-only). TypeScript is transpiled per file (isolatedModules); `tsc -b` type-checks in pretest.
// Workspace packages map to their sources so tests and plugins share one module instance.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/?(*.)test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/packages/.*/dist/'],
  moduleNameMapper: {
    '^@kava/core$': '<rootDir>/packages/kava-core/src/index.ts',
    '^@kava/core/app$': '<rootDir>/packages/kava-core/src/app.ts',
    '^@kava/core/internal$': '<rootDir>/packages/kava-core/src/internal.ts',
    '^@kava/core/testing$': '<rootDir>/packages/kava-core/src/testing/index.ts',
    '^@kava/cli$': '<rootDir>/packages/cli/src/index.ts',
    '^@kava/cli/builtin-plugins$': '<rootDir>/packages/cli/src/builtin-plugins.ts',
    '^@kava/experiments$': '<rootDir>/packages/experiments/src/index.ts',
    '^@kava/(plugin-[a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  testTimeout: 120000,
};
