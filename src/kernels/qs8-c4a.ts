// qs8-c4a: 8-bit weights exactly on the relaxed dot product with one dot per 4 multiply-adds, by
// splitting the uint8 activations (q = lo + 128 hi) instead of the weights (assembly/gemm/qs8-c4a.ts).
// The int8 model layer's float32 input is quantized as qs8_stage_f32_c4 does it, so the integers,
// and the output bits, are the ones of the c2 and c4 split paths. Relaxed build only.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { QS8_NR, Qs8Weights, qs8Params, type Qs8Output } from './qs8.js';

/** int8 weights [K, N] in the c4 panels as they are (no per-column offset): c4a's weights. */
export function packQs8C4a(rt: KernelHost, q: Int8Array, k: number, n: number): Qs8Weights {
  rt.check();
  if (rt.features.simd !== 'relaxed') throw new ArgumentError('packQs8C4a: the c4a kernels need the relaxed build');
  if (q.length !== k * n) throw new ArgumentError(`packQs8C4a: q has ${q.length} values, expected K*N = ${k}*${n}`);
  const kp = Math.ceil(k / 4) * 4, np = Math.ceil(n / QS8_NR) * QS8_NR;
  const ptr = rt.alloc(kp * np);
  const dst = rt.view(Int8Array, ptr, kp * np);
  dst.fill(0);
  const sum = new Int32Array(np);
  for (let i = 0; i < k; i++) {
    const kq = (i >> 2) * 32 + (i & 3);
    for (let j = 0; j < n; j++) {
      const v = q[i * n + j], c = j & 7;
      dst[(j >> 3) * kp * 8 + kq + (c >> 2) * 16 + (c & 3) * 4] = v;
      sum[j] += v;
    }
  }
  // offset 0 and signed staging: qs8Params folds -za * colSum(W) into colBias, no row sums
  return new Qs8Weights(rt, 'c4', k, n, kp, np, ptr, new Int32Array(np), new Int32Array(np), sum);
}

/** Byte offsets in a c4a scratch of m rows: lo, hi (m * kp bytes each), the per-strip lists, the identity list (kp bytes). */
export function c4aScratch(m: number, kp: number): { lo: number; hi: number; list: number; ids: number; bytes: number } {
  const rows = Math.ceil((m * kp) / 16) * 16, lists = Math.ceil(m / 4) * (kp + 4);
  return { lo: 0, hi: rows, list: 2 * rows, ids: 2 * rows + lists, bytes: 2 * rows + lists + kp + 16 };
}

/** A c4a GEMM with its epilogue's constants placed once: float32 rows in, the output the epilogue writes. */
export class Qs8C4aGemm {
  private readonly blocks: number[] = [];
  private readonly prm: number;

  constructor(private readonly rt: KernelHost, readonly w: Qs8Weights, private readonly scale: number, private readonly zp: number, output: Qs8Output) {
    if (!Number.isInteger(zp) || zp < 0 || zp > 255) throw new ArgumentError(`Qs8C4aGemm: zp must be an integer in [0, 255], got ${zp}`);
    const alloc = (bytes: number): number => {
      const p = rt.alloc(bytes);
      this.blocks.push(p);
      return p;
    };
    const params = qs8Params(rt, alloc, w, zp, true, output);
    this.prm = rt.putPadded(alloc, Int32Array, params, params.length);
  }

  scratchBytes(m: number): number {
    return c4aScratch(m, this.w.kp).bytes;
  }

  /** out (rows outStride bytes apart) from m float32 rows of K at x (K * 4 bytes apart); scratch: scratchBytes(m), 16-aligned */
  async run(m: number, x: number, scratch: number, out: number, outStride: number): Promise<void> {
    const { rt, w } = this;
    if (w.disposed) throw new ArgumentError('Qs8C4aGemm: the packed weights were disposed');
    if (!Number.isInteger(m) || m < 0) throw new ArgumentError(`Qs8C4aGemm: m must be a non-negative integer, got ${m}`);
    if (m === 0 || w.n === 0) return;
    const kp = w.kp, s = c4aScratch(m, kp);
    const lo = scratch + s.lo, hi = scratch + s.hi, list = scratch + s.list, ids = scratch + s.ids;
    rt.kernels.qs8_stage_f32_c4a(m, w.k, kp, x, w.k * 4, this.scale, this.zp, lo, hi, list, ids);
    // pieces of rows start at multiples of 4 (mr), so at a strip's list
    await rt.parallelGemm(m, w.n, 4, QS8_NR, (m0, m1, n0, n1) => [
      'qs8_gemm_4x8c4a_relaxed',
      [m1 - m0, n0, n1, kp, lo + m0 * kp, hi + m0 * kp, list + (m0 / 4) * (kp + 4), ids, kp, w.ptr, this.prm, out + m0 * outStride, outStride],
    ], m * w.k * w.n);
  }

  dispose(): void {
    for (const p of this.blocks.splice(0)) this.rt.free(p);
    this.w.dispose();
  }
}
