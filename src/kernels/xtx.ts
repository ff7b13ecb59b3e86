// XᵀX over rows of K (float64, lower triangle), without keeping the rows: quantizeModel's layer
// Hessians (src/model/gptq-pass.ts, src/model/layer-hessians.ts). The rows are gathered in chunks of
// XTX_CHUNK, packed in panels of 4 columns (assembly/gemm/f64-xtx.ts's layout), and each chunk's
// products run in wasm (f64_xtx_4x4, panels of XTX_PANEL rows of XᵀX at a time, so the scratch in
// linear memory stays small) and are added to the running sum here. The same chunks and the same
// order of operations as src/quant/gptq.ts's HessianSum (rows in order, each chunk's sum added to
// the total), so both give the same bits: HessianSum is its scalar reference.
//   PP-OCRv4's 33 layers on 68 lines (2.1e10 multiply-adds): 18 s in HessianSum, ~4 s here.

import { ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { GEMM_KC, type GemmNT, type SyrkLower } from '../quant/gptq.js';

export const XTX_CHUNK = GEMM_KC;
/** rows of XᵀX per kernel call (a multiple of 4) */
const XTX_PANEL = 64;

/**
 * The lower triangle of XᵀX for `rows` rows of `packed` (panels of 4 columns, `panelRows` rows
 * apart: element (r, t) at ((t >> 2)·panelRows + r)·4 + (t & 3); kp columns, a multiple of 4):
 * `add(i, s, si)` gets row i < k of it as s[si + j], j <= i.
 */
function lowerProducts(rt: KernelHost, packed: Float64Array, rows: number, panelRows: number, kp: number, k: number, add: (i: number, s: Float64Array, si: number) => void): void {
  const panel = Math.min(XTX_PANEL, kp);
  const px = rt.alloc(packed.length * 8);
  const ps = rt.alloc(panel * kp * 8);
  try {
    new Float64Array(rt.memory.buffer, px, packed.length).set(packed);
    for (let i0 = 0; i0 < kp; i0 += panel) {
      const i1 = Math.min(kp, i0 + panel);
      rt.kernels.f64_xtx_4x4(rows, px, panelRows * 32, i0, i1, ps, kp * 8);
      const s = new Float64Array(rt.memory.buffer, ps, panel * kp);
      for (let i = i0; i < Math.min(i1, k); i++) add(i, s, (i - i0) * kp);
    }
  } finally {
    rt.free(ps);
    rt.free(px);
  }
}

/** Rows [0, m) of a row-major block, depth [p0, p0 + kc), packed in panels of 4 rows (f64_xtx_4x4's layout, rows padded to mp with 0). */
function packRows(a: Float64Array, aOff: number, lda: number, m: number, mp: number, p0: number, kc: number): Float64Array {
  const packed = new Float64Array(mp * kc);
  for (let i = 0; i < m; i++) {
    const src = aOff + i * lda + p0;
    let o = (i >> 2) * kc * 4 + (i & 3);
    for (let p = 0; p < kc; p++, o += 4) packed[o] = a[src + p];
  }
  return packed;
}

/**
 * gemmNT without `lower` (src/quant/gptq.ts: c += alpha · A Bᵀ) with the products in wasm
 * (f64_gemm_4x4): the same bits. GPTQ's lazy batch updates run on it (a 4096×4096 layer: N·K²/2 =
 * 3.4e10 multiply-adds).
 */
export function wasmGemmNT(rt: KernelHost): GemmNT {
  return (a, aOff, lda, b, bOff, ldb, c, cOff, ldc, m, n, depth, alpha) => {
    const mp = Math.ceil(m / 4) * 4, np = Math.ceil(n / 4) * 4;
    for (let p0 = 0; p0 < depth; p0 += GEMM_KC) {
      const kc = Math.min(GEMM_KC, depth - p0);
      const pa = packRows(a, aOff, lda, m, mp, p0, kc), pb = packRows(b, bOff, ldb, n, np, p0, kc);
      const xa = rt.alloc(pa.length * 8), xb = rt.alloc(pb.length * 8), xs = rt.alloc(mp * np * 8);
      try {
        new Float64Array(rt.memory.buffer, xa, pa.length).set(pa);
        new Float64Array(rt.memory.buffer, xb, pb.length).set(pb);
        rt.kernels.f64_gemm_4x4(kc, xa, kc * 32, xb, kc * 32, mp, np, xs, np * 8);
        const s = new Float64Array(rt.memory.buffer, xs, mp * np);
        for (let i = 0; i < m; i++) {
          const ci = cOff + i * ldc, si = i * np;
          for (let j = 0; j < n; j++) c[ci + j] += alpha * s[si + j];
        }
      } finally {
        rt.free(xs);
        rt.free(xb);
        rt.free(xa);
      }
    }
  };
}

/**
 * syrkLower (src/quant/gptq.ts: c += alpha · A Aᵀ, lower triangle) with the products in wasm: the
 * same bits (per KC of depth, the products in order, then c += alpha · sum). GPTQ's Cholesky
 * factorization runs its rank updates on it (PP-OCRv4's K 2880 layer: 4e9 multiply-adds).
 */
export function wasmSyrkLower(rt: KernelHost): SyrkLower {
  return (a, aOff, lda, c, cOff, ldc, m, depth, alpha) => {
    const mp = Math.ceil(m / 4) * 4;
    for (let p0 = 0; p0 < depth; p0 += GEMM_KC) {
      const kc = Math.min(GEMM_KC, depth - p0);
      lowerProducts(rt, packRows(a, aOff, lda, m, mp, p0, kc), kc, kc, mp, m, (i, s, si) => {
        const ci = cOff + i * ldc;
        for (let j = 0; j <= i; j++) c[ci + j] += alpha * s[si + j];
      });
    }
  };
}

export class XtxSum {
  /** rows added so far */
  rows = 0;
  private readonly kp: number;
  /** lower triangle of Σ xᵀx, [K][K] */
  private readonly sum: Float64Array;
  /** the chunk, packed: element (r, t) at ((t >> 2)·CHUNK + r)·4 + (t & 3); padding columns stay 0 */
  private readonly packed: Float64Array;
  private fill = 0;

  constructor(private readonly rt: KernelHost, readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new ShapeError(`K must be a positive integer, got ${k}`);
    this.kp = Math.ceil(k / 4) * 4;
    this.sum = new Float64Array(k * k);
    this.packed = new Float64Array(this.kp * XTX_CHUNK);
  }

  /** adds the row of K values at x[offset] */
  addRow(x: ArrayLike<number>, offset: number): void {
    const { k, packed } = this;
    let o = this.fill * 4;
    for (let t = 0; t < k; t += 4, o += XTX_CHUNK * 4) {
      const e = Math.min(4, k - t);
      for (let u = 0; u < e; u++) packed[o + u] = x[offset + t + u];
    }
    this.rows++;
    if (++this.fill === XTX_CHUNK) this.flush();
  }

  private flush(): void {
    const rows = this.fill;
    if (rows === 0) return;
    const { k, sum } = this;
    lowerProducts(this.rt, this.packed, rows, XTX_CHUNK, this.kp, k, (i, s, si) => {
      const ci = i * k;
      for (let j = 0; j <= i; j++) sum[ci + j] += s[si + j];
    });
    this.fill = 0;
  }

  /** factor · XᵀX (K×K, both triangles filled); the sum goes on accumulating afterwards */
  result(factor: number): Float64Array {
    this.flush();
    const { k } = this;
    const h = new Float64Array(k * k);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j <= i; j++) {
        const v = this.sum[i * k + j] * factor;
        h[i * k + j] = v;
        h[j * k + i] = v;
      }
    }
    return h;
  }
}
