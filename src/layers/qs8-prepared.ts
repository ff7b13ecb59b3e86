// A qs8 GEMM whose output (scales, bias, activation) and input zero point never change between
// calls: a model layer's. qs8Gemm folds the zero points into column terms and copies the epilogue's
// arrays and the params block into scratch on every call (a few µs, as much as the whole GEMM of a
// squeeze-excitation 1x1 convolution); here that is done once, into blocks the layer owns, and a
// call writes only its row sums' address. Same params, same kernel: the same bits as qs8Gemm.

import { ArgumentError } from '../errors.js';
import { QS8_PRM_BYTES, QS8_PRM_ROW_SCALE, QS8_PRM_ROW_SUM } from '../kernels/params.js';
import { QS8_NR, qs8Params, type Qs8Output, type Qs8Weights } from '../kernels/qs8.js';
import type { KernelHost } from '../runtime/host.js';

export class Qs8PreparedGemm {
  private readonly params: Int32Array;
  private readonly prm: number;
  private readonly blocks: number[] = [];
  private readonly fn: 'qs8_gemm_4x8c4_relaxed' | 'qs8_gemm_4x8c2';
  private readonly aStride: number;

  /** w: c2 or c4 (w16 lays A out in strips per call: qs8Gemm); staged A as qs8Gemm's `staged` takes it */
  constructor(private readonly rt: KernelHost, readonly w: Qs8Weights, za: number, signed: boolean, output: Qs8Output) {
    if (w.layout === 'w16') throw new ArgumentError('Qs8PreparedGemm: w16 weights stage A per call; use qs8Gemm');
    const alloc = (bytes: number): number => {
      const p = rt.alloc(bytes);
      this.blocks.push(p);
      return p;
    };
    this.params = qs8Params(rt, alloc, w, za, signed, output);
    this.prm = rt.putPadded(alloc, Int32Array, this.params, this.params.length);
    const c4 = w.layout === 'c4';
    this.fn = c4 ? 'qs8_gemm_4x8c4_relaxed' : 'qs8_gemm_4x8c2';
    this.aStride = c4 ? w.kp : w.kp * 2;
  }

  /** out[m x N] from m staged rows (`staged`, `rowSum` as qs8Gemm's call.staged); outStride in bytes */
  async run(m: number, staged: number, rowSum: number, out: number, outStride: number): Promise<void> {
    const { rt, w, aStride, fn } = this;
    if (w.disposed) throw new ArgumentError('Qs8PreparedGemm: the packed weights were disposed');
    if (m <= 0 || w.n <= 0) return;
    rt.view(Int32Array, this.prm, QS8_PRM_BYTES / 4)[QS8_PRM_ROW_SUM / 4] = rowSum;
    // a row split across threads: the pieces from row m0 > 0 read their row sums from m0 on
    const extra: number[] = [];
    const rowsFrom = (m0: number): number => {
      if (m0 === 0) return this.prm;
      const p = this.params.slice();
      p[QS8_PRM_ROW_SUM / 4] = rowSum + m0 * 4;
      if (p[QS8_PRM_ROW_SCALE / 4]) p[QS8_PRM_ROW_SCALE / 4] += m0 * 4;
      const at = rt.putPadded((b) => {
        const q = rt.alloc(b);
        extra.push(q);
        return q;
      }, Int32Array, p, p.length);
      return at;
    };
    try {
      await rt.parallelGemm(m, w.n, 4, QS8_NR, (m0, m1, n0, n1) => [fn, [m1 - m0, n0, n1, w.kp, staged + m0 * aStride, aStride, w.ptr, rowsFrom(m0), out + m0 * outStride, outStride]], m * w.k * w.n);
    } finally {
      for (const p of extra) rt.free(p);
    }
  }

  /** the params block with its row sums at rowSum, for a kernel that indexes rows of the whole output (qs8-conv-direct) */
  paramsWithRowSum(rowSum: number): number {
    if (this.w.disposed) throw new ArgumentError('Qs8PreparedGemm: the packed weights were disposed');
    this.rt.view(Int32Array, this.prm, QS8_PRM_BYTES / 4)[QS8_PRM_ROW_SUM / 4] = rowSum;
    return this.prm;
  }

  dispose(): void {
    for (const p of this.blocks.splice(0)) this.rt.free(p);
  }
}
