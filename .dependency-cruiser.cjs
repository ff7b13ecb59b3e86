// The layering of src/ (DESIGN.md §1), checked by `npm run check:deps` (in .ci/run). Each layer
// imports only layers below it:
//
//   base      src/errors.ts, src/tensor.ts, src/util/*   anyone imports them; they import only base
//   runtime   src/runtime   wasm loading, probes, memory, worker pool: only base
//   kernels   src/kernels   typed wasm wrappers: KernelHost (types only), quant, base
//   quant     src/quant     quantization math, no wasm: only quant and base
//   layers    src/layers    each kernel family's GEMM, convolutions: not formats, model, ops, api or cli
//   formats   src/formats   the format table (one entry per weight format), the one Linear class, the
//                           saved-file container: not model, ops, api or cli
//   model     src/model     graphs, operator definitions, plans, quantizeModel, save/load: not ops, api or cli
//   compare   src/compare   error metrics (metrics.ts, which layers use, imports nothing) and
//                           model comparisons (types of model): not api or cli
//   api       src/api, src/ops   the public Runtime (rt.ops, rt.linear): facades over the model's
//                           operator definitions and the format table
//   entries   src/index.ts, src/kernels.ts, src/ocr.ts, src/wakeword.ts (lowbit, lowbit/kernels, lowbit/ocr, lowbit/wakeword): nothing in
//             the library imports them (the CLI is its own package, packages/cli)
//
// Type-only imports count too ('specify' labels them, for the kernels rule): a cycle of types is
// still a tangle to read.

const SRC = '^src/';
const BASE = '^src/(errors|tensor)\\.ts$|^src/util/';

/** A rule that `from` imports nothing matching `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });
/** A rule that `from` imports only what matches `allowed`. */
const only = (name, comment, from, allowed) => ({ name, comment, severity: 'error', from: { path: from }, to: { pathNot: allowed } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle means no module in it can be read, tested or moved alone',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    only('base-imports-base', 'errors, tensor and util are the bottom: they import nothing else of ours', BASE, BASE),
    only('runtime-is-the-core', 'the runtime imports nothing above it (rt.ops and rt.linear live in src/api)', '^src/runtime/', `^src/runtime/|${BASE}`),
    only('kernels-below-layers', 'a kernel wrapper sees the host interface, quant and base, nothing above', '^src/kernels/', `^src/(kernels|runtime|quant)/|${BASE}`),
    {
      name: 'kernels-see-the-host-interface',
      comment: 'kernel wrappers take KernelHost (src/runtime/host.ts), not the Runtime class',
      severity: 'error',
      from: { path: '^src/kernels/' },
      to: { path: '^src/runtime/', pathNot: '^src/runtime/(host|exports)\\.ts$' },
    },
    {
      name: 'kernels-import-runtime-types-only',
      comment: 'kernel wrappers import only types from the runtime',
      severity: 'error',
      from: { path: '^src/kernels/' },
      to: { path: '^src/runtime/', dependencyTypesNot: ['type-only'] },
    },
    only('quant-is-plain-math', 'quantization math needs no wasm: it imports only quant and base', '^src/quant/', `^src/quant/|${BASE}`),
    forbid('layers-below-formats', 'the GEMM of a kernel family knows nothing of the formats that use it, models or facades', '^src/layers/', '^src/(formats|model|ops|api)/'),
    forbid('formats-below-model', 'a format knows nothing of models or facades', '^src/formats/', '^src/(model|ops|api)/'),
    forbid('model-below-api', 'models and comparisons know nothing of the facades', '^src/(model|compare)/', '^src/(api|ops)/'),
    forbid('entries-are-the-top', 'the library never imports its package entries (index, kernels, ocr, wakeword)', '^src/(?!(index|kernels|ocr|wakeword)\\.ts$)', '^src/(index|kernels|ocr|wakeword)\\.ts$'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: SRC,
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
