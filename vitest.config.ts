import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Every test file runs twice: on the baseline SIMD build, and on the relaxed SIMD build in a Node
// started with relaxed SIMD on and Liftoff off (V8 11.3's Liftoff computes the relaxed dot wrongly;
// newer engines need neither flag). test/helpers.ts reads LOWBIT_TEST_SIMD to pick the build.
// test/browser/ runs once, in its own project: it drives Chromium, which picks its own build.
// The type-level tests (test/types) run once, in the baseline project.
const relaxedFlags = ['--experimental-wasm-relaxed-simd', '--no-liftoff'];
// .stryker-tmp: mutation testing's sandboxes (mutation/), copies of this tree
const nodeExclude = [...configDefaults.exclude, 'test/browser/**', '.stryker-tmp/**'];
// The CLI package (packages/cli) imports the library by name; in tests that name is the source, so the
// CLI's code and the tests share one copy of every class (an ArgumentError is the same class).
const entry = (file: string) => fileURLToPath(new URL(`./src/${file}`, import.meta.url));
export const alias = [
  { find: /^lowbit$/, replacement: entry('index.ts') },
  { find: /^lowbit\/kernels$/, replacement: entry('kernels.ts') },
  { find: /^lowbit\/ocr$/, replacement: entry('ocr.ts') },
  { find: /^lowbit\/wakeword$/, replacement: entry('wakeword.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'baseline', pool: 'forks', exclude: nodeExclude, env: { LOWBIT_TEST_SIMD: 'baseline' },
          // type-level tests (test/types/*.test-d.ts: tsc, nothing runs), once
          typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: 'test/types/tsconfig.json' },
        },
      },
      {
        extends: true,
        test: { name: 'relaxed', pool: 'forks', exclude: nodeExclude, execArgv: relaxedFlags, env: { LOWBIT_TEST_SIMD: 'relaxed' } },
      },
      {
        extends: true,
        test: { name: 'browser', pool: 'forks', include: ['test/browser/**/*.test.ts'] },
      },
    ],
  },
});
