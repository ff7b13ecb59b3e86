// float32 convolution helpers, channels-last (the "f32_conv" family): depthwise convolution and im2col.
//
// x: one image [H][W][C] float32.  y: [OH][OW][C].
// Packed weights: [kh*kw taps][Cp] with Cp = C rounded up to 4, zero padded, then bias [Cp]:
//   tap t = u*kw + v:  [w(c=0,t) w(1,t) .. w(Cp-1,t)]
// Output rows [oh0, oh1) are computed, so threads can split rows. Channels go four at a time;
// the last C % 4 channels take a scalar path (a vector store there would hit the next pixel).
// Baseline: mul then add (same bits everywhere); relaxed build: relaxed_madd.

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

export function f32_dwconv_nhwc(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, wts: usize, y: usize, lo: f32, hi: f32,
): void {
  const cp = (c + 3) & ~3;
  const c4 = c & ~3;
  const bias = wts + (<usize>(kh * kw * cp) << 2);
  const vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  const rowBytes = <usize>(w * c) << 2;
  for (let oy = oh0; oy < oh1; oy++) {
    const iy0 = oy * sh - pt;
    // taps u whose input row is inside the image
    let u0 = 0, u1 = kh;
    while (u0 < kh && iy0 + u0 * dh < 0) u0++;
    while (u1 > u0 && iy0 + (u1 - 1) * dh >= h) u1--;
    for (let ox = 0; ox < ow; ox++) {
      const ix0 = ox * sw - pl;
      let v0 = 0, v1 = kw;
      while (v0 < kw && ix0 + v0 * dw < 0) v0++;
      while (v1 > v0 && ix0 + (v1 - 1) * dw >= w) v1--;
      const out = y + (<usize>((oy * ow + ox) * c) << 2);
      for (let ch = 0; ch < c4; ch += 4) {
        const cb = <usize>ch << 2;
        let acc = v128.load(bias + cb);
        for (let u = u0; u < u1; u++) {
          const xr = x + <usize>(iy0 + u * dh) * rowBytes + cb;
          const wr = wts + (<usize>(u * kw * cp) << 2) + cb;
          for (let v = v0; v < v1; v++) {
            acc = madd(v128.load(xr + (<usize>((ix0 + v * dw) * c) << 2)), v128.load(wr + (<usize>(v * cp) << 2)), acc);
          }
        }
        v128.store(out + cb, f32x4.pmin(f32x4.pmax(acc, vlo), vhi));
      }
      for (let ch = c4; ch < c; ch++) {
        const cb = <usize>ch << 2;
        let acc = load<f32>(bias + cb);
        for (let u = u0; u < u1; u++) {
          const xr = x + <usize>(iy0 + u * dh) * rowBytes + cb;
          const wr = wts + (<usize>(u * kw * cp) << 2) + cb;
          for (let v = v0; v < v1; v++) {
            acc += load<f32>(xr + (<usize>((ix0 + v * dw) * c) << 2)) * load<f32>(wr + (<usize>(v * cp) << 2));
          }
        }
        store<f32>(out + cb, min(max(acc, lo), hi));
      }
    }
  }
}

// im2col for a convolution, channels-last: row (oy, ox) of the output matrix holds, for each tap
// (u, v), c input channels at that tap (zeros outside the image). Pixels of x are xc floats apart
// (xc > c picks one group's channels out of a grouped convolution's input). Rows [oh0, oh1).
export function f32_im2col_nhwc(
  h: i32, w: i32, c: i32, xc: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, dh: i32, dw: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, out: usize,
): void {
  const pixBytes = <usize>c << 2;
  const xPixBytes = <usize>xc << 2;
  const rowLen = <usize>(kh * kw) * pixBytes;
  for (let oy = oh0; oy < oh1; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let dst = out + <usize>(oy * ow + ox) * rowLen;
      for (let u = 0; u < kh; u++) {
        const iy = oy * sh - pt + u * dh;
        for (let v = 0; v < kw; v++) {
          const ix = ox * sw - pl + v * dw;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) memory.fill(dst, 0, pixBytes);
          else memory.copy(dst, x + <usize>(iy * w + ix) * xPixBytes, pixBytes);
          dst += pixBytes;
        }
      }
    }
  }
}
