const fs = require('node:fs');
const path = require('node:path');

/** Every installed package that declares "type": "module" (NestJS 12 and a few of its deps). */
function findEsmPackages() {
  const root = path.join(__dirname, 'node_modules');
  const names = [];
  const isEsm = (dir) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch {
      return false;
    }
  };
  for (const entry of fs.readdirSync(root)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      for (const sub of fs.readdirSync(path.join(root, entry))) {
        if (isEsm(path.join(root, entry, sub))) names.push(`${entry}/${sub}`);
      }
    } else if (isEsm(path.join(root, entry))) {
      names.push(entry);
    }
  }
  return names.map((n) => n.replace(/[.+]/g, (c) => `\\${c}`));
}

/** @type {import('jest').Config} */
// Our code goes through ts-jest file by file (tsconfig.jest.json: isolatedModules); the types
// are checked once for the whole tree by `tsc --noEmit`, which `npm test` runs first (pretest).
// Type-checking inside every Jest worker built a TypeScript program per worker, and those workers
// often outlived Jest's exit grace period ("a worker process has failed to exit gracefully").
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.jest.json' }];
// NestJS 12 ships ES modules; Jest's CommonJS runtime cannot require() them on Node 20, so
// those packages (only) are compiled to CommonJS by SWC.
const esmPackages = findEsmPackages();
const esmTransform = {
  '^.+\\.ts$': tsJest,
  '^.+\\.m?js$': ['@swc/jest', { module: { type: 'commonjs' }, jsc: { target: 'es2022' } }],
};
const transformIgnorePatterns = [`/node_modules/(?!(${esmPackages.join('|')})/)`];

module.exports = {
  // Two cores: one worker per core; every e2e file works on its own database.
  maxWorkers: process.env.JEST_MAX_WORKERS ?? 2,
  // A global option (ignored inside `projects`): e2e files boot apps and databases.
  testTimeout: 60_000,
  // `npm test -- --coverage` (CI) prints the summary; generated code and bootstrap are not ours.
  collectCoverageFrom: ['src/**/*.ts', '!src/**/*.spec.ts', '!src/generated/**', '!src/main.ts'],
  coverageReporters: ['text-summary', 'json-summary'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'],
      transform: esmTransform,
      transformIgnorePatterns,
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      transform: esmTransform,
      transformIgnorePatterns,
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
