// Symmetric int8 weight quantization per output channel, on chunks of float32 weights copied in by
// the host (src/kernels/q8-weights.ts), for building int8 layers at memory speed (the JS passes took
// ~1.5 s at 4096x4096). Same numbers as src/quant/q8.ts: scale = max|w| / qmax (1 for an all-zero
// channel), q = clamp(nearest(w / scale), -qmax, qmax), divisions in float32, ties to even.
//
//   [K, N] weights (ONNX MatMul), channels = columns:  q8_colmax_kn over every chunk of rows, then
//     q8_quantize_cols_kn per chunk (q written in the same [K, N] order)
//   [N, K] weights (PyTorch), channels = rows:         q8_quantize_rows_nk per chunk of rows, q
//     written transposed into [K, N]

const EXP = 0x7f800000;

// amax[j] = max(amax[j], |w[i][j]|) over the rows of a [rows, n] chunk; returns 1 when it holds a
// NaN or an infinity. amax: n floats (padded to a multiple of 4).
export function q8_colmax_kn(w: usize, rows: i32, n: i32, amax: usize): i32 {
  const mask = i32x4.splat(EXP);
  let bad = i32x4.splat(0);
  let r = 0;
  for (let i = 0; i < rows; i++) {
    const row = w + <usize>i * (<usize>n << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const v = v128.load(row + (<usize>j << 2));
      const p = amax + (<usize>j << 2);
      v128.store(p, f32x4.pmax(v128.load(p), f32x4.abs(v)));
      bad = v128.or(bad, i32x4.eq(v128.and(v, mask), mask));
    }
    for (; j < n; j++) {
      const x = load<f32>(row + (<usize>j << 2));
      if ((reinterpret<u32>(x) & EXP) == EXP) r = 1;
      const p = amax + (<usize>j << 2);
      store<f32>(p, max(load<f32>(p), abs(x)));
    }
  }
  return v128.any_true(bad) ? 1 : r;
}

// 4 weights over 4 scales -> 4 int32 in [-qmax, qmax]
@inline function quantI32(v: v128, s: v128, lo: v128, hi: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.pmin(f32x4.pmax(f32x4.div(v, s), lo), hi)));
}

// the same -> 4 int8 in the low lanes
@inline function quant4(v: v128, s: v128, lo: v128, hi: v128): v128 {
  const q = quantI32(v, s, lo, hi);
  const h = i16x8.narrow_i32x4_s(q, q);
  return i8x16.narrow_i16x8_s(h, h);
}

@inline function quant1(x: f32, s: f32, qmax: f32): i8 {
  return <i8><i32>nearest<f32>(min<f32>(max<f32>(x / s, -qmax), qmax));
}

// q[i][j] = clamp(nearest(w[i][j] / scales[j]), -qmax, qmax) for a [rows, n] chunk
export function q8_quantize_cols_kn(w: usize, rows: i32, n: i32, scales: usize, qmax: f32, q: usize): void {
  const lo = f32x4.splat(-qmax), hi = f32x4.splat(qmax);
  for (let i = 0; i < rows; i++) {
    const row = w + <usize>i * (<usize>n << 2);
    const out = q + <usize>i * <usize>n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      v128.store32_lane(out + j, quant4(v128.load(row + (<usize>j << 2)), v128.load(scales + (<usize>j << 2)), lo, hi), 0);
    }
    for (; j < n; j++) store<i8>(out + j, quant1(load<f32>(row + (<usize>j << 2)), load<f32>(scales + (<usize>j << 2)), qmax));
  }
}

// [rows, k] chunk of [N, K] weights, rows j0 .. j0 + rows - 1 of N: scales[j] = max|w[j]| / qmax (1 when
// zero), q[t][j] = clamp(nearest(w[j][t] / scales[j]), -qmax, qmax) into q [K, N] (row stride n).
// Returns 0, or 1 + the first row (of N) holding a NaN or an infinity. The transpose goes in 4x4
// blocks (four rows' 4 values quantized, narrowed into one vector, shuffled, stored 4 bytes a row of
// q): one byte stored per weight at a stride of N bytes ran ~4x slower.
export function q8_quantize_rows_nk(w: usize, rows: i32, k: i32, n: i32, j0: i32, qmax: f32, scales: usize, q: usize): i32 {
  const mask = i32x4.splat(EXP);
  for (let r = 0; r < rows; r++) {
    const row = w + <usize>r * (<usize>k << 2);
    let a = f32x4.splat(0);
    let bad = i32x4.splat(0);
    let t = 0;
    for (; t + 4 <= k; t += 4) {
      const v = v128.load(row + (<usize>t << 2));
      a = f32x4.pmax(a, f32x4.abs(v));
      bad = v128.or(bad, i32x4.eq(v128.and(v, mask), mask));
    }
    let m = max(max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)), max(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
    let nonFinite = v128.any_true(bad);
    for (; t < k; t++) {
      const x = load<f32>(row + (<usize>t << 2));
      if ((reinterpret<u32>(x) & EXP) == EXP) nonFinite = true;
      m = max(m, abs(x));
    }
    if (nonFinite) return j0 + r + 1;
    store<f32>(scales + (<usize>(j0 + r) << 2), m > 0 ? m / qmax : <f32>1);
  }
  const lo = f32x4.splat(-qmax), hi = f32x4.splat(qmax);
  const rowBytes = <usize>k << 2;
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const s = scales + (<usize>(j0 + r) << 2);
    const s0 = f32x4.splat(load<f32>(s)), s1 = f32x4.splat(load<f32>(s, 4)), s2 = f32x4.splat(load<f32>(s, 8)), s3 = f32x4.splat(load<f32>(s, 12));
    const w0 = w + <usize>r * rowBytes;
    const col = q + <usize>(j0 + r);
    let t = 0;
    for (; t + 4 <= k; t += 4) {
      const p = w0 + (<usize>t << 2);
      const q0 = quantI32(v128.load(p), s0, lo, hi), q1 = quantI32(v128.load(p + rowBytes), s1, lo, hi);
      const q2 = quantI32(v128.load(p + rowBytes * 2), s2, lo, hi), q3 = quantI32(v128.load(p + rowBytes * 3), s3, lo, hi);
      // bytes: row 0 t..t+3, row 1 t..t+3, ... -> t: rows 0..3, t+1: rows 0..3, ...
      const b = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
      const c = i8x16.shuffle(b, b, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const base = col + <usize>t * <usize>n;
      v128.store32_lane(base, c, 0);
      v128.store32_lane(base + <usize>n, c, 1);
      v128.store32_lane(base + (<usize>n << 1), c, 2);
      v128.store32_lane(base + <usize>n * 3, c, 3);
    }
    for (let i = 0; i < 4; i++) {
      const sv = load<f32>(s + (<usize>i << 2));
      const src = w0 + <usize>i * rowBytes;
      for (let u = t; u < k; u++) store<i8>(col + <usize>i + <usize>u * <usize>n, quant1(load<f32>(src + (<usize>u << 2)), sv, qmax));
    }
  }
  for (; r < rows; r++) {
    const sv = load<f32>(scales + (<usize>(j0 + r) << 2));
    const src = w + <usize>r * rowBytes;
    const col = q + <usize>(j0 + r);
    for (let u = 0; u < k; u++) store<i8>(col + <usize>u * <usize>n, quant1(load<f32>(src + (<usize>u << 2)), sv, qmax));
  }
  return 0;
}
