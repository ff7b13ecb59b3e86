// Vitest for mutation testing (mutation/stryker.config.mjs): the baseline project's node tests only.
// The CLI test runs the compiled dist/ binary (mutants live in src/), the browser test drives
// Chromium on dist/: neither can see a mutant, so they are left out.
import { configDefaults, defineConfig } from 'vitest/config';
import { alias } from '../vitest.config.js';

// MUTATION_TESTS=test/a.test.ts,test/b.test.ts scores the mutants against those files only: a focused
// run (minutes, not hours) whose score is a lower bound for the whole suite.
const only = (process.env.MUTATION_TESTS ?? '').split(',').filter(Boolean);

export default defineConfig({
  resolve: { alias },
  test: {
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    ...(only.length ? { include: only } : {}),
    exclude: [...configDefaults.exclude, 'test/browser/**', 'test/cli.test.ts', 'test/types/**'],
    env: { LOWBIT_TEST_SIMD: 'baseline' },
  },
});
