// float32 matrix multiplication (the "f32" family): C = A * W + bias, then clamp to [lo, hi].
//
// Packed weights, panels of NR = 8 columns, K-major:
//   panel p (columns 8p .. 8p+7):  k=0: [w00 w01 .. w07]  k=1: [w10 .. w17]  ...  (K rows of 32 bytes)
//   N padded to a multiple of 8 with zero columns; panels follow each other.
//
// The baseline build multiplies then adds (IEEE results, identical on every CPU); the relaxed
// build uses f32x4.relaxed_madd, which fuses on CPUs with FMA, so its low bits may differ.

import { clampLanes, relaxedMulAdd, storeLanes8 } from '../util/simd';
import { f32Tile4x8 } from './f32-tile';

@inline function finish(acc: v128, bias: v128, lo: v128, hi: v128): v128 {
  return clampLanes(f32x4.add(acc, bias), lo, hi);
}

// rows [0, mr) (mr <= 4) times columns [n0, n1), n0 a multiple of 8
@inline function gemm4x8(
  mr: i32, n0: i32, n1: i32, k: i32, a: usize, aStride: usize, w: usize,
  c: usize, cStride: usize, bias: usize, lo: v128, hi: v128,
): void {
  const a0 = a;
  const a1 = mr > 1 ? a0 + aStride : a0;
  const a2 = mr > 2 ? a1 + aStride : a1;
  const a3 = mr > 3 ? a2 + aStride : a2;
  const c0 = c;
  const c1 = mr > 1 ? c0 + cStride : c0;
  const c2 = mr > 2 ? c1 + cStride : c1;
  const c3 = mr > 3 ? c2 + cStride : c2;
  const panelBytes = <usize>k << 5;
  for (let n = n0; n < n1; n += 8) {
    const wp = w + <usize>(n >> 3) * panelBytes;
    f32Tile4x8(false, false, 0, f32x4.splat(0), false, k, a0, a1, a2, a3, wp, c0, c1, c2, c3, n, n1, 0, bias, lo, hi);
  }
}

// one row x columns [n0, n1): two panels per step share each A splat (GEMV streams W)
@inline function gemv1x16(
  n0: i32, n1: i32, k: i32, a: usize, w: usize, c: usize, bias: usize, lo: v128, hi: v128,
): void {
  const panelBytes = <usize>k << 5;
  let n = n0;
  for (; n + 8 < n1; n += 16) {
    let wp = w + <usize>(n >> 3) * panelBytes;
    let wq = wp + panelBytes;
    let x0 = f32x4.splat(0), x1 = f32x4.splat(0), x2 = f32x4.splat(0), x3 = f32x4.splat(0);
    for (let kk: usize = 0; kk < (<usize>k << 2); kk += 4) {
      const v = v128.load32_splat(a + kk);
      x0 = relaxedMulAdd(v, v128.load(wp), x0);
      x1 = relaxedMulAdd(v, v128.load(wp, 16), x1);
      x2 = relaxedMulAdd(v, v128.load(wq), x2);
      x3 = relaxedMulAdd(v, v128.load(wq, 16), x3);
      wp += 32;
      wq += 32;
    }
    const nb = <usize>n << 2;
    const zero = f32x4.splat(0);
    const nr = n1 - n;
    storeLanes8(c + nb, finish(x0, bias != 0 ? v128.load(bias + nb) : zero, lo, hi), finish(x1, bias != 0 ? v128.load(bias + nb, 16) : zero, lo, hi), nr);
    storeLanes8(c + nb + 32, finish(x2, bias != 0 ? v128.load(bias + nb, 32) : zero, lo, hi), finish(x3, bias != 0 ? v128.load(bias + nb, 48) : zero, lo, hi), nr - 8);
  }
  if (n < n1) gemm4x8(1, n, n1, k, a, 0, w, c, 0, bias, lo, hi);
}

// C[m x (n0..n1)] = clamp(A[m x k] * W + bias, lo, hi); strides in bytes; bias padded to 8 or 0.
export function f32_gemm_4x8(
  m: i32, n0: i32, n1: i32, k: i32, a: usize, aStride: usize, w: usize,
  c: usize, cStride: usize, bias: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  if (m == 1) {
    gemv1x16(n0, n1, k, a, w, c, bias, vlo, vhi);
    return;
  }
  let nc = (256 * 1024 / (k << 5)) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      gemm4x8(min(4, m - m0), nb, ne, k, a + <usize>m0 * aStride, aStride, w,
        c + <usize>m0 * cStride, cStride, bias, vlo, vhi);
    }
  }
}

// C[b] = A[b] (m x k) * B[b] (k x n), all row-major, batches [b0, b1): small products between two
// activations (attention scores and values). Vectorised over n; sums in k order.
export function f32_matmul_rows(b0: i32, b1: i32, m: i32, k: i32, n: i32, a: usize, bm: usize, c: usize): void {
  const n4 = n & ~3;
  for (let bi = b0; bi < b1; bi++) {
    const ab = a + (<usize>(bi * m * k) << 2), bb = bm + (<usize>(bi * k * n) << 2), cb = c + (<usize>(bi * m * n) << 2);
    for (let i = 0; i < m; i++) {
      const ar = ab + (<usize>(i * k) << 2), cr = cb + (<usize>(i * n) << 2);
      for (let j = 0; j < n4; j += 4) {
        let acc = f32x4.splat(0);
        for (let t = 0; t < k; t++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(ar + (<usize>t << 2)), v128.load(bb + (<usize>(t * n + j) << 2))));
        v128.store(cr + (<usize>j << 2), acc);
      }
      for (let j = n4; j < n; j++) {
        let acc: f32 = 0;
        for (let t = 0; t < k; t++) acc += load<f32>(ar + (<usize>t << 2)) * load<f32>(bb + (<usize>(t * n + j) << 2));
        store<f32>(cr + (<usize>j << 2), acc);
      }
    }
  }
}
