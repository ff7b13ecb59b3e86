// fp8: bulk float32 <-> FP8 (E4M3FN, E5M2) conversion in wasm. Wraps assembly/quant/fp8.ts; the
// scalar reference is the TS codec in src/quant/fp8.ts (encodeFp8 / decodeFp8), bit for bit.

import type { KernelHost } from '../runtime/host.js';
import { ArgumentError, DTypeError, describe } from '../errors.js';
import { FP8_FORMATS, type Fp8Format } from '../quant/fp8.js';

function checkFormat(format: unknown): Fp8Format {
  if (!FP8_FORMATS.includes(format as Fp8Format)) {
    throw new ArgumentError(`format: expected ${FP8_FORMATS.map((f) => `'${f}'`).join(' or ')}, got ${describe(format)}`);
  }
  return format as Fp8Format;
}

/** FP8 codes of every float32 in x; saturate (default true) clamps out-of-range values and ±Inf to ±max. */
export async function encodeFp8Wasm(rt: KernelHost, x: Float32Array, format: Fp8Format, saturate = true): Promise<Uint8Array> {
  const f = checkFormat(format);
  if (!(x instanceof Float32Array)) throw new DTypeError(`x: expected a Float32Array, got ${describe(x)}`);
  if (typeof saturate !== 'boolean') throw new ArgumentError(`saturate: expected a boolean, got ${describe(saturate)}`);
  const n = x.length;
  if (n === 0) return new Uint8Array(0);
  return rt.scoped((alloc) => {
    const px = alloc(n * 4);
    rt.view(Float32Array, px, n).set(x); // a same-type set copies bits: NaN signs survive
    const py = alloc(n);
    const k = f === 'e4m3fn' ? rt.kernels.fp8_encode_e4m3_f32 : rt.kernels.fp8_encode_e5m2_f32;
    k(px, n, saturate ? 1 : 0, py);
    return rt.read(Uint8Array, py, n);
  });
}

/** float32 values of FP8 codes (exact; NaN codes give the quiet NaN with the code's sign). */
export async function decodeFp8Wasm(rt: KernelHost, codes: Uint8Array, format: Fp8Format): Promise<Float32Array> {
  const f = checkFormat(format);
  if (!(codes instanceof Uint8Array)) throw new DTypeError(`codes: expected a Uint8Array, got ${describe(codes)}`);
  const n = codes.length;
  if (n === 0) return new Float32Array(0);
  return rt.scoped((alloc) => {
    const pc = alloc(n);
    rt.view(Uint8Array, pc, n).set(codes);
    const py = alloc(n * 4);
    const k = f === 'e4m3fn' ? rt.kernels.fp8_decode_e4m3_f32 : rt.kernels.fp8_decode_e5m2_f32;
    k(pc, n, py);
    return rt.read(Float32Array, py, n);
  });
}
