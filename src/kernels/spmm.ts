// What the SpMM wrappers (spmm-csr, spmm-nm, spmm-block) share: the output kinds and their epilogue
// arrays, argument checks, and the copy-in / run / copy-out of a call on host arrays.

import { ArgumentError, ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import type { PackedWeights } from './packed.js';

/** int32 sums, or float32 = f32(acc) * scale[n] (+ bias[n]) (scale: weight scale x activation scale). */
export type SpmmOutput = { kind: 'int32' } | { kind: 'float32'; scale: Float32Array; bias?: Float32Array };

/** A SpMM on buffers already in linear memory; `alloc` gives the call's scratch (staged A, epilogue arrays). */
export interface SpmmCall {
  m: number;
  /** byte address of A (M x K, row-major, int8 or uint8) */
  a: number;
  signed: boolean;
  /** A's zero point: the kernels use A - za */
  za: number;
  output: SpmmOutput;
  /** byte address of the output (M x N int32 or float32) and its row stride in bytes */
  out: number;
  outStride: number;
}

/** The packed weights every SpMM family has: their shape. */
export interface SpmmWeights extends PackedWeights {
  readonly n: number;
  readonly k: number;
}

export const SPMM_OUT_I32 = 0;
export const SPMM_OUT_F32 = 1;

/** Checks a call; returns the epilogue arguments (kind, scale, bias) with the arrays in linear memory (padded to N rounded up to 8). */
export function spmmPrepare(rt: KernelHost, alloc: (bytes: number) => number, fn: string, w: SpmmWeights, call: SpmmCall): [kind: number, scale: number, bias: number] {
  if (w.disposed) throw new ArgumentError(`${fn}: the packed weights were disposed`);
  checkSizes(fn, { m: call.m });
  if (!Number.isInteger(call.za) || call.za < (call.signed ? -128 : 0) || call.za > (call.signed ? 127 : 255)) {
    throw new ArgumentError(`${fn}: za must be an integer in A's range, got ${call.za}`);
  }
  if (!(call.outStride >= w.n * 4)) throw new ArgumentError(`${fn}: outStride must be >= N*4 = ${w.n * 4} bytes, got ${call.outStride}`);
  const o = call.output;
  if (o.kind === 'int32') return [SPMM_OUT_I32, 0, 0];
  if (o.kind !== 'float32') throw new ArgumentError(`${fn}: output.kind must be 'int32' or 'float32', got ${(o as { kind: unknown }).kind}`);
  if (o.scale.length !== w.n) throw new ShapeError(`${fn}: output.scale has ${o.scale.length} elements, expected N = ${w.n}`);
  if (o.bias && o.bias.length !== w.n) throw new ShapeError(`${fn}: output.bias has ${o.bias.length} elements, expected N = ${w.n}`);
  const np = Math.ceil(w.n / 8) * 8 || 8;
  const scale = rt.putPadded(alloc, Float32Array, o.scale, np);
  const bias = o.bias ? rt.putPadded(alloc, Float32Array, o.bias, np) : 0;
  return [SPMM_OUT_F32, scale, bias];
}

/** Runs `gemm` on host arrays: A (M x K) in, a fresh Int32Array or Float32Array (M x N) out. */
export async function runSpmmOn(
  rt: KernelHost, fn: string, a: Int8Array | Uint8Array, m: number, za: number, w: SpmmWeights, output: SpmmOutput,
  gemm: (rt: KernelHost, alloc: (bytes: number) => number, call: SpmmCall) => Promise<void>,
): Promise<Int32Array | Float32Array> {
  rt.check();
  if (w.disposed) throw new ArgumentError(`${fn}: the packed weights were disposed`);
  checkSizes(fn, { m });
  if (a.length !== m * w.k) throw new ShapeError(`${fn}: A has ${a.length} elements, expected M*K = ${m}*${w.k}`);
  return rt.scoped(async (alloc) => {
    const signed = a instanceof Int8Array;
    const ap = rt.putPadded(alloc, signed ? Int8Array : Uint8Array, a, a.length + 16);
    const out = alloc(Math.max(m * w.n * 4, 16));
    await gemm(rt, alloc, { m, a: ap, signed, za, output, out, outStride: w.n * 4 });
    return output.kind === 'float32' ? rt.read(Float32Array, out, m * w.n) : rt.read(Int32Array, out, m * w.n);
  });
}
