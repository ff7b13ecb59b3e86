// NaN and infinite inputs to quantized layers. Quantizing an activation turns a NaN into the zero
// point and an infinity into the end of the range, so a quantized layer would answer a NaN input
// with a finite, confident number where float32 (and onnxruntime) answer NaN. Here a row of the
// GEMM (an output pixel of a convolution, after im2col) whose input holds a NaN or an infinity
// comes out as NaN ('nan', the default), or the run is a ValueRangeError naming the layer and
// the row ('error'). Finite inputs cost one pass over the input (f32_nonfinite, at memory speed;
// for a convolution over its input, not the im2col rows, 9x smaller for 3x3) and give the same
// bits as before. Finite values beyond the calibrated range saturate, as QuantizeLinear does.

import { ValueRangeError } from '../errors.js';
import { hasNonFinite } from '../kernels/q8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GemmImpl, StagedConv } from './gemm.js';

/** What a quantized layer does with a NaN or infinite input: NaN in the rows it reaches, or a ValueRangeError. */
export type NonFinite = 'nan' | 'error';

export const NON_FINITE_MODES: readonly NonFinite[] = ['nan', 'error'];

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
  constructor(private readonly rt: Runtime, readonly inner: GemmImpl, readonly mode: NonFinite, private readonly label: string) {}

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
    if (!hasNonFinite(rt, source, count)) return this.inner.run(m, x, y, scratch);
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
    const rt = this.rt;
    return { ...inner, accepts: (source: number, count: number) => !hasNonFinite(rt, source, count) };
  }

  dispose(): void {
    this.inner.dispose();
  }
}
