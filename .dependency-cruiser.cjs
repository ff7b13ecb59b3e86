// The layering of src/ (docs: /work/shared/DESIGN.md §1), checked by `npm run check:deps`.
//
//   base      src/errors.ts, src/tensor.ts, src/util/*   anyone may import them; they import only base
//   runtime   src/runtime   wasm loading, probes, memory, worker pool: imports only base
//   kernels   src/kernels   typed wasm wrappers: the host interface (types), quant, base
//   quant     src/quant     quantization math, no wasm: imports only quant and base
//   layers    src/layers    and ops (src/ops): kernels, quant, compare's metrics
//   model     src/model     graphs, plans, quantizeModel, save/load
//   api       src/api       the public runtime (rt.ops, rt.linear): a facade over layers and ops
//   cli       src/cli       the command line and the demo
//
// Type-only imports count too: a cycle of types is still a tangle to read.

const SRC = '^src/';
const BASE = '^src/(errors|tensor)\\.ts$|^src/util/';
const BELOW_CLI = '^src/(runtime|kernels|quant|layers|ops|model|compare|api)/';

/** A rule that `from` imports nothing matching `to`. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle means no module in it can be read, tested or moved alone',
      severity: 'error',
      from: { path: SRC },
      to: { circular: true },
    },
    forbid('base-imports-base', 'errors, tensor and util are the bottom: they import nothing else of ours', BASE, '^src/(?!(errors|tensor)\\.ts$|util/)'),
    forbid('runtime-is-the-core', 'the runtime imports nothing above it (rt.ops and rt.linear live in src/api)', '^src/runtime/', '^src/(kernels|quant|layers|ops|model|compare|cli|api)/|^src/index\\.ts$'),
    forbid('kernels-below-layers', 'a kernel wrapper sees the host interface, quant and base, nothing above', '^src/kernels/', '^src/(layers|ops|model|compare|cli|api)/|^src/index\\.ts$'),
    {
      name: 'kernels-see-the-host-interface',
      comment: 'kernel wrappers take KernelHost (src/runtime/host.ts), as types only, not the Runtime class',
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
    forbid('quant-is-plain-math', 'quantization math needs no wasm: it imports only quant and base', '^src/quant/', '^src/(runtime|kernels|layers|ops|model|compare|cli|api)/|^src/index\\.ts$'),
    forbid('layers-below-model', 'layers and ops know nothing of models, the facade or the CLI', '^src/(layers|ops)/', '^src/(model|cli|api)/|^src/index\\.ts$'),
    forbid('model-below-cli', 'models know nothing of the facade or the CLI', '^src/model/', '^src/(cli|api)/|^src/index\\.ts$'),
    forbid('compare-below-cli', 'error metrics know nothing of the facade or the CLI', '^src/compare/', '^src/(cli|api)/|^src/index\\.ts$'),
    forbid('nothing-imports-cli', 'the CLI is the top: the library never imports it', BELOW_CLI, '^src/cli/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: SRC,
    tsPreCompilationDeps: 'specify',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
  },
};
