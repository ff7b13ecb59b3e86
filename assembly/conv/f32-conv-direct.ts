// float32 convolution without the im2col matrix, for windows whose taps along a row are adjacent
// pixels (dilation 1 across): the image is copied once into a zero-bordered buffer (f32_pad_nhwc),
// and each output pixel's GEMM row is then kh runs of kw * c contiguous floats in that buffer, one
// per kernel row, rowBytes apart. The 4x8 tile walks those runs in order over the f32 GEMM's packed
// panels (K tap-major, as im2col lays rows out), so every output is the same sum in the same order
// as im2col followed by f32_gemm_4x8: the same bits, on either build.

import { clampLanes, relaxedMulAdd, storeLanes8 } from '../util/simd';

// padded rows [r0, r1) of out [hp][wp][c] from x [h][w][c] placed at (pt, pl); zeros elsewhere
export function f32_pad_nhwc(h: i32, w: i32, c: i32, pt: i32, pl: i32, hp: i32, wp: i32, r0: i32, r1: i32, x: usize, out: usize): void {
  const pix = <usize>c << 2;
  const outRow = <usize>wp * pix, inRow = <usize>w * pix;
  for (let r = r0; r < r1; r++) {
    const dst = out + <usize>r * outRow;
    const iy = r - pt;
    if (iy < 0 || iy >= h) {
      memory.fill(dst, 0, outRow);
      continue;
    }
    const left = <usize>pl * pix;
    memory.fill(dst, 0, left);
    memory.copy(dst + left, x + <usize>iy * inRow, inRow);
    memory.fill(dst + left + inRow, 0, outRow - left - inRow);
  }
}

@inline function finish(acc: v128, bias: v128, lo: v128, hi: v128): v128 {
  return clampLanes(f32x4.add(acc, bias), lo, hi);
}

// output rows [oy0, oy1) x columns [n0, n1) (n0 a multiple of 8) of y [oh][ow][cStride bytes]:
// pixel (oy, ox) reads kh runs of segBytes at xp + (oy*sh + u*dh) * rowBytes + ox * pixStep
export function f32_conv_direct_4x8(
  oy0: i32, oy1: i32, ow: i32, n0: i32, n1: i32, kh: i32, sh: i32, dh: i32, segBytes: i32, rowBytes: i32, pixStep: i32,
  xp: usize, w: usize, c: usize, cStride: usize, bias: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const seg = <usize>segBytes, step = <usize>pixStep, tapRow = <usize>dh * <usize>rowBytes;
  const panelBytes = <usize>(kh * segBytes) << 3; // K * 32
  for (let oy = oy0; oy < oy1; oy++) {
    const base = xp + <usize>(oy * sh) * <usize>rowBytes;
    for (let ox = 0; ox < ow; ox += 4) {
      const mr = min(4, ow - ox);
      const a0 = base + <usize>ox * step;
      const a1 = mr > 1 ? a0 + step : a0;
      const a2 = mr > 2 ? a1 + step : a1;
      const a3 = mr > 3 ? a2 + step : a2;
      const c0 = c + <usize>(oy * ow + ox) * cStride;
      const c1 = mr > 1 ? c0 + cStride : c0;
      const c2 = mr > 2 ? c1 + cStride : c1;
      const c3 = mr > 3 ? c2 + cStride : c2;
      for (let n = n0; n < n1; n += 8) {
        let wp = w + <usize>(n >> 3) * panelBytes;
        let x00 = f32x4.splat(0), x01 = f32x4.splat(0);
        let x10 = f32x4.splat(0), x11 = f32x4.splat(0);
        let x20 = f32x4.splat(0), x21 = f32x4.splat(0);
        let x30 = f32x4.splat(0), x31 = f32x4.splat(0);
        for (let u = 0; u < kh; u++) {
          const t = <usize>u * tapRow;
          const p0 = a0 + t, p1 = a1 + t, p2 = a2 + t, p3 = a3 + t;
          for (let kk: usize = 0; kk < seg; kk += 4) {
            const w0 = v128.load(wp), w1 = v128.load(wp, 16);
            const v0 = v128.load32_splat(p0 + kk);
            x00 = relaxedMulAdd(v0, w0, x00);
            x01 = relaxedMulAdd(v0, w1, x01);
            const v1 = v128.load32_splat(p1 + kk);
            x10 = relaxedMulAdd(v1, w0, x10);
            x11 = relaxedMulAdd(v1, w1, x11);
            const v2 = v128.load32_splat(p2 + kk);
            x20 = relaxedMulAdd(v2, w0, x20);
            x21 = relaxedMulAdd(v2, w1, x21);
            const v3 = v128.load32_splat(p3 + kk);
            x30 = relaxedMulAdd(v3, w0, x30);
            x31 = relaxedMulAdd(v3, w1, x31);
            wp += 32;
          }
        }
        const nb = <usize>n << 2, nr = n1 - n;
        const b0 = bias != 0 ? v128.load(bias + nb) : f32x4.splat(0);
        const b1 = bias != 0 ? v128.load(bias + nb, 16) : f32x4.splat(0);
        // aliased rows (a short strip) recompute a real row, so storing them again writes the same values
        storeLanes8(c3 + nb, finish(x30, b0, vlo, vhi), finish(x31, b1, vlo, vhi), nr);
        storeLanes8(c2 + nb, finish(x20, b0, vlo, vhi), finish(x21, b1, vlo, vhi), nr);
        storeLanes8(c1 + nb, finish(x10, b0, vlo, vhi), finish(x11, b1, vlo, vhi), nr);
        storeLanes8(c0 + nb, finish(x00, b0, vlo, vhi), finish(x01, b1, vlo, vhi), nr);
      }
    }
  }
}
