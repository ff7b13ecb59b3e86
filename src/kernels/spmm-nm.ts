// spmm-nm: 2:4 int8 weights x dense int8 activations (assembly/sparse/spmm-nm.ts). The kernel reads a
// Nm24Int8 (src/kernels/reference/spmm.ts) as it is; A is staged g6 (all 6 pairs of each group of 4),
// or as one int16 row for M = 1.

import { ShapeError, ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { PackedWeights } from './packed.js';
import type { Nm24Int8 } from './reference/spmm.js';
import { runSpmmOn, spmmPrepare, type SpmmCall, type SpmmOutput, type SpmmWeights } from './spmm.js';

export class SpmmNmWeights extends PackedWeights implements SpmmWeights {
  constructor(
    rt: KernelHost,
    readonly n: number,
    readonly k: number,
    /** groups of 4 along K: ceil(K / 4) */
    readonly kg: number,
    readonly vals: number,
    readonly meta: number,
  ) {
    super(rt, [vals, meta]);
  }

  /** bytes of packed weights: 2 values and a nibble per group of 4 */
  get bytes(): number {
    return this.n * (this.kg * 2 + Math.ceil(this.kg / 2));
  }
}

const VALID_NIBBLE = new Set([1 << 2, 2 << 2, 3 << 2, 1 | (2 << 2), 1 | (3 << 2), 2 | (3 << 2)]);

export function packSpmmNm(rt: KernelHost, f: Nm24Int8): SpmmNmWeights {
  rt.check();
  const { n, k } = f;
  const kg = Math.ceil(k / 4), mb = Math.ceil(kg / 2);
  if (f.values.length !== n * kg * 2 || f.meta.length !== n * mb) {
    throw new ShapeError(`packSpmmNm: values (${f.values.length}) and meta (${f.meta.length}) must be N*kg*2 = ${n * kg * 2} and N*ceil(kg/2) = ${n * mb}`);
  }
  // the kernel maps each nibble through a table: an invalid one (i1 >= i2) would read the wrong pair
  for (let r = 0; r < n; r++) {
    for (let g = 0; g < kg; g++) {
      const nib = (f.meta[r * mb + (g >> 1)] >> ((g & 1) * 4)) & 15;
      if (!VALID_NIBBLE.has(nib)) throw new ValueRangeError(`packSpmmNm: row ${r}, group ${g} has index nibble ${nib}: needs i1 < i2`);
    }
  }
  return new SpmmNmWeights(rt, n, k, kg, rt.put(f.values, 16), rt.put(f.meta, 16));
}

export async function spmmNmGemm(rt: KernelHost, alloc: (bytes: number) => number, call: SpmmCall, w: SpmmNmWeights): Promise<void> {
  const [kind, scale, bias] = spmmPrepare(rt, alloc, 'spmmNmGemm', w, call);
  const { m } = call;
  const { n, k, kg } = w;
  if (m === 0 || n === 0) return;
  if (m === 1) {
    // one int16 row of A - za, zero padded to ceil(kg / 2) * 8 (the row sum is unused)
    const kp = Math.ceil(kg / 2) * 8;
    const row = alloc(kp * 2 + 16), rowSum = alloc(16);
    rt.kernels.qs8_stage_c2(1, k, kp, call.a, call.signed ? 1 : 0, call.za, row, rowSum);
    await rt.parallelColumns(n, 8, (n0, n1) => ['qs8_spmm_nm24_1x1', [n0, n1, kg, row, w.vals, w.meta, call.out, kind, scale, bias]], 64, kg * 2 * n);
    return;
  }
  const staged = alloc(Math.ceil(m / 8) * kg * 192 + 16);
  // partial sums between the kernel's K chunks: 16 rows of int32 per column
  const acc = alloc(n * 64 + 16);
  rt.kernels.spmm_stage_g6(m, k, kg, call.a, call.signed ? 1 : 0, call.za, staged);
  await rt.parallelColumns(n, 8, (n0, n1) => ['qs8_spmm_nm24_8x1', [m, n0, n1, kg, staged, w.vals, w.meta, acc, call.out, call.outStride, kind, scale, bias]], 8, m * kg * 2 * n);
}

export function runSpmmNm(rt: KernelHost, a: Int8Array | Uint8Array, m: number, za: number, w: SpmmNmWeights, output: SpmmOutput): Promise<Int32Array | Float32Array> {
  return runSpmmOn(rt, 'runSpmmNm', a, m, za, w, output, (r, alloc, call) => spmmNmGemm(r, alloc, call, w));
}
