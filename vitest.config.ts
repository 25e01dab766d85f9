import { defineConfig } from 'vitest/config';

const EXCLUDE = ['node_modules/**', 'dist/**', '.tmp/**'];
/** Measures CPU per reading against a bare peer: alone, after everything else (benchmarks/README.md, "Regression guard"). */
const PERF_GUARD = 'test/perf-guard.test.ts';

export default defineConfig({
  test: {
    // Integration tests open real sockets and SQLite files; two workers match the 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'tests', include: ['**/*.test.ts'], exclude: [...EXCLUDE, PERF_GUARD], sequence: { groupOrder: 0 } } },
      // A group of its own runs when the first group has finished, so no other test file competes for the two cores.
      { extends: true, test: { name: 'perf-guard', include: [PERF_GUARD], exclude: EXCLUDE, sequence: { groupOrder: 1 } } },
    ],
  },
});
