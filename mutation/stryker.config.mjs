// StrykerJS over the quantization code: the quantizers (src/quant), the format table (src/formats),
// the kernel families' GEMMs (src/layers) and the model's quantize/save/load. A surviving mutant is
// a slip (a zero point, scale, rounding mode, block boundary, row/column) no test notices.
// Run with `node mutation/run.mjs` (not in CI: it takes long); see mutation/README.md.
const files = (process.env.MUTATE ?? '').split(',').filter(Boolean);

export default {
  testRunner: 'vitest',
  vitest: { configFile: 'mutation/vitest.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: files.length ? files : [
    'src/quant/**/*.ts',
    'src/formats/**/*.ts',
    'src/layers/**/*.ts',
    'src/model/quantize.ts',
    'src/model/saved.ts',
  ],
  // the sandbox needs the compiled kernels and library (build/, dist/: git-ignored; tests that spawn
  // node on dist/ see no mutant, which is why the mutants are scored on the tests over src/)
  ignorePatterns: ['.stryker-tmp', 'reports', '!build/**', '!dist/**'],
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  // the initial run is the whole suite over src/ (25+ minutes here): Stryker's 5-minute default refused it
  dryRunTimeoutMinutes: 90,
  reporters: ['clear-text', 'json', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 80, low: 60, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
