// W4A32 over several rows (a prompt): 4-bit block weights, float32 activations. The GEMV
// (qb4_f32_gemv) unpacks every weight once per row; here each 8 columns are decoded once to
// float32, w = s * (q - z) per block, as K rows of 8 (the f32 GEMM's panel layout), and the f32
// GEMM's 4x8 tile runs every row over them. Decoding costs about what one GEMV row does, so this
// pays from a few rows on (bench/int4.mjs --rows). Rounding differs from the GEMV's (a product
// per weight instead of one per block): the results agree within float32 error, not bit for bit.

import { f32TileRows } from './f32-tile';
import { nibbleS4 } from './qb4-s4';

// an integer 0..65535 in the low 16 bits of each i32 lane -> that value as float32
@inline function lowToF32(v: v128): v128 {
  return f32x4.sub(v128.or(v, i32x4.splat(0x4b000000)), f32x4.splat(8388608));
}

// s4: int16 lanes 0, 2, 4, 6 (pair position 0: K row k) or 1, 3, 5, 7 (k + 1) -> i32 lanes
@inline function evenLanes(u: v128): v128 {
  return i8x16.shuffle(u, i8x16.splat(0), 0, 1, 16, 16, 4, 5, 16, 16, 8, 9, 16, 16, 12, 13, 16, 16);
}
@inline function oddLanes(u: v128): v128 {
  return i8x16.shuffle(u, i8x16.splat(0), 2, 3, 16, 16, 6, 7, 16, 16, 10, 11, 16, 16, 14, 15, 16, 16);
}

// c4: byte r of each 4-byte group (one column's four K values) -> i32 lanes (columns)
@inline function groupByte(v: v128, r: i32): v128 {
  if (r == 0) return i8x16.shuffle(v, i8x16.splat(0), 0, 16, 16, 16, 4, 16, 16, 16, 8, 16, 16, 16, 12, 16, 16, 16);
  if (r == 1) return i8x16.shuffle(v, i8x16.splat(0), 1, 16, 16, 16, 5, 16, 16, 16, 9, 16, 16, 16, 13, 16, 16, 16);
  if (r == 2) return i8x16.shuffle(v, i8x16.splat(0), 2, 16, 16, 16, 6, 16, 16, 16, 10, 16, 16, 16, 14, 16, 16, 16);
  return i8x16.shuffle(v, i8x16.splat(0), 3, 16, 16, 16, 7, 16, 16, 16, 11, 16, 16, 16, 15, 16, 16, 16);
}

@inline function dequant(q: v128, z: v128, s: v128): v128 {
  return f32x4.mul(f32x4.sub(lowToF32(q), z), s);
}

// s4 panel (16 columns), columns 8h .. 8h+7 -> dst, kp rows of 32 bytes
@inline function decodeS4(h: i32, kp: i32, bs: i32, wp: usize, sp: usize, zp: usize, dst: usize): void {
  const blocks = kp / bs;
  let src = wp, out = dst;
  for (let b = 0; b < blocks; b++) {
    const so = (<usize>b << 6) + (<usize>h << 5); // 16 floats per block, this half's 8
    const s0 = v128.load(sp + so), s1 = v128.load(sp + so, 16);
    const z0 = zp != 0 ? v128.load(zp + so) : f32x4.splat(8);
    const z1 = zp != 0 ? v128.load(zp + so, 16) : f32x4.splat(8);
    for (let k: usize = 0; k < <usize>bs; k += 2) {
      const v = v128.load(src);
      const u0 = nibbleS4(v, 2 * h), u1 = nibbleS4(v, 2 * h + 1);
      v128.store(out, dequant(evenLanes(u0), z0, s0));
      v128.store(out, dequant(evenLanes(u1), z1, s1), 16);
      v128.store(out, dequant(oddLanes(u0), z0, s0), 32);
      v128.store(out, dequant(oddLanes(u1), z1, s1), 48);
      src += 16;
      out += 64;
    }
  }
}

// c4 panel (8 columns) -> dst, kp rows of 32 bytes
@inline function decodeC4(kp: i32, bs: i32, wp: usize, sp: usize, zp: usize, dst: usize): void {
  const blocks = kp / bs;
  const mask = i8x16.splat(0x0f);
  let src = wp, out = dst;
  for (let b = 0; b < blocks; b++) {
    const so = <usize>b << 5;
    const s0 = v128.load(sp + so), s1 = v128.load(sp + so, 16);
    const z0 = zp != 0 ? v128.load(zp + so) : f32x4.splat(8);
    const z1 = zp != 0 ? v128.load(zp + so, 16) : f32x4.splat(8);
    for (let k: usize = 0; k < <usize>bs; k += 8) {
      const v0 = v128.load(src), v1 = v128.load(src, 16);
      const l0 = v128.and(v0, mask), h0 = v128.and(i16x8.shr_u(v0, 4), mask);
      const l1 = v128.and(v1, mask), h1 = v128.and(i16x8.shr_u(v1, 4), mask);
      v128.store(out, dequant(groupByte(l0, 0), z0, s0)); v128.store(out, dequant(groupByte(l1, 0), z1, s1), 16);
      v128.store(out, dequant(groupByte(l0, 1), z0, s0), 32); v128.store(out, dequant(groupByte(l1, 1), z1, s1), 48);
      v128.store(out, dequant(groupByte(l0, 2), z0, s0), 64); v128.store(out, dequant(groupByte(l1, 2), z1, s1), 80);
      v128.store(out, dequant(groupByte(l0, 3), z0, s0), 96); v128.store(out, dequant(groupByte(l1, 3), z1, s1), 112);
      v128.store(out, dequant(groupByte(h0, 0), z0, s0), 128); v128.store(out, dequant(groupByte(h1, 0), z1, s1), 144);
      v128.store(out, dequant(groupByte(h0, 1), z0, s0), 160); v128.store(out, dequant(groupByte(h1, 1), z1, s1), 176);
      v128.store(out, dequant(groupByte(h0, 2), z0, s0), 192); v128.store(out, dequant(groupByte(h1, 2), z1, s1), 208);
      v128.store(out, dequant(groupByte(h0, 3), z0, s0), 224); v128.store(out, dequant(groupByte(h1, 3), z1, s1), 240);
      src += 32;
      out += 256;
    }
  }
}

// C[m x (n0..n1)] = A[m x k] * dequant(W) + bias for n0, n1 multiples of 8 (whole panels: 16 on
// s4, 8 on c4); A rows of k floats aStride bytes apart (the decoded rows past k are not read); C rows
// cStride bytes apart; bias padded to whole panels, or 0; panel: kp * 32 bytes of scratch.
export function qb4_f32_gemm(
  m: i32, n0: i32, n1: i32, k: i32, kp: i32, bs: i32, s4: i32, a: usize, aStride: usize,
  w: usize, scales: usize, zeros: usize, bias: usize, c: usize, cStride: usize, panel: usize,
): void {
  const blocks = kp / bs;
  const inf = f32x4.splat(Infinity), ninf = f32x4.splat(-Infinity);
  for (let n = n0; n < n1; n += 8) {
    if (s4 != 0) {
      const p = <usize>(n >> 4);
      const wp = w + p * (<usize>kp << 3), sp = scales + p * <usize>blocks * 64, zp = zeros != 0 ? zeros + p * <usize>blocks * 64 : 0;
      // the half as a constant, so nibbleS4's shifts are too
      if ((n & 8) == 0) decodeS4(0, kp, bs, wp, sp, zp, panel);
      else decodeS4(1, kp, bs, wp, sp, zp, panel);
    } else {
      const p = <usize>(n >> 3);
      decodeC4(kp, bs, w + p * (<usize>kp << 2), scales + p * <usize>blocks * 32, zeros != 0 ? zeros + p * <usize>blocks * 32 : 0, panel);
    }
    f32TileRows(true, false, m, n, n + 8, k, a, aStride, panel, c, cStride, 0, bias, ninf, inf);
  }
}
