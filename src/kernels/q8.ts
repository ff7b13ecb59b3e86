// q8: float32 <-> 8-bit conversions (QuantizeLinear / DequantizeLinear) and float min/max.
// Wraps assembly/quant/q8.ts. Layout: [outer, channels, inner]; channels = 1 for per-tensor.

import { ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import { roundHalfEven } from '../quant/rounding.js';

export interface Q8Axis {
  outer: number;
  channels: number;
  inner: number;
}

export async function quantizeQ8(
  rt: KernelHost, x: Float32Array, axis: Q8Axis, scales: Float32Array, zps: Int32Array, signed: boolean,
): Promise<Int8Array | Uint8Array> {
  return rt.scoped((alloc) => {
    const px = alloc(x.length * 4);
    rt.view(Float32Array, px, x.length).set(x);
    const ps = rt.put(scales);
    const pz = rt.put(zps);
    try {
      const py = alloc(x.length);
      rt.kernels.q8_quantize_f32(px, axis.outer, axis.channels, axis.inner, ps, pz, signed ? 1 : 0, py);
      return signed ? rt.read(Int8Array, py, x.length) : rt.read(Uint8Array, py, x.length);
    } finally {
      rt.free(ps);
      rt.free(pz);
    }
  });
}

/**
 * quantizeQ8 on buffers already in linear memory (byte addresses): x [outer][channels][inner]
 * float32 to y (int8 or uint8), with `channels` float32 scales at ps and int32 zero points at pz.
 */
export function quantizeQ8At(rt: KernelHost, x: number, axis: Q8Axis, ps: number, pz: number, signed: boolean, y: number): void {
  checkSizes('quantizeQ8At', { x, y, ps, pz, outer: axis.outer, channels: axis.channels, inner: axis.inner });
  rt.kernels.q8_quantize_f32(x, axis.outer, axis.channels, axis.inner, ps, pz, signed ? 1 : 0, y);
}

export async function dequantizeQ8(
  rt: KernelHost, x: Int8Array | Uint8Array, axis: Q8Axis, scales: Float32Array, zps: Int32Array,
): Promise<Float32Array> {
  return rt.scoped((alloc) => {
    const px = rt.put(x, 16);
    const ps = rt.put(scales);
    const pz = rt.put(zps);
    try {
      const py = alloc(x.length * 4);
      rt.kernels.q8_dequantize_f32(px, axis.outer, axis.channels, axis.inner, ps, pz, x instanceof Int8Array ? 1 : 0, py);
      return rt.read(Float32Array, py, x.length);
    } finally {
      rt.free(px);
      rt.free(ps);
      rt.free(pz);
    }
  });
}

/** Whether the `count` float32 values at byte address `ptr` hold a NaN or an infinity (f32_nonfinite: at memory speed). */
/** Whether any of `count` float32 values at `ptr` has a biased exponent field of at least `bits` >> 23 (|x| that large, Inf or NaN). */
export function hasExpAtLeast(rt: KernelHost, ptr: number, count: number, bits: number): boolean {
  // checked without an object when valid: every 4-bit layer of a decode step scans its rows
  if (!(Number.isInteger(ptr) && ptr >= 0 && Number.isInteger(count) && count >= 0)) checkSizes('hasExpAtLeast', { ptr, count });
  if (ptr % 4 !== 0 || ptr + count * 4 > rt.memory.buffer.byteLength) throw new ShapeError(`hasExpAtLeast: ${count} floats at ${ptr} are not inside linear memory`);
  return rt.kernels.f32_exp_at_least(ptr, count, bits) !== 0;
}

export function hasNonFinite(rt: KernelHost, ptr: number, count: number): boolean {
  checkSizes('hasNonFinite', { ptr, count });
  if (ptr % 4 !== 0 || ptr + count * 4 > rt.memory.buffer.byteLength) throw new ShapeError(`hasNonFinite: ${count} floats at ${ptr} are not inside linear memory`);
  return rt.kernels.f32_nonfinite(ptr, count) !== 0;
}

/** [min, max] of x; NaN if x holds a NaN; [Infinity, -Infinity] when empty. */
export async function minMaxF32(rt: KernelHost, x: Float32Array): Promise<[number, number]> {
  return rt.scoped((alloc) => {
    const px = alloc(x.length * 4);
    rt.view(Float32Array, px, x.length).set(x);
    return minMaxF32At(rt, px, x.length);
  });
}

/** The same for the n floats already at byte address x of linear memory. */
export async function minMaxF32At(rt: KernelHost, x: number, n: number): Promise<[number, number]> {
  return rt.scoped((alloc) => {
    const po = alloc(8);
    rt.kernels.f32_minmax(x, n, po);
    const r = rt.view(Float32Array, po, 2);
    return [r[0], r[1]] as [number, number];
  });
}

/**
 * minMaxF32At without a promise, its result written to 8 bytes at `out`: for a stager that must
 * know the range before it stages (a convolution's pixels, int8-dynamic).
 */
export function minMaxF32Now(rt: KernelHost, x: number, n: number, out: number): [number, number] {
  checkSizes('minMaxF32Now', { x, n, out });
  const bytes = rt.memory.buffer.byteLength;
  if (x % 4 !== 0 || x + n * 4 > bytes || out % 4 !== 0 || out + 8 > bytes) throw new ShapeError(`minMaxF32Now: ${n} floats at ${x} or the result at ${out} are not inside linear memory`);
  rt.kernels.f32_minmax(x, n, out);
  const r = rt.view(Float32Array, out, 2);
  return [r[0], r[1]];
}

// --- scalar references ---

export function refQuantize(x: ArrayLike<number>, axis: Q8Axis, scales: ArrayLike<number>, zps: ArrayLike<number>, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(x.length) : new Uint8Array(x.length);
  const qmin = signed ? -128 : 0;
  const qmax = signed ? 127 : 255;
  let i = 0;
  for (let o = 0; o < axis.outer; o++) {
    for (let c = 0; c < axis.channels; c++) {
      for (let t = 0; t < axis.inner; t++, i++) {
        const v = Math.fround(x[i] / scales[c]);
        out[i] = Number.isNaN(v) ? zps[c] : Math.min(qmax, Math.max(qmin, v === Infinity ? qmax : v === -Infinity ? qmin : roundHalfEven(v) + zps[c]));
      }
    }
  }
  return out;
}

export function refDequantize(x: ArrayLike<number>, axis: Q8Axis, scales: ArrayLike<number>, zps: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  let i = 0;
  for (let o = 0; o < axis.outer; o++) {
    for (let c = 0; c < axis.channels; c++) {
      for (let t = 0; t < axis.inner; t++, i++) out[i] = Math.fround((x[i] - zps[c]) * scales[c]);
    }
  }
  return out;
}
