// Conversions between float32 and 8-bit integers, and the epilogues of the qs8 GEMM (the "q8"
// family). Rounding is half to even (f32x4.nearest), saturation happens in float before rounding,
// so NaN lands on the zero point and +-Inf on the range ends. All match ONNX / onnxruntime.

// --- quantize: y = saturate(round(x / scale) + zp) ------------------------------------------------

@inline function narrowStore4(p: usize, v: v128, signed: bool): void {
  const h = i16x8.narrow_i32x4_s(v, v);
  const b = signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h);
  v128.store32_lane(p, b, 0);
}

@inline function quantizeOne(x: f32, scale: f32, lo: f32, hi: f32, zp: i32): i32 {
  // NaN lands on the zero point, as in the SIMD path
  let v = x / scale;
  if (v != v) return zp;
  v = nearest<f32>(max<f32>(min<f32>(v, hi), lo));
  return <i32>v + zp;
}

// x: count = outer * channels * inner floats; scale/zp per channel (channels = 1: per tensor).
export function q8_quantize_f32(
  x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zps: usize, signed: bool, y: usize,
): void {
  const qmin: i32 = signed ? -128 : 0;
  const qmax: i32 = signed ? 127 : 255;
  let src = x;
  let dst = y;
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < channels; ch++) {
      const s = load<f32>(scales + (<usize>ch << 2));
      const zp = load<i32>(zps + (<usize>ch << 2));
      const lo = <f32>(qmin - zp);
      const hi = <f32>(qmax - zp);
      const vs = f32x4.splat(s);
      const vlo = f32x4.splat(lo);
      const vhi = f32x4.splat(hi);
      const vzp = i32x4.splat(zp);
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const v = f32x4.div(v128.load(src), vs);
        // pmax/pmin keep NaN, trunc_sat turns it into 0, so NaN -> zp
        const c = f32x4.nearest(f32x4.pmin(f32x4.pmax(v, vlo), vhi));
        narrowStore4(dst, i32x4.add(i32x4.trunc_sat_f32x4_s(c), vzp), signed);
        src += 16;
        dst += 4;
      }
      for (; i < inner; i++) {
        store<u8>(dst, <u8>quantizeOne(load<f32>(src), s, lo, hi, zp));
        src += 4;
        dst += 1;
      }
    }
  }
}

// --- dequantize: y = (x - zp) * scale -------------------------------------------------------------

export function q8_dequantize_f32(
  x: usize, outer: i32, channels: i32, inner: i32, scales: usize, zps: usize, signed: bool, y: usize,
): void {
  let src = x;
  let dst = y;
  for (let o = 0; o < outer; o++) {
    for (let ch = 0; ch < channels; ch++) {
      const s = load<f32>(scales + (<usize>ch << 2));
      const zp = load<i32>(zps + (<usize>ch << 2));
      const vs = f32x4.splat(s);
      const vzp = i32x4.splat(zp);
      let i = 0;
      for (; i + 4 <= inner; i += 4) {
        const q = v128.load32_zero(src);
        const h = signed ? i16x8.extend_low_i8x16_s(q) : i16x8.extend_low_i8x16_u(q);
        const w = i32x4.extend_low_i16x8_s(h);
        v128.store(dst, f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(w, vzp)), vs));
        src += 4;
        dst += 16;
      }
      for (; i < inner; i++) {
        const q: i32 = signed ? <i32>load<i8>(src) : <i32>load<u8>(src);
        store<f32>(dst, <f32>(q - zp) * s);
        src += 1;
        dst += 4;
      }
    }
  }
}

// --- whether a float32 array holds a NaN or an infinity ---------------------------------------------

// 1 when some x[i] has an all-ones exponent (NaN, +Inf, -Inf), else 0. Integer compares ORed into
// one vector: no dependency on float latency, so it streams at memory speed (the NaN guard of the
// quantized layers runs it on every input; f32_minmax measured ~1.1 GB/s, this one far more).
export function f32_nonfinite(x: usize, n: i32): i32 {
  const mask = i32x4.splat(0x7f800000);
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.and(v128.load(x + (<usize>i << 2)), mask);
    acc = v128.or(acc, i32x4.eq(v, mask));
  }
  let bad = v128.any_true(acc) ? 1 : 0;
  for (; i < n; i++) if ((load<u32>(x + (<usize>i << 2)) & 0x7f800000) == 0x7f800000) bad = 1;
  return bad;
}

// 1 when some |x[i]| has an exponent field >= bits >> 23 (NaN and infinities included): the scan
// for finite values too large for a quantized GEMM's float32 arithmetic (src/layers/huge-rows.ts).
export function f32_exp_at_least(x: usize, n: i32, bits: i32): i32 {
  const mask = i32x4.splat(0x7f800000);
  const lim = i32x4.splat(bits);
  let acc = i32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) acc = v128.or(acc, i32x4.ge_s(v128.and(v128.load(x + (<usize>i << 2)), mask), lim));
  let hit = v128.any_true(acc) ? 1 : 0;
  for (; i < n; i++) if (<i32>(load<u32>(x + (<usize>i << 2)) & 0x7f800000) >= bits) hit = 1;
  return hit;
}

// --- min and max of a float32 array (NaN propagates) -------------------------------------------------

export function f32_minmax(x: usize, n: i32, out: usize): void {
  let vmin = f32x4.splat(Infinity);
  let vmax = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    vmin = f32x4.min(vmin, v);
    vmax = f32x4.max(vmax, v);
  }
  let lo = min(min(f32x4.extract_lane(vmin, 0), f32x4.extract_lane(vmin, 1)),
    min(f32x4.extract_lane(vmin, 2), f32x4.extract_lane(vmin, 3)));
  let hi = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)),
    max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    lo = min(lo, v);
    hi = max(hi, v);
  }
  store<f32>(out, lo);
  store<f32>(out, hi, 4);
}

