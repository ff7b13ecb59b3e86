// float32 pooling and per-channel scaling, channels-last (the "f32_pool" family):
//   f32_gap_nhwc:            y[c] = mean over the hw pixels of x[p][c]   (one image)
//   f32_avgpool_nhwc:        2-D average pooling (count_include_pad 0 or 1), output rows [oh0, oh1)
//   f32_maxpool_nhwc:        2-D max pooling (padding never wins; NaN propagates), output rows [oh0, oh1)
//   f32_scale_channels_nhwc: y[p][c] = x[p][c] * s[c]   (the squeeze-excitation product)
// Sums run pixel by pixel in image order (the same order on every CPU).

export function f32_gap_nhwc(x: usize, hw: i32, c: i32, y: usize): void {
  const c4 = c & ~3;
  const row = <usize>c << 2;
  const inv = <f32>1.0 / <f32>hw;
  // y holds the per-channel sums while the pixels stream through once, in image order (reading each
  // channel's column on its own would walk the whole image c/4 times)
  memory.fill(y, 0, row);
  for (let p = 0; p < hw; p++) {
    const xr = x + <usize>p * row;
    for (let ch = 0; ch < c4; ch += 4) {
      const o = <usize>ch << 2;
      v128.store(y + o, f32x4.add(v128.load(y + o), v128.load(xr + o)));
    }
    for (let ch = c4; ch < c; ch++) {
      const o = <usize>ch << 2;
      store<f32>(y + o, load<f32>(y + o) + load<f32>(xr + o));
    }
  }
  for (let ch = 0; ch < c4; ch += 4) {
    const o = <usize>ch << 2;
    v128.store(y + o, f32x4.mul(v128.load(y + o), f32x4.splat(inv)));
  }
  for (let ch = c4; ch < c; ch++) {
    const o = <usize>ch << 2;
    store<f32>(y + o, load<f32>(y + o) * inv);
  }
}

export function f32_avgpool_nhwc(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countPad: i32,
  oh0: i32, oh1: i32, ow: i32, x: usize, y: usize,
): void {
  const c4 = c & ~3;
  const row = <usize>c << 2;
  for (let oy = oh0; oy < oh1; oy++) {
    const y0 = oy * sh - pt;
    const u0 = max(y0, 0), u1 = min(y0 + kh, h);
    for (let ox = 0; ox < ow; ox++) {
      const x0 = ox * sw - pl;
      const v0 = max(x0, 0), v1 = min(x0 + kw, w);
      const cnt = countPad != 0 ? (min(y0 + kh, h + pb) - y0) * (min(x0 + kw, w + pr) - x0) : max((u1 - u0) * (v1 - v0), 1);
      const inv = <f32>1.0 / <f32>cnt;
      const out = y + <usize>(oy * ow + ox) * row;
      for (let ch = 0; ch < c4; ch += 4) {
        let acc = f32x4.splat(0);
        for (let u = u0; u < u1; u++) {
          for (let v = v0; v < v1; v++) acc = f32x4.add(acc, v128.load(x + <usize>(u * w + v) * row + (<usize>ch << 2)));
        }
        v128.store(out + (<usize>ch << 2), f32x4.mul(acc, f32x4.splat(inv)));
      }
      for (let ch = c4; ch < c; ch++) {
        let acc: f32 = 0;
        for (let u = u0; u < u1; u++) for (let v = v0; v < v1; v++) acc += load<f32>(x + <usize>(u * w + v) * row + (<usize>ch << 2));
        store<f32>(out + (<usize>ch << 2), acc * inv);
      }
    }
  }
}

export function f32_maxpool_nhwc(
  h: i32, w: i32, c: i32, kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, oh0: i32, oh1: i32, ow: i32, x: usize, y: usize,
): void {
  const c4 = c & ~3;
  const row = <usize>c << 2;
  for (let oy = oh0; oy < oh1; oy++) {
    const y0 = oy * sh - pt;
    const u0 = max(y0, 0), u1 = min(y0 + kh, h);
    for (let ox = 0; ox < ow; ox++) {
      const x0 = ox * sw - pl;
      const v0 = max(x0, 0), v1 = min(x0 + kw, w);
      const out = y + <usize>(oy * ow + ox) * row;
      // f32x4.max / f32.max: NaN wins (a NaN input is never hidden), +0 beats -0
      for (let ch = 0; ch < c4; ch += 4) {
        let acc = f32x4.splat(-Infinity);
        for (let u = u0; u < u1; u++) {
          for (let v = v0; v < v1; v++) acc = f32x4.max(acc, v128.load(x + <usize>(u * w + v) * row + (<usize>ch << 2)));
        }
        v128.store(out + (<usize>ch << 2), acc);
      }
      for (let ch = c4; ch < c; ch++) {
        let acc: f32 = -Infinity;
        for (let u = u0; u < u1; u++) for (let v = v0; v < v1; v++) acc = max<f32>(acc, load<f32>(x + <usize>(u * w + v) * row + (<usize>ch << 2)));
        store<f32>(out + (<usize>ch << 2), acc);
      }
    }
  }
}

export function f32_scale_channels_nhwc(x: usize, pixels: i32, c: i32, s: usize, y: usize): void {
  const c4 = c & ~3;
  const row = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const xr = x + <usize>p * row, yr = y + <usize>p * row;
    for (let ch = 0; ch < c4; ch += 4) {
      const o = <usize>ch << 2;
      v128.store(yr + o, f32x4.mul(v128.load(xr + o), v128.load(s + o)));
    }
    for (let ch = c4; ch < c; ch++) {
      const o = <usize>ch << 2;
      store<f32>(yr + o, load<f32>(xr + o) * load<f32>(s + o));
    }
  }
}
