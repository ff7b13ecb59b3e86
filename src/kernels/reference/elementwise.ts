// Scalar references of the float32 kernels that use plain IEEE mul/add in both builds
// (assembly/elementwise/*, assembly/util/act.ts, f32_matmul_rows and the baseline f32 GEMM), op for
// op in float32, so the kernels must match them bit for bit. test/elementwise.test.ts and
// scripts/determinism.mjs (through dist/) both check the kernels against these.

import { roundHalfEven } from '../../quant/rounding.js';

const f = Math.fround;

/** f32x4.pmax / pmin on one lane: the first operand unless the comparison holds (NaN keeps it) */
const pmax = (a: number, b: number) => (a < b ? b : a);
const pmin = (a: number, b: number) => (b < a ? b : a);

/** assembly/util/act.ts vexp, op for op in float32 */
const EXP_C = [1.9841270e-4, 1.3888889e-3, 8.3333333e-3, 4.1666667e-2, 1.6666667e-1, 0.5, 1.0, 1.0].map(f);
const L2E = f(1.4426950408889634);
const LN2H = f(0.693145751953125);
const LN2L = f(1.428606765330187e-6);
export function refExp(x: number): number {
  const xc = pmin(pmax(x, -87), 88);
  const n = roundHalfEven(f(xc * L2E)); // f32x4.nearest
  let r = f(xc - f(n * LN2H));
  r = f(r - f(n * LN2L));
  let p = EXP_C[0];
  for (let i = 1; i < EXP_C.length; i++) p = f(f(p * r) + EXP_C[i]);
  return f(p * 2 ** n); // n in [-126, 127]: 2^n is the float32 built from the exponent bits
}

export const refSigmoid = (z: number): number => f(1 / f(1 + refExp(-z)));

/** assembly/util/act.ts act(kind, x, alpha, beta) on one float32 lane (kinds 0..7, see there) */
export function refAct(kind: number, x: number, alpha: number, beta: number): number {
  switch (kind) {
    case 1: return pmax(x, 0);
    case 2: return f(x * pmin(pmax(f(f(x * f(1 / 6)) + 0.5), 0), 1));
    case 3: return f(x * refSigmoid(f(x * alpha)));
    case 4: return refSigmoid(f(x * alpha));
    case 5: return pmin(pmax(f(f(x * alpha) + beta), 0), 1);
    case 6: return pmin(pmax(x, alpha), beta);
    case 7: return pmax(x < 0 ? f(x * alpha) : x, beta);
    default: return x;
  }
}

/** f32_act_nhwc: y[p][c] = act(x[p][c]) * scale[c] + shift[c] (alpha, beta as float32) */
export function refActNhwc(
  x: ArrayLike<number>, pixels: number, c: number, kind: number, alpha: number, beta: number, scale: ArrayLike<number>, shift: ArrayLike<number>,
): Float32Array {
  const y = new Float32Array(pixels * c);
  for (let i = 0; i < pixels * c; i++) {
    const ch = i % c;
    y[i] = f(f(refAct(kind, x[i], f(alpha), f(beta)) * scale[ch]) + shift[ch]);
  }
  return y;
}

/** f32_softmax_rows: the max in four lanes then the tail, sums of exp in four lanes then the tail */
export function refSoftmaxRows(x: ArrayLike<number>, rows: number, n: number): Float32Array {
  const n4 = n & ~3;
  const y = new Float32Array(rows * n);
  const e = new Float32Array(n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    const lanes = [-Infinity, -Infinity, -Infinity, -Infinity];
    for (let j = 0; j < n4; j++) lanes[j & 3] = pmax(lanes[j & 3], x[o + j]);
    let m = Math.max(Math.max(lanes[0], lanes[1]), Math.max(lanes[2], lanes[3]));
    for (let j = n4; j < n; j++) m = Math.max(m, x[o + j]);
    for (let j = 0; j < n; j++) e[j] = refExp(f(x[o + j] - m));
    const sums = [0, 0, 0, 0];
    for (let j = 0; j < n4; j++) sums[j & 3] = f(sums[j & 3] + e[j]);
    let sum = f(f(sums[0] + sums[1]) + f(sums[2] + sums[3]));
    for (let j = n4; j < n; j++) sum = f(sum + e[j]);
    const inv = f(1 / sum);
    for (let j = 0; j < n; j++) y[o + j] = f(e[j] * inv);
  }
  return y;
}

/** f32_gap_nhwc: per channel, the sum over pixels in order, times the float32 1/hw */
export function refGapNhwc(x: ArrayLike<number>, hw: number, c: number): Float32Array {
  const y = new Float32Array(c);
  const inv = f(1 / hw);
  for (let ch = 0; ch < c; ch++) {
    let acc = 0;
    for (let p = 0; p < hw; p++) acc = f(acc + x[p * c + ch]);
    y[ch] = f(acc * inv);
  }
  return y;
}

export interface PoolGeometry2d {
  h: number; w: number; c: number; kh: number; kw: number; sh: number; sw: number;
  /** [top, left, bottom, right] */
  pads: readonly [number, number, number, number] | readonly number[];
  /** count the padded cells in the divisor (ONNX count_include_pad) */
  countPad: boolean | number;
}

/** output size [oh, ow] of a pooling window */
export function poolOutput(g: PoolGeometry2d): [number, number] {
  const [pt, pl, pb, pr] = g.pads;
  return [Math.floor((g.h + pt + pb - g.kh) / g.sh) + 1, Math.floor((g.w + pl + pr - g.kw) / g.sw) + 1];
}

/** f32_avgpool_nhwc: sums over the window's cells inside the image, row by row, times 1/count */
export function refAvgpoolNhwc(x: ArrayLike<number>, g: PoolGeometry2d): Float32Array {
  const { h, w, c, kh, kw, sh, sw } = g;
  const [pt, pl, pb, pr] = g.pads;
  const [oh, ow] = poolOutput(g);
  const y = new Float32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    const y0 = oy * sh - pt;
    const u0 = Math.max(y0, 0), u1 = Math.min(y0 + kh, h);
    for (let ox = 0; ox < ow; ox++) {
      const x0 = ox * sw - pl;
      const v0 = Math.max(x0, 0), v1 = Math.min(x0 + kw, w);
      const cnt = g.countPad ? (Math.min(y0 + kh, h + pb) - y0) * (Math.min(x0 + kw, w + pr) - x0) : Math.max((u1 - u0) * (v1 - v0), 1);
      const inv = f(1 / cnt);
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let u = u0; u < u1; u++) for (let v = v0; v < v1; v++) acc = f(acc + x[(u * w + v) * c + ch]);
        y[(oy * ow + ox) * c + ch] = f(acc * inv);
      }
    }
  }
  return y;
}

/** f32_maxpool_nhwc: the max over the window's cells inside the image (Math.max: NaN wins, +0 beats -0, as f32.max) */
export function refMaxpoolNhwc(x: ArrayLike<number>, g: PoolGeometry2d): Float32Array {
  const { h, w, c, kh, kw, sh, sw } = g;
  const [pt, pl] = g.pads;
  const [oh, ow] = poolOutput(g);
  const y = new Float32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    const y0 = oy * sh - pt;
    for (let ox = 0; ox < ow; ox++) {
      const x0 = ox * sw - pl;
      for (let ch = 0; ch < c; ch++) {
        let acc = -Infinity;
        for (let u = Math.max(y0, 0); u < Math.min(y0 + kh, h); u++) for (let v = Math.max(x0, 0); v < Math.min(x0 + kw, w); v++) acc = Math.max(acc, x[(u * w + v) * c + ch]);
        y[(oy * ow + ox) * c + ch] = acc;
      }
    }
  }
  return y;
}

/** f32_scale_channels_nhwc: y[p][c] = x[p][c] * s[c] */
export function refScaleChannelsNhwc(x: ArrayLike<number>, c: number, s: ArrayLike<number>): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f(x[i] * s[i % c]);
  return y;
}

/** the baseline f32 GEMM: acc = 0; acc = acc + a*w for k in order; then + bias; then clamp (pmax, pmin) */
export function refF32Gemm(
  a: ArrayLike<number>, w: ArrayLike<number>, m: number, k: number, n: number, bias: ArrayLike<number> | null = null, lo = -Infinity, hi = Infinity,
): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = f(s + f(a[i * k + t] * w[t * n + j]));
      const v = f(s + (bias ? bias[j] : 0));
      out[i * n + j] = pmin(pmax(v, lo), hi);
    }
  }
  return out;
}

/** f32_matmul_rows: C[b] = A[b] (m x k) B[b] (k x n), row-major, sums in k order */
export function refMatmulRows(a: Float32Array, b: Float32Array, batch: number, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    out.set(refF32Gemm(a.subarray(bi * m * k, (bi + 1) * m * k), b.subarray(bi * k * n, (bi + 1) * k * n), m, k, n), bi * m * n);
  }
  return out;
}

/**
 * f32_attention_rows: out[h] = softmax(scale * q[h] kT[h]) v[h], per query row; q [H][m][k],
 * kT [H][k][n], v [H][n][dv]. The scores are rounded to float32 before the scale.
 */
export function refAttentionRows(
  q: Float32Array, kT: Float32Array, v: Float32Array, heads: number, m: number, k: number, n: number, dv: number, scale: number,
): Float32Array {
  const out = new Float32Array(heads * m * dv);
  const sc = f(scale);
  for (let h = 0; h < heads; h++) {
    const scores = refF32Gemm(q.subarray(h * m * k, (h + 1) * m * k), kT.subarray(h * k * n, (h + 1) * k * n), m, k, n).map((s) => f(s * sc));
    const p = refSoftmaxRows(scores, m, n);
    out.set(refF32Gemm(p, v.subarray(h * n * dv, (h + 1) * n * dv), m, n, dv), h * m * dv);
  }
  return out;
}

/** f32_add_nhwc: y[i] = a[i] + b[i] */
export function refAddNhwc(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = f(a[i] + b[i]);
  return y;
}

/**
 * f32_copy_rows on float indices: `rows` rows of n floats from x (xStride floats apart) into a copy
 * of y (yStride floats apart); the floats between the rows keep y's values.
 */
export function refCopyRows(x: ArrayLike<number>, xStride: number, y: ArrayLike<number>, yStride: number, rows: number, n: number): Float32Array {
  const out = Float32Array.from(y);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) out[r * yStride + i] = x[r * xStride + i];
  return out;
}
