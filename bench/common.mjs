// What the bench scripts share: the Node flags a relaxed-SIMD child needs, and the arguments of the one-process-per-build benches (formats.mjs, lut4.mjs).

import { parseArgs } from 'node:util';

// Node 20 (V8 11.3) needs relaxed SIMD switched on and Liftoff off (its Liftoff computes the relaxed
// dot wrongly); current engines have relaxed SIMD on by default and refuse the flag.
export const RELAXED_FLAGS = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd', '--no-liftoff'] : [];

/**
 * --quick, --child, --simd B, --threads N, --rounds N, --shapes a,b,... (as an array, or null);
 * `rounds` is the default round count (3 with --quick). Unknown arguments throw.
 */
export function buildBenchArgs(argv, rounds) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      child: { type: 'boolean', default: false },
      simd: { type: 'string', default: 'baseline' },
      threads: { type: 'string', default: '1' },
      rounds: { type: 'string' },
      shapes: { type: 'string' },
    },
  });
  return {
    quick: values.quick,
    child: values.child,
    simd: values.simd,
    threads: Number(values.threads),
    rounds: values.quick ? 3 : Number(values.rounds ?? rounds),
    shapes: values.shapes ? values.shapes.split(',') : null,
  };
}
