// Finite inputs too large for a quantized GEMM's float32 arithmetic. The 4-bit kernels form
// sa * acc and z * sa * sum(q) (sa = max|x| / 127) before the weight scale brings them down, and
// FP8/FPx stage x * 2^(63 - bias): with |x| near float32's 3.4e38 those overflow to Inf, and Inf - Inf
// is NaN, where the float32 layer gives a finite answer. A row holding |x| >= 2^64 is scaled by a
// power of two (exact) into [2^62, 2^64), run, and its pre-activation output scaled back:
//   y = (y' - bias) * 2^e + bias
// (W x 2^-e dominates the bias there, so subtracting it loses nothing the 4-bit weights kept).
// The GEMM must run without its epilogue clamp; the caller clamps after. Other rows keep their bits.
// Finite inputs below 2^64 cost one scan (f32_exp_at_least, at memory speed).

import { hasExpAtLeast } from '../kernels/q8.js';
import type { KernelHost } from '../runtime/host.js';

/** |x| from 2^HUGE_LOG2 on is scaled before a quantized GEMM (each kernel is safe up to 2^72 or more) */
export const HUGE_LOG2 = 64;

export interface HugeRow {
  readonly row: number;
  /** the row was scaled by 2^-shift */
  readonly shift: number;
}

/** The rows of x [m][k] at byte address x holding some |v| >= 2^HUGE_LOG2 (finite: the NaN guard ran before), or null. */
export function hugeRows(rt: KernelHost, x: number, m: number, k: number): HugeRow[] | null {
  if (!hasExpAtLeast(rt, x, m * k, (127 + HUGE_LOG2) << 23)) return null;
  return hugeRowsOf(rt.view(Float32Array, x, m * k), m, k);
}

/** hugeRows on a host array (no scan first: for callers that saw a non-finite output) */
export function hugeRowsOf(v: Float32Array, m: number, k: number): HugeRow[] | null {
  const rows: HugeRow[] = [];
  for (let i = 0; i < m; i++) {
    let amax = 0;
    for (let j = i * k; j < (i + 1) * k; j++) amax = Math.max(amax, Math.abs(v[j]));
    if (amax >= 2 ** HUGE_LOG2 && amax < Infinity) rows.push({ row: i, shift: Math.floor(Math.log2(amax)) - (HUGE_LOG2 - 2) });
  }
  return rows.length ? rows : null;
}

/** x's huge rows times 2^-shift, in place (exact: a power of two) */
export function scaleRows(v: Float32Array, rows: HugeRow[], k: number): void {
  for (const { row, shift } of rows) {
    const f = 2 ** -shift;
    for (let j = row * k; j < (row + 1) * k; j++) v[j] *= f;
  }
}

/** y's huge rows back: (y' - bias) * 2^shift + bias, in place */
export function unscaleRows(out: Float32Array, rows: HugeRow[], n: number, bias: Float32Array | null): void {
  for (const { row, shift } of rows) {
    const f = 2 ** shift;
    for (let j = row * n, c = 0; c < n; j++, c++) out[j] = bias ? (out[j] - bias[c]) * f + bias[c] : out[j] * f;
  }
}

/**
 * Runs `gemm` (x [m][k] -> y [m][n], bias added, no clamp) with the huge rows scaled down, puts x
 * back as it was, then scales those rows of y back and clamps every row to [lo, hi] when asked.
 */
export async function runHugeRows(
  rt: KernelHost, rows: HugeRow[], call: { x: number; k: number; y: number; n: number; m: number; bias: Float32Array | null; lo: number; hi: number },
  gemm: () => Promise<void>,
): Promise<void> {
  const { x, k, y, n, m, bias } = call;
  const lo = Math.fround(call.lo), hi = Math.fround(call.hi);
  const saved = rows.map(({ row }) => rt.view(Float32Array, x + row * k * 4, k).slice());
  scaleRows(rt.view(Float32Array, x, m * k), rows, k);
  try {
    await gemm();
  } finally {
    rows.forEach(({ row }, i) => rt.view(Float32Array, x + row * k * 4, k).set(saved[i])); // memory may have grown
  }
  const out = rt.view(Float32Array, y, m * n);
  unscaleRows(out, rows, n, bias);
  // the kernels' clamp: pmin(pmax(v, lo), hi), so NaN and -0 come out as they would have
  if (lo > -Infinity || hi < Infinity) {
    for (let j = 0; j < m * n; j++) {
      const v = out[j] < lo ? lo : out[j];
      out[j] = hi < v ? hi : v;
    }
  }
}
