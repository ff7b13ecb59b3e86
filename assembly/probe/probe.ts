// Engine probes and register-only ceilings (the "probe" family).

import { relaxedMulAdd } from '../util/simd';

// The relaxed integer dot products on 16 signed bytes at a and 16 bytes at b; the host feeds a
// second operand in [0, 127] and compares with exact sums. One function per instruction: an engine
// tier may handle one and not the other (V8 11.3's Liftoff computes the i32 form wrongly and
// leaves functions with the i16 form to TurboFan), so each must be probed as kernels run it.
export function probe_relaxed_dot(a: usize, b: usize, acc: usize, out: usize, count: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let i = 0; i < count; i++) {
      const o = <usize>i << 4;
      v128.store(out + o, i32x4.relaxed_dot_i8x16_i7x16_add_s(v128.load(a + o), v128.load(b + o), v128.load(acc + o)));
    }
  }
}

export function probe_relaxed_dot16(a: usize, b: usize, out: usize, count: i32): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    for (let i = 0; i < count; i++) {
      const o = <usize>i << 4;
      v128.store(out + o, i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a + o), v128.load(b + o)));
    }
  }
}

// Register-only ceilings: 8 independent accumulator chains per iteration, fed by two operands that
// change every iteration (so nothing is hoisted or merged) and two constants, 13 live v128 values
// in all: V8 keeps them in registers (more live values than that spill on x64 and halve the rate).
// Ops counted: dot_i16x8_s = 8 MACs = 16 ops; relaxed dot = 16 MACs = 32 ops; f32x4 mul+add = 8 flops.

export function ceiling_dot_i16x8(iters: i32, seed: i32): i32 {
  let x = i16x8.splat(<i16>seed);
  let z = i16x8.splat(<i16>(seed + 7));
  const y0 = i16x8.splat(3), y1 = i16x8.splat(5), one = i16x8.splat(1);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(1), c2 = i32x4.splat(2), c3 = i32x4.splat(3);
  let c4 = i32x4.splat(4), c5 = i32x4.splat(5), c6 = i32x4.splat(6), c7 = i32x4.splat(7);
  for (let i = 0; i < iters; i++) {
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, y0));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, y1));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(z, y0));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(z, y1));
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(y0, x));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(y1, x));
    c6 = i32x4.add(c6, i32x4.dot_i16x8_s(y0, z));
    c7 = i32x4.add(c7, i32x4.dot_i16x8_s(y1, z));
    x = i16x8.add(x, one);
    z = i16x8.sub(z, one);
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7)));
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 3);
}

export function ceiling_relaxed_dot(iters: i32, seed: i32): i32 {
  if (!ASC_FEATURE_RELAXED_SIMD) return 0;
  let x = i8x16.splat(<i8>seed);
  let z = i8x16.splat(<i8>(seed + 7));
  const y0 = i8x16.splat(3), y1 = i8x16.splat(5), one = i8x16.splat(1);
  let c0 = i32x4.splat(0), c1 = i32x4.splat(1), c2 = i32x4.splat(2), c3 = i32x4.splat(3);
  let c4 = i32x4.splat(4), c5 = i32x4.splat(5), c6 = i32x4.splat(6), c7 = i32x4.splat(7);
  for (let i = 0; i < iters; i++) {
    // the second operand must stay in [0, 127] to mean the same everywhere: the constants do
    c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y0, c0);
    c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y1, c1);
    c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(z, y0, c2);
    c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(z, y1, c3);
    c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y0, c4);
    c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y1, c5);
    c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(z, y0, c6);
    c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(z, y1, c7);
    x = i8x16.add(x, one);
    z = i8x16.sub(z, one);
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7)));
  return i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 3);
}

// f32x4 multiply then add (fused in the relaxed build, as the f32 GEMM does).
export function ceiling_f32_madd(iters: i32, seed: f32): f32 {
  let x = f32x4.splat(seed);
  let z = f32x4.splat(seed + 0.5);
  const y0 = f32x4.splat(0.5), y1 = f32x4.splat(0.25), d = f32x4.splat(1e-7);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(1), c2 = f32x4.splat(2), c3 = f32x4.splat(3);
  let c4 = f32x4.splat(4), c5 = f32x4.splat(5), c6 = f32x4.splat(6), c7 = f32x4.splat(7);
  for (let i = 0; i < iters; i++) {
    c0 = relaxedMulAdd(x, y0, c0);
    c1 = relaxedMulAdd(x, y1, c1);
    c2 = relaxedMulAdd(z, y0, c2);
    c3 = relaxedMulAdd(z, y1, c3);
    c4 = relaxedMulAdd(y0, x, c4);
    c5 = relaxedMulAdd(y1, x, c5);
    c6 = relaxedMulAdd(y0, z, c6);
    c7 = relaxedMulAdd(y1, z, c7);
    x = f32x4.add(x, d);
    z = f32x4.sub(z, d);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(s, 0);
}

// Streaming read of n bytes (n a multiple of 64): the memory-bandwidth bound of a GEMV.
export function ceiling_stream_read(p: usize, n: usize): i32 {
  let a = i32x4.splat(0), b = i32x4.splat(0), c = i32x4.splat(0), d = i32x4.splat(0);
  const end = p + n;
  for (let q = p; q < end; q += 64) {
    a = v128.xor(a, v128.load(q));
    b = v128.xor(b, v128.load(q, 16));
    c = v128.xor(c, v128.load(q, 32));
    d = v128.xor(d, v128.load(q, 48));
  }
  return i32x4.extract_lane(v128.xor(v128.xor(a, b), v128.xor(c, d)), 0);
}
