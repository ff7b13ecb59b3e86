// float32 convolution helpers, channels-last (the "f32_conv" family): depthwise convolution and im2col.
//
// x: one image [H][W][C] float32.  y: [OH][OW][C].
// Packed depthwise weights: [kh*kw taps][Cp] with Cp = C rounded up to 4, zero padded, then bias [Cp]:
//   tap t = u*kw + v:  [w(c=0,t) w(1,t) .. w(Cp-1,t)]
//   bias:              [b(0) b(1) .. b(Cp-1)]
// Output rows [oh0, oh1) are computed, so threads can split rows.
//
// Contract (what callers and tests may rely on): each output element is
//   y = clamp(((bias + x(t0) w(t0)) + x(t1) w(t1)) + ...,  lo, hi)
// over the taps t = (u, v) whose input pixel lies inside the image (taps on padding are skipped,
// not added as 0), u-major then v-minor, each step one rounded multiply then one rounded add in the
// baseline build (relaxed build: f32x4.relaxed_madd, which may fuse). This per-element order is
// the same on every path (borders, interior blocks, the channel tail, any row split between
// threads), so the baseline build gives the same bits however the work is blocked.
// Clamp: vector lanes pmin(pmax(acc, lo), hi) (keeps NaN); the c % 4 tail channels min/max.
//
// Speed (done pixel by pixel the kernel is load-bound: 5-9 GFLOPS): a row is cut into left border |
// interior | right border columns. Interior columns (all kw taps inside the row) go several output
// pixels at a time so each weight vector load serves all of them:
//   kw = 3 or 5, stride 1, dilation 1 across: eight pixels, the tap row unrolled (dwRow8x3s1,
//     dwRow8x5s1 in f32-dwconv-rows.ts, written by scripts/gen-f32-conv.mjs): input column j
//     serves every (pixel p, tap v) with p + v = j, so kw + 7 input and kw weight loads feed
//     8 kw multiply-adds, and 8 accumulator chains hide the add latency;
//   other kw, stride 1, dilation 1: four pixels with a sliding window of input registers
//     (dwBlock4s1: 2 loads per 4 multiply-adds);
//   anything else: four pixels, one weight load and four input loads per tap (dwBlock4).
// Border pixels and the interior's last few pixels go one at a time (dwPixel), taps limited to
// the image. Rows outside the image are limited per output row (u0..u1) on every path. The c % 4
// tail channels take a scalar path (a vector store there would hit the next pixel).
// Measured (bench/conv.mjs, PP-OCRv4 shapes, one thread, 2.6-3.2 GHz EPYC): 3-4.7x the per-pixel
// version in the baseline build (25-33 GFLOPS), 3.3-5.4x in the relaxed build (30-39 GFLOPS).

import { clampLanes, relaxedMulAdd } from '../util/simd';
import { dwRow8x3s1, dwRow8x5s1 } from './f32-dwconv-rows';

// One output pixel, all c channels, taps [u0, u1) x [v0, v1). xp: input address of tap (u0, 0)
// for channel 0 (tap v is at xp + v * colStep; may lie outside the image for v < v0); wp: weights
// of tap (u0, 0). rowStep/wRowStep: bytes from tap row u to u + 1 in x and in the weights.
function dwPixel(
  xp: usize, wp: usize, bias: usize, out: usize, c: i32, u0: i32, u1: i32, v0: i32, v1: i32,
  rowStep: usize, colStep: usize, wRowStep: usize, cpBytes: usize, lo: f32, hi: f32,
): void {
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const c4Bytes = <usize>(c & ~3) << 2;
  const cBytes = <usize>c << 2;
  const xv0 = xp + <usize>v0 * colStep, wv0 = wp + <usize>v0 * cpBytes;
  for (let cb: usize = 0; cb < c4Bytes; cb += 16) {
    let acc = v128.load(bias + cb);
    let xr = xv0 + cb, wr = wv0 + cb;
    for (let u = u0; u < u1; u++) {
      let xq = xr, wq = wr;
      for (let v = v0; v < v1; v++) {
        acc = relaxedMulAdd(v128.load(xq), v128.load(wq), acc);
        xq += colStep;
        wq += cpBytes;
      }
      xr += rowStep;
      wr += wRowStep;
    }
    v128.store(out + cb, clampLanes(acc, vlo, vhi));
  }
  if (c4Bytes < cBytes) dwPixelTail(xv0, wv0, bias, out, c & ~3, c, u0, u1, v1 - v0, rowStep, colStep, wRowStep, cpBytes, lo, hi);
}

// four pixels' channel vectors, clamped, at o, o + step, o + 2 step, o + 3 step
@inline function storeClamped4(o: usize, step: usize, a0: v128, a1: v128, a2: v128, a3: v128, vlo: v128, vhi: v128): void {
  v128.store(o, clampLanes(a0, vlo, vhi));
  v128.store(o + step, clampLanes(a1, vlo, vhi));
  v128.store(o + 2 * step, clampLanes(a2, vlo, vhi));
  v128.store(o + 3 * step, clampLanes(a3, vlo, vhi));
}

// Four adjacent interior output pixels (all kw taps inside the row), channels [0, c & ~3).
// xp: input address of tap (u0, 0) of the first pixel; pixStep: bytes between the four pixels' inputs.
function dwBlock4(
  xp: usize, wp: usize, bias: usize, out: usize, c4Bytes: usize, outPix: usize, u0: i32, u1: i32, kw: i32,
  rowStep: usize, colStep: usize, pixStep: usize, wRowStep: usize, cpBytes: usize, vlo: v128, vhi: v128,
): void {
  for (let cb: usize = 0; cb < c4Bytes; cb += 16) {
    let a0 = v128.load(bias + cb);
    let a1 = a0, a2 = a0, a3 = a0;
    let xr = xp + cb, wr = wp + cb;
    for (let u = u0; u < u1; u++) {
      let xq = xr, wq = wr;
      for (let v = 0; v < kw; v++) {
        const wv = v128.load(wq);
        a0 = relaxedMulAdd(v128.load(xq), wv, a0);
        a1 = relaxedMulAdd(v128.load(xq + pixStep), wv, a1);
        a2 = relaxedMulAdd(v128.load(xq + 2 * pixStep), wv, a2);
        a3 = relaxedMulAdd(v128.load(xq + 3 * pixStep), wv, a3);
        xq += colStep;
        wq += cpBytes;
      }
      xr += rowStep;
      wr += wRowStep;
    }
    storeClamped4(out + cb, outPix, a0, a1, a2, a3, vlo, vhi);
  }
}

// As dwBlock4 with stride 1 and dilation 1 across the row: pixel p's tap v is input column p + v,
// so one row of taps reads kw + 3 input columns, kept in a sliding window x0..x3.
function dwBlock4s1(
  xp: usize, wp: usize, bias: usize, out: usize, c4Bytes: usize, pix: usize, u0: i32, u1: i32, kw: i32,
  rowStep: usize, wRowStep: usize, cpBytes: usize, vlo: v128, vhi: v128,
): void {
  for (let cb: usize = 0; cb < c4Bytes; cb += 16) {
    let a0 = v128.load(bias + cb);
    let a1 = a0, a2 = a0, a3 = a0;
    let xr = xp + cb, wr = wp + cb;
    for (let u = u0; u < u1; u++) {
      let x0 = v128.load(xr);
      let x1 = v128.load(xr + pix);
      let x2 = v128.load(xr + 2 * pix);
      let xq = xr + 3 * pix, wq = wr;
      for (let v = 0; v < kw; v++) {
        const x3 = v128.load(xq);
        const wv = v128.load(wq);
        a0 = relaxedMulAdd(x0, wv, a0);
        a1 = relaxedMulAdd(x1, wv, a1);
        a2 = relaxedMulAdd(x2, wv, a2);
        a3 = relaxedMulAdd(x3, wv, a3);
        x0 = x1;
        x1 = x2;
        x2 = x3;
        xq += pix;
        wq += cpBytes;
      }
      xr += rowStep;
      wr += wRowStep;
    }
    storeClamped4(out + cb, pix, a0, a1, a2, a3, vlo, vhi);
  }
}

export function f32_dwconv_nhwc(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, wts: usize, y: usize, lo: f32, hi: f32,
): void {
  const cp = (c + 3) & ~3;
  const c4 = c & ~3;
  const pix = <usize>c << 2;
  const c4Bytes = <usize>c4 << 2;
  const cpBytes = <usize>cp << 2;
  const wRowStep = <usize>kw * cpBytes;
  const bias = wts + <usize>kh * wRowStep;
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const rowBytes = <usize>w * pix;
  const rowStep = <usize>dh * rowBytes;
  const colStep = <usize>dw * pix;
  const pixStep = <usize>sw * pix;
  // interior columns [oxL, oxR): ox * sw - pl >= 0 and ox * sw - pl + (kw - 1) * dw <= w - 1
  let oxL = (pl + sw - 1) / sw;
  if (oxL > ow) oxL = ow;
  const last = w - 1 + pl - (kw - 1) * dw;
  let oxR = last >= 0 ? last / sw + 1 : 0;
  if (oxR > ow) oxR = ow;
  if (oxR < oxL) oxR = oxL;
  const slide = sw == 1 && dw == 1;
  for (let oy = oh0; oy < oh1; oy++) {
    const iy0 = oy * sh - pt;
    // taps u whose input row is inside the image
    let u0 = 0, u1 = kh;
    while (u0 < kh && iy0 + u0 * dh < 0) u0++;
    while (u1 > u0 && iy0 + (u1 - 1) * dh >= h) u1--;
    // input address of tap (u0, v = 0) for output column 0 (column -pl: may be before the row)
    const xRow = x + <usize>(iy0 + u0 * dh) * rowBytes - <usize>pl * pix;
    const wRow = wts + <usize>u0 * wRowStep;
    const yRow = y + <usize>(oy * ow) * pix;
    let ox = 0;
    for (; ox < oxL; ox++) {
      const ix0 = ox * sw - pl;
      let v0 = 0, v1 = kw;
      while (v0 < kw && ix0 + v0 * dw < 0) v0++;
      while (v1 > v0 && ix0 + (v1 - 1) * dw >= w) v1--;
      dwPixel(xRow + <usize>ox * pixStep, wRow, bias, yRow + <usize>ox * pix, c, u0, u1, v0, v1, rowStep, colStep, wRowStep, cpBytes, lo, hi);
    }
    if (dw == 1 && sw == 1 && (kw == 3 || kw == 5)) {
      // eight pixels at a time, unrolled over the row's taps
      for (; ox + 8 <= oxR; ox += 8) {
        const xp = xRow + <usize>ox * pix, out = yRow + <usize>ox * pix;
        if (kw == 3) dwRow8x3s1(xp, wRow, bias, out, c4Bytes, pix, u0, u1, rowStep, cpBytes, vlo, vhi);
        else dwRow8x5s1(xp, wRow, bias, out, c4Bytes, pix, u0, u1, rowStep, cpBytes, vlo, vhi);
        if (c4 < c) {
          for (let p: usize = 0; p < 8; p++) {
            dwPixelTail(xp + p * pix, wRow, bias, out + p * pix, c4, c, u0, u1, kw, rowStep, colStep, wRowStep, cpBytes, lo, hi);
          }
        }
      }
    }
    if (slide) {
      for (; ox + 4 <= oxR; ox += 4) {
        const xp = xRow + <usize>ox * pix, out = yRow + <usize>ox * pix;
        dwBlock4s1(xp, wRow, bias, out, c4Bytes, pix, u0, u1, kw, rowStep, wRowStep, cpBytes, vlo, vhi);
        if (c4 < c) {
          for (let p: usize = 0; p < 4; p++) {
            dwPixelTail(xp + p * pix, wRow, bias, out + p * pix, c4, c, u0, u1, kw, rowStep, colStep, wRowStep, cpBytes, lo, hi);
          }
        }
      }
    } else {
      for (; ox + 4 <= oxR; ox += 4) {
        const xp = xRow + <usize>ox * pixStep, out = yRow + <usize>ox * pix;
        dwBlock4(xp, wRow, bias, out, c4Bytes, pix, u0, u1, kw, rowStep, colStep, pixStep, wRowStep, cpBytes, vlo, vhi);
        if (c4 < c) {
          for (let p: usize = 0; p < 4; p++) {
            dwPixelTail(xp + p * pixStep, wRow, bias, out + p * pix, c4, c, u0, u1, kw, rowStep, colStep, wRowStep, cpBytes, lo, hi);
          }
        }
      }
    }
    for (; ox < ow; ox++) {
      const ix0 = ox * sw - pl;
      let v0 = 0, v1 = kw;
      while (v0 < kw && ix0 + v0 * dw < 0) v0++;
      while (v1 > v0 && ix0 + (v1 - 1) * dw >= w) v1--;
      dwPixel(xRow + <usize>ox * pixStep, wRow, bias, yRow + <usize>ox * pix, c, u0, u1, v0, v1, rowStep, colStep, wRowStep, cpBytes, lo, hi);
    }
  }
}

// The c % 4 tail channels [c4, c) of one pixel, taps [u0, u1) x kw taps from xp / wp (tap (u0, 0):
// all kw of an interior pixel, or a border pixel's taps inside the image), one at a time.
function dwPixelTail(
  xp: usize, wp: usize, bias: usize, out: usize, c4: i32, c: i32, u0: i32, u1: i32, kw: i32,
  rowStep: usize, colStep: usize, wRowStep: usize, cpBytes: usize, lo: f32, hi: f32,
): void {
  for (let cb = <usize>c4 << 2; cb < (<usize>c << 2); cb += 4) {
    let acc = load<f32>(bias + cb);
    let xr = xp + cb, wr = wp + cb;
    for (let u = u0; u < u1; u++) {
      let xq = xr, wq = wr;
      for (let v = 0; v < kw; v++) {
        acc += load<f32>(xq) * load<f32>(wq);
        xq += colStep;
        wq += cpBytes;
      }
      xr += rowStep;
      wr += wRowStep;
    }
    store<f32>(out + cb, min(max(acc, lo), hi));
  }
}

// im2col for a convolution, channels-last: row (oy, ox) of the output matrix holds, for each tap
// (u, v), c input channels at that tap (zeros outside the image). Pixels of x are xc floats apart
// (xc > c picks one group's channels out of a grouped convolution's input). Rows [oh0, oh1).
// Copies are inline v128 moves (memory.copy per tap cost more than the move itself at c = 3..16);
// with dilation 1 and xc == c a tap row whose kw pixels are all inside the image is one run.
export function f32_im2col_nhwc(
  h: i32, w: i32, c: i32, xc: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, out: usize,
): void {
  const pixBytes = <usize>c << 2;
  const xPixBytes = <usize>xc << 2;
  const runBytes = <usize>kw * pixBytes;
  const rowLen = <usize>kh * runBytes;
  const xRowBytes = <usize>w * xPixBytes;
  const contiguous = dw == 1 && xc == c;
  for (let oy = oh0; oy < oh1; oy++) {
    let dst = out + <usize>(oy * ow) * rowLen;
    for (let ox = 0; ox < ow; ox++) {
      const ix0 = ox * sw - pl;
      const inside = ix0 >= 0 && ix0 + (kw - 1) * dw < w;
      for (let u = 0; u < kh; u++) {
        const iy = oy * sh - pt + u * dh;
        if (iy < 0 || iy >= h) {
          zeroWords(dst, runBytes);
          dst += runBytes;
          continue;
        }
        const xRow = x + <usize>iy * xRowBytes;
        if (contiguous && inside) {
          copyWords(dst, xRow + <usize>ix0 * xPixBytes, runBytes);
          dst += runBytes;
          continue;
        }
        for (let v = 0; v < kw; v++) {
          const ix = ix0 + v * dw;
          if (ix < 0 || ix >= w) zeroWords(dst, pixBytes);
          else copyWords(dst, xRow + <usize>ix * xPixBytes, pixBytes);
          dst += pixBytes;
        }
      }
    }
  }
}

// n bytes, a multiple of 4, from src to dst (not overlapping)
@inline function copyWords(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < n; i += 4) store<u32>(dst + i, load<u32>(src + i));
}

@inline function zeroWords(dst: usize, n: usize): void {
  const z = i32x4.splat(0);
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, z);
  for (; i < n; i += 4) store<u32>(dst + i, 0);
}
