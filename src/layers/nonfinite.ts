// NaN and infinite inputs to quantized layers. Quantizing an activation turns a NaN into the zero
// point and an infinity into the end of the range, so a quantized layer would answer a NaN input
// with a finite, confident number where float32 (and onnxruntime) answer NaN. Here a row of the
// GEMM (an output pixel of a convolution, after im2col) whose input holds a NaN or an infinity
// comes out as NaN ('nan', the default), or the run is a ValueRangeError naming the layer and
// the row ('error'). Finite inputs cost one pass over the input (f32_nonfinite, at memory speed;
// for a convolution over its input, not the im2col rows, 9x smaller for 3x3) and give the same
// bits as before. Finite values beyond the calibrated range saturate, as QuantizeLinear does.

import { ValueRangeError } from '../errors.js';
import { hasExpAtLeast, hasNonFinite } from '../kernels/q8.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GemmImpl, StagedConv } from './gemm.js';

/** What a quantized layer does with a NaN or infinite input: NaN in the rows it reaches, or a ValueRangeError. */
export type NonFinite = 'nan' | 'error';

export const NON_FINITE_MODES: readonly NonFinite[] = ['nan', 'error'];

/** how far beyond a static input range's ends a value may go (saturated) before it is refused: 2^16 */
export const STATIC_HEADROOM_LOG2 = 16;

/** The static uint8 input range of a layer's weights ([lo, hi] it quantizes without saturating, per-channel scales at their largest), or null. */
export function staticInputRange(weights: unknown): [number, number] | null {
  const input = (weights as { input?: ActivationQuant } | null)?.input;
  if (!input || !(input.scale > 0)) return null;
  const cs = input.channelScale ? Math.max(...input.channelScale) : 1;
  return [-input.zeroPoint * input.scale * cs, (255 - input.zeroPoint) * input.scale * cs];
}

/** A static range's limit: the first power of two >= 2^16 x its larger end (Infinity: no range), and the exponent bits from which f32_exp_at_least reports a value (non-finite, or |x| >= limit). */
export function staticLimit(range: [number, number] | null): { limit: number; bits: number } {
  const e = range ? Math.ceil(Math.log2(Math.max(-range[0], range[1]))) + STATIC_HEADROOM_LOG2 : 128;
  const limit = e >= 128 ? Infinity : 2 ** Math.max(e, -126);
  return { limit, bits: limit === Infinity ? 0x7f800000 : (127 + Math.max(e, -126)) << 23 };
}

/** Refuses a finite value of x (rows of k) at or past `limit`: saturating it at the static range's end would answer confidently wrong. */
export function checkStaticRange(label: string, x: Float32Array, k: number, limit: number, range: [number, number]): void {
  for (let j = 0; j < x.length; j++) {
    if (Number.isFinite(x[j]) && Math.abs(x[j]) >= limit) {
      throw new ValueRangeError(`${label}: input row ${Math.floor(j / k)} holds ${x[j]}, over 2^${STATIC_HEADROOM_LOG2} times the range [${range[0].toPrecision(4)}, ${range[1].toPrecision(4)}] its int8 input quantization was calibrated for; saturating it would give a wrong answer. Calibrate on inputs like this one, or use a scheme with dynamic activations (int4, fp8, int8-outlier)`);
    }
  }
}

/** The rows of x [M][K] holding a NaN or an infinity, with the first bad value of each. */
export function nonFiniteRows(x: Float32Array, m: number, k: number): { rows: number[]; first: number } {
  const rows: number[] = [];
  let first = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i * k; j < (i + 1) * k; j++) {
      if (!Number.isFinite(x[j])) {
        if (rows.length === 0) first = x[j];
        rows.push(i);
        break;
      }
    }
  }
  return { rows, first };
}

/** The error for a non-finite input: names the layer (`label`), the row and the value. */
export function nonFiniteError(label: string, row: number, value: number): ValueRangeError {
  return new ValueRangeError(`${label}: input row ${row} holds ${value}; the quantized layer was asked to refuse NaN and infinite inputs (nonFinite: 'error')`);
}

/**
 * Runs a GEMM on host rows that may hold NaN or infinities: bad rows go in as zeros and come out
 * as NaN ('nan'), or the call is an error ('error').
 */
export async function forwardNonFinite(x: Float32Array, m: number, k: number, n: number, mode: NonFinite, label: string, run: (x: Float32Array) => Promise<Float32Array>): Promise<Float32Array> {
  const { rows, first } = nonFiniteRows(x, m, k);
  if (rows.length === 0) return run(x);
  if (mode === 'error') throw nonFiniteError(label, rows[0], first);
  const clean = x.map((v) => (Number.isFinite(v) ? v : 0));
  const y = await run(clean);
  for (const r of rows) y.fill(NaN, r * n, (r + 1) * n);
  return y;
}

/** A quantized GEMM on linear memory that never turns a NaN or infinite input row into a number. */
export class NonFiniteGuard implements GemmImpl {
  /** |x| from which a finite input is refused: the first power of two >= 2^16 x the static range's larger end (Infinity: none) */
  readonly limit: number;
  /** exponent bits from which the scan reports a value: non-finite, or |x| >= limit */
  private readonly bits: number;

  constructor(private readonly rt: Runtime, readonly inner: GemmImpl, readonly mode: NonFinite, private readonly label: string, private readonly range: [number, number] | null = null) {
    ({ limit: this.limit, bits: this.bits } = staticLimit(range));
  }

  /** whether `count` floats at `ptr` hold a value this guard must look at */
  private flagged(ptr: number, count: number): boolean {
    return this.limit === Infinity ? hasNonFinite(this.rt, ptr, count) : hasExpAtLeast(this.rt, ptr, count, this.bits);
  }

  /** a finite value past the static range's headroom: an error in either mode */
  private checkRange(x: number, m: number, k: number): void {
    if (this.range) checkStaticRange(this.label, this.rt.view(Float32Array, x, m * k), k, this.limit, this.range);
  }

  get k(): number {
    return this.inner.k;
  }
  get n(): number {
    return this.inner.n;
  }
  get weightBytes(): number {
    return this.inner.weightBytes;
  }
  get layout(): string | undefined {
    return this.inner.layout;
  }
  scratchBytes(m: number): number {
    return this.inner.scratchBytes?.(m) ?? 0;
  }

  run(m: number, x: number, y: number, scratch: number): Promise<void> {
    return this.runGathered(m, x, y, scratch, x, m * this.k);
  }

  /** run() for rows gathered (im2col) from `count` floats at `source`: when those are finite, so are the rows */
  async runGathered(m: number, x: number, y: number, scratch: number, source: number, count: number): Promise<void> {
    const rt = this.rt, k = this.k, n = this.n;
    // a GEMM that quantizes by its input's range (int8-dynamic) takes that range from the source
    if (!this.flagged(source, count)) return this.inner.runGathered ? this.inner.runGathered(m, x, y, scratch, source, count) : this.inner.run(m, x, y, scratch);
    this.checkRange(x, m, k);
    // rare: find the rows, run them as zeros, put the input back, write NaN
    const { rows, first } = nonFiniteRows(rt.view(Float32Array, x, m * k), m, k);
    if (rows.length === 0) return this.inner.run(m, x, y, scratch); // no row reaches the bad values (strides)
    if (this.mode === 'error') throw nonFiniteError(this.label, rows[0], first);
    const saved = new Map<number, number>();
    const xv = rt.view(Float32Array, x, m * k);
    for (const r of rows) for (let j = r * k; j < (r + 1) * k; j++) if (!Number.isFinite(xv[j])) saved.set(j, xv[j]);
    for (const j of saved.keys()) xv[j] = 0;
    try {
      await this.inner.run(m, x, y, scratch);
    } finally {
      const back = rt.view(Float32Array, x, m * k); // memory may have grown during the run
      for (const [j, v] of saved) back[j] = v;
    }
    const yv = rt.view(Float32Array, y, m * n);
    for (const r of rows) yv.fill(NaN, r * n, (r + 1) * n);
  }

  /** the inner GEMM's staged path, taken only for images without NaN or infinities (else run() marks the rows) */
  stagedConv(c: number): StagedConv | null {
    const inner = this.inner.stagedConv?.(c);
    if (!inner) return null;
    return { ...inner, accepts: (source: number, count: number) => !this.flagged(source, count) };
  }

  dispose(): void {
    this.inner.dispose();
  }
}
