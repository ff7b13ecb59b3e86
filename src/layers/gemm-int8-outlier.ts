// LLM.int8() GEMM (src/quant/outliers.ts says what is split): y = x W + bias as
//   int8 part:  x with its outlier columns set to 0, quantized per row (absmax / 127, symmetric)
//               -> qs8 GEMM (int8 weights per output column) -> float32 acc * s_row * s_col + bias
//   float part: x's outlier columns [M][|O|] times W's rows for them: float32 rows kept for the
//               features calibration saw as outliers, else dequantized from the int8 weights
//               (q * s_col) -> f32 GEMM (the f32 family's 4x8 kernel)
// summed in float32, then the layer's activation. Zeroing the columns is exact (0 quantizes to 0
// at any scale): the int8 part needs no gather, only the int8 codes of |O| columns set to 0.
// With no outlier column it is int8's dynamic-per-row path, bit for bit (same kernels, same scales).

import { ArgumentError } from '../errors.js';
import { addNhwc } from '../kernels/elementwise.js';
import { F32_NR, F32Weights, f32Gemm } from '../kernels/f32.js';
import { quantizeQ8At } from '../kernels/q8.js';
import { packQs8, qs8Gemm, type EpilogueActivation, type Qs8Weights } from '../kernels/qs8.js';
import { splitRows } from '../quant/outliers.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import type { GemmImpl } from './gemm.js';

/** int8 weights [K, N] in [-127, 127], one float32 scale per output column, and the outlier threshold. */
export interface OutlierWeights {
  k: number;
  n: number;
  q: Int8Array;
  scales: Float32Array;
  /** a feature column runs in float where some |x| >= threshold (Infinity: never) */
  threshold: number;
  /** the features whose float32 rows are kept (calibration saw them reach the threshold), ascending */
  floatIndex: Int32Array;
  /** their rows of W, [floatIndex.length][N] */
  floatRows: Float32Array;
}

/** W's row for feature t as the float part takes it, into out [N]: the kept float32 row, or q * s_col. */
export function floatRow(w: OutlierWeights, keptAt: number, t: number, out: Float32Array | Float64Array, at = 0): void {
  const { n, q, scales } = w;
  if (keptAt >= 0) for (let c = 0; c < n; c++) out[at + c] = w.floatRows[keptAt * n + c];
  else for (let c = 0; c < n; c++) out[at + c] = Math.fround(q[t * n + c] * scales[c]);
}

/** keptAt[t]: feature t's row in w.floatRows, or -1 */
export function keptRows(w: OutlierWeights): Int32Array {
  const at = new Int32Array(w.k).fill(-1);
  w.floatIndex.forEach((t, i) => (at[t] = i));
  return at;
}

export class Int8OutlierGemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly packed: Qs8Weights;
  private readonly epilogue: EpilogueActivation | undefined;
  /** the activation as a pass of its own, after the float part is added */
  private readonly post: ChannelActivation | null;
  private readonly keptAt: Int32Array;

  constructor(private readonly rt: Runtime, private readonly w: OutlierWeights, private readonly bias: Float32Array | null, activation: ConvActivation | null) {
    const { k, n, q, scales } = w;
    if (q.length !== k * n || scales.length !== n) throw new ArgumentError(`int8-outlier layer: weights of ${q.length} values and ${scales.length} scales do not make [${k}, ${n}]`);
    if (bias && bias.length !== n) throw new ArgumentError(`int8-outlier layer: bias has ${bias.length} values, expected ${n}`);
    this.k = k;
    this.n = n;
    // packed as int8's user layer packs (7-bit layout where it applies): the same bits with no outliers
    this.packed = packQs8(rt, q, k, n, new Int32Array(n));
    this.epilogue = activation ? { kind: activation.kind, alpha: activation.alpha, beta: activation.beta, scale: activation.scale, shift: activation.shift } : undefined;
    this.post = activation ? new ChannelActivation(rt, n, activation, false) : null;
    this.keptAt = keptRows(w);
  }

  get weightBytes(): number {
    return this.packed.bytes + this.n * 4 + this.w.floatRows.length * 4;
  }

  get layout(): string {
    return this.packed.layout;
  }

  async run(m: number, x: number, y: number): Promise<void> {
    const { rt, k, n } = this;
    const xv = rt.view(Float32Array, x, m * k);
    const { cols, rowScale } = splitRows(xv, m, k, this.w.threshold);
    await rt.scoped(async (alloc) => {
      const pq = alloc(m * k + 16);
      const ps = rt.putPadded(alloc, Float32Array, rowScale, m);
      const pz = rt.putPadded(alloc, Int32Array, new Int32Array(m), m);
      quantizeQ8At(rt, x, { outer: 1, channels: m, inner: k }, ps, pz, true, pq);
      if (cols.length > 0) {
        const qv = rt.view(Int8Array, pq, m * k);
        for (let i = 0; i < m; i++) for (const t of cols) qv[i * k + t] = 0;
      }
      const output = { kind: 'float32' as const, colScale: this.w.scales, rowScale, bias: this.bias ?? undefined, activation: cols.length ? undefined : this.epilogue };
      await qs8Gemm(rt, alloc, { m, a: pq, signed: true, za: 0, w: this.packed, output, out: y, outStride: n * 4 });
      if (cols.length > 0) await this.floatPart(alloc, m, x, y, cols);
    });
  }

  /** y += x[:, cols] W[cols, :] (dequantized rows), then the activation */
  private async floatPart(alloc: (bytes: number) => number, m: number, x: number, y: number, cols: Int32Array): Promise<void> {
    const { rt, k, n } = this;
    const o = cols.length, np = Math.ceil(n / F32_NR) * F32_NR;
    const pa = alloc(m * o * 4), pf = alloc(m * n * 4);
    const wo = new F32Weights(rt, o, n, np, rt.alloc(o * np * 4));
    try {
      // views after every allocation (a growing memory detaches older ones)
      const xv = rt.view(Float32Array, x, m * k), av = rt.view(Float32Array, pa, m * o);
      for (let i = 0; i < m; i++) for (let j = 0; j < o; j++) av[i * o + j] = xv[i * k + cols[j]];
      // panels of 8 columns, K-major (assembly/gemm/f32.ts), padding columns 0, written in order
      const wv = rt.view(Float32Array, wo.ptr, o * np), { q, scales, floatRows } = this.w;
      for (let p = 0, at = 0; p < np; p += 8) {
        const width = Math.min(8, n - p);
        for (let j = 0; j < o; j++, at += 8) {
          const kept = this.keptAt[cols[j]];
          if (kept >= 0) for (let c = 0, b = kept * n + p; c < width; c++) wv[at + c] = floatRows[b + c];
          else for (let c = 0, b = cols[j] * n + p; c < width; c++) wv[at + c] = q[b + c] * scales[p + c];
          for (let c = width; c < 8; c++) wv[at + c] = 0;
        }
      }
      await f32Gemm(rt, { m, a: pa, aStride: o * 4, w: wo, c: pf, cStride: n * 4, bias: 0, lo: -Infinity, hi: Infinity });
      await addNhwc(rt, y, pf, y, m, n);
    } finally {
      wo.dispose();
    }
    await this.post?.apply(y, m);
  }

  dispose(): void {
    this.packed.dispose();
    this.post?.dispose();
  }
}
