// qs8 GEMM on int16 weight panels, "w16" layout (baseline SIMD; built into both builds). Same math
// and epilogue as qs8_gemm_4x8c2 (assembly/gemm/qs8.ts): acc = sum_k A'[m][k] * W'[k][n], then
// C = acc + colBias[n] + colFactor[n] * rowSum[m] -> int32 / requantized 8-bit / float32.
//
// W' is int16, widened once at pack time, in panels of 8 columns, each k-pair of a panel 32 bytes
// (the c2 order with 16-bit elements), panels Kp * 16 bytes one after another:
//
//   panel p, k-pair j:  | c0 k0 | c0 k1 | c1 k0 | c1 k1 | c2 .. | c3 .. || c4 .. | c5 .. | c6 .. | c7 .. |
//
// A' (int16, staged as for c2) is re-laid by qs8_pack_a4 into strips of 4 rows interleaved per
// k-pair, so the four 32-bit broadcasts of a step come from one pointer with constant offsets:
//
//   strip s, k-pair j:  | r0 k0 k1 | r1 k0 k1 | r2 k0 k1 | r3 k0 k1 |   (16 bytes; rows past M are 0)
//
// A strip is 4 * Kp * 2 bytes = 4 row strides of the row-major staging (aStride = Kp * 2), so rows
// [m0, ...) of a call start at a + m0 * aStride when m0 is a multiple of 4.
//
// Per k-pair and 4x8 tile: 2 plain 16-byte loads of W', 4 load32_splat of A', 8 i32x4.dot_i16x8_s,
// 8 i32x4.add, and two pointer bumps (V8 11.3 on x64: vmovdqu x2, vbroadcastss x4, vpmaddwd x8,
// vpaddd x8, 2 adds, its loop stack check, cmp/jcc; 12 of the 15 allocatable xmm registers).
// c2 does the same with vpmovsxbw (the sign extension, a shuffle-port µop) instead of vmovdqu, and
// four separately addressed A rows.
//
// What onnxruntime-web's MLAS kernel for wasm SIMD does (qgemm_kernel_wasmsimd.cpp, read for its
// instruction mix only): A (uint8) zero-extended to int16 rows and B pre-widened to int16 k-pair
// panels of 8 columns at pack time, blocks of 12 rows x 128 columns x 128 k. Its microkernel is
// 1 row x 8 columns: per 4 k-pairs one 16-byte load of A, then per k-pair one i32x4 shuffle
// (broadcast of an A pair), two 16-byte loads of B, 2 dot_i16x8_s and 2 i32x4.add. That is
// 7 wasm instructions per 16 MACs against 22 per 64 here (plus loop overhead), and only 2
// accumulator chains; it reloads B for every row.
//
// Tried and dropped (Node 20 / V8 11.3, Zen 5 at ~3.6 GHz; bench/RESULTS-qs8-tiles.md): 6x8 and 5x8
// tiles (V8 spills: 20-60 GOPS), a 4x8 loop with two k-pairs per iteration (V8 spills), 3x8 (no
// gain), int8 weights on interleaved A (no gain over c2), W blocks of 32 KiB - 2 MiB (no
// difference from 256 KiB), and a 2x4 "c8" tile with no broadcasts at all (A' and W' both 8-k
// int16 vectors, a horizontal sum per tile): same speed as this one. Both run at ~95 GOPS, about
// 83% of what 2 vpmaddwd per cycle allow (8 per 64 MACs, ~115 GOPS); the rest is V8's loop
// overhead (its stack check, the pointer bumps), so no tile shape helps much more.

import { stripEpilogue } from './qs8-epilogue';

@inline function dot(c: v128, x: v128, w: v128): v128 {
  return i32x4.add(c, i32x4.dot_i16x8_s(x, w));
}

// rows [m0, m0 + mr) x columns [n0, n1); a0 is the strip's interleaved A'
@inline function tile4x8(mr: i32, m0: i32, n0: i32, n1: i32, kp: i32, a0: usize, w: usize, prm: usize, out: usize, outStride: usize): void {
  const panelBytes = <usize>kp << 4;
  for (let n = n0; n < n1; n += 8) {
    let wp = w + <usize>(n >> 3) * panelBytes;
    const wEnd = wp + panelBytes;
    let ap = a0;
    let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
    let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
    let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
    let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
    while (wp < wEnd) {
      const w0 = v128.load(wp);
      const w1 = v128.load(wp, 16);
      const x0 = v128.load32_splat(ap);
      c00 = dot(c00, x0, w0);
      c01 = dot(c01, x0, w1);
      const x1 = v128.load32_splat(ap, 4);
      c10 = dot(c10, x1, w0);
      c11 = dot(c11, x1, w1);
      const x2 = v128.load32_splat(ap, 8);
      c20 = dot(c20, x2, w0);
      c21 = dot(c21, x2, w1);
      const x3 = v128.load32_splat(ap, 12);
      c30 = dot(c30, x3, w0);
      c31 = dot(c31, x3, w1);
      wp += 32;
      ap += 16;
    }
    stripEpilogue(mr, c00, c01, c10, c11, c20, c21, c30, c31, prm, m0, n, n1 - n, out, outStride);
  }
}

// W' in blocks of this many bytes (columns [nb, ne)), each block swept by every row strip
const W_BLOCK_BYTES: i32 = 256 * 1024;

// rows [0, m) x columns [n0, n1), n0 a multiple of 8; a: interleaved A' (qs8_pack_a4), strips
// 4 * aStride bytes apart; out: row stride outStride bytes, indexed from row 0 and column 0
export function qs8_gemm_4x8w16(m: i32, n0: i32, n1: i32, kp: i32, a: usize, aStride: usize, w: usize, prm: usize, out: usize, outStride: usize): void {
  let nc = (W_BLOCK_BYTES / max(kp << 4, 1)) << 3;
  if (nc < 8) nc = 8;
  for (let nb = n0; nb < n1; nb += nc) {
    const ne = min(nb + nc, n1);
    for (let m0 = 0; m0 < m; m0 += 4) {
      tile4x8(min(4, m - m0), m0, nb, ne, kp, a + <usize>m0 * aStride, w, prm, out, outStride);
    }
  }
}

// row-major staged A' (int16, kp per row, rows srcStride bytes apart) -> strips of 4 rows
// interleaved per k-pair (the picture above), rows past m zero: ceil(m / 4) * 4 * kp * 2 bytes.
// Whole strips transpose 4x4 blocks of k-pairs with shuffles; the tail strip and pairs go one by one.
export function qs8_pack_a4(m: i32, kp: i32, src: usize, srcStride: usize, dst: usize): void {
  const strips = (m + 3) >> 2;
  const pairs = <usize>(kp >> 1);
  const quads = pairs & ~<usize>3;
  for (let s = 0; s < strips; s++) {
    const base = dst + <usize>s * (pairs << 4);
    const p0 = src + <usize>(s << 2) * srcStride;
    let j: usize = 0;
    if ((s << 2) + 4 <= m) {
      const p1 = p0 + srcStride, p2 = p1 + srcStride, p3 = p2 + srcStride;
      for (; j < quads; j += 4) {
        const r0 = v128.load(p0 + (j << 2)), r1 = v128.load(p1 + (j << 2));
        const r2 = v128.load(p2 + (j << 2)), r3 = v128.load(p3 + (j << 2));
        const t0 = v128.shuffle<i32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(r2, r3, 0, 4, 1, 5);
        const t2 = v128.shuffle<i32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(r2, r3, 2, 6, 3, 7);
        const d = base + (j << 4);
        v128.store(d, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
        v128.store(d, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7), 16);
        v128.store(d, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5), 32);
        v128.store(d, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7), 48);
      }
    }
    for (let r = 0; r < 4; r++) {
      const real = (s << 2) + r < m;
      const p = p0 + <usize>r * srcStride;
      for (let jj = j; jj < pairs; jj++) store<i32>(base + (jj << 4) + (<usize>r << 2), real ? load<i32>(p + (jj << 2)) : 0);
    }
  }
}
