// How a linear layer runs its weights on host arrays: M rows of K float32 in, M rows of N out. A
// format's GEMM (buffers in linear memory) becomes one with gemmRunner; formats whose user layer
// quantizes activations its own way (int8's dynamic ranges, int4's per-block scales) bring their own.

import { ValueRangeError } from '../errors.js';
import { hasExpAtLeast, hasNonFinite } from '../kernels/q8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GemmImpl } from './gemm.js';
import { checkStaticRange, staticLimit } from './nonfinite.js';

export interface LinearRunner {
  /** x holds M rows of K finite floats; returns M rows of N */
  forward(x: Float32Array, m: number): Promise<Float32Array>;
  /** bytes of linear memory the packed weights take */
  readonly weightBytes: number;
  /** the kernel's weight layout ('c2', 'c4', 's4', ...) */
  readonly layout: string;
  /** true when forward() itself refuses NaN and infinite inputs, in a pass it makes anyway (the layer then skips its own) */
  readonly checksInputs?: boolean;
  dispose(): void;
}

/**
 * A GEMM on linear memory as a runner: x copied in, run, y copied out. `checkInputs`: refuse NaN
 * and infinite inputs in linear memory (a wasm pass at memory speed, not the layer's JS scan).
 * `range`: the weights' static input range; a finite input over 2^16 times it is refused (as the
 * model layer does: saturating it would answer confidently wrong), in the same pass.
 */
export function gemmRunner(rt: Runtime, gemm: GemmImpl, checkInputs = false, range: [number, number] | null = null): LinearRunner {
  const { limit, bits } = staticLimit(range);
  return {
    weightBytes: gemm.weightBytes,
    layout: gemm.layout ?? '',
    checksInputs: checkInputs,
    async forward(x, m) {
      const px = rt.put(x, 16), py = rt.alloc(m * gemm.n * 4 + 16), ps = rt.alloc((gemm.scratchBytes?.(m) ?? 0) + 64);
      try {
        if ((checkInputs || range) && hasExpAtLeast(rt, px, x.length, bits)) {
          if (checkInputs && hasNonFinite(rt, px, x.length)) throw new ValueRangeError('x: contains NaN or Infinity; inputs must be finite');
          if (range) checkStaticRange('x', x, gemm.k, limit, range);
        }
        await gemm.run(m, px, py, ps);
        return rt.read(Float32Array, py, m * gemm.n);
      } finally {
        rt.free(px);
        rt.free(py);
        rt.free(ps);
      }
    },
    dispose: () => gemm.dispose(),
  };
}
