// Four projects: unit tests of pure code (no process started, no port opened beyond loopback
// fakes), programs (rendered configs, the chart and the SQL engine checked by the real programs:
// haproxy, nginx, promtool, otelcol, helm, kstatus, mysqld and mariadbd), integration tests against the real control plane with KWOK nodes that hack/cluster starts
// (test/integration/global-setup.ts brings it up when it is not running), and e2e tests on real
// nodes that run containers (test/e2e/global-setup.ts starts `hack/cluster up --real-nodes N`).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }];
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  // Only reorders e2e files: their lifecycle test runs last.
  testSequencer: '<rootDir>/test/e2e/sequencer.js',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'programs', testMatch: ['<rootDir>/test/programs/**/*.test.ts'], slowTestThreshold: 30 },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      slowTestThreshold: 60,
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/e2e/env.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      slowTestThreshold: 120,
    },
  ],
};
