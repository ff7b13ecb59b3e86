// Per-block int4 scales for 4x4 blocks (int4-sparse, issue 16): a weight is code x sub x rowScale,
// the code in [-7, 7], sub an integer in [1, 63] per 4x4 block (4 rows x 4 consecutive k) and
// rowScale one float32 per output row = max|w| of the row / (7 x 63). Why an integer multiplier and
// not a float per block: code x sub still fits int16, so the kernel multiplies the unpacked nibbles
// once per block and its sums stay exact int32 over the row (the float32 epilogue is per-row's); the
// multiplier costs 1 byte per block (8 bytes of nibbles). A block whose values are small next to its
// rows' largest gets a finer grid, which one scale per row cannot give (pruned rows keep blocks of
// very different magnitudes: see bench/RESULTS-spmm.md, int4-sparse).

import { ArgumentError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

export const INT4_QMAX = 7;
export const INT4_SUB_MAX = 63;

export interface Int4BlockGrid {
  /** N row scales (float32; 1 for an all-zero row) */
  scales: Float32Array;
  /** ceil(N/4) x ceil(K/4) multipliers, block row-major, each in [1, 63] */
  subs: Uint8Array;
}

const clampCode = (v: number) => Math.max(-INT4_QMAX, Math.min(INT4_QMAX, roundHalfEven(v)));

/**
 * The grid: row scales from each row's max, and per block the multiplier in [1, 63] whose rounding
 * (round half even, clamped to [-7, 7]) of the block's values has the least squared error (ties:
 * the smaller multiplier).
 */
export function int4BlockGrid(w: ArrayLike<number>, n: number, k: number): Int4BlockGrid {
  if (w.length !== n * k) throw new ArgumentError(`int4BlockGrid: w has ${w.length} elements, expected n*k = ${n}*${k}`);
  const scales = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let max = 0;
    for (let c = 0; c < k; c++) max = Math.max(max, Math.abs(w[r * k + c]));
    if (!Number.isFinite(max)) throw new ArgumentError(`int4BlockGrid: row ${r} of w has a non-finite value`);
    scales[r] = max > 0 ? Math.fround(max / (INT4_QMAX * INT4_SUB_MAX)) : 1;
  }
  const nb = Math.ceil(n / 4), kb = Math.ceil(k / 4);
  const subs = new Uint8Array(nb * kb).fill(1);
  for (let bi = 0; bi < nb; bi++) {
    const r1 = Math.min(n, bi * 4 + 4);
    for (let bc = 0; bc < kb; bc++) {
      const c1 = Math.min(k, bc * 4 + 4);
      // the block in units of its rows' scales; the least multiplier that needs no clipping bounds the search from above
      let peak = 0;
      for (let r = bi * 4; r < r1; r++) for (let c = bc * 4; c < c1; c++) peak = Math.max(peak, Math.abs(w[r * k + c]) / scales[r]);
      if (peak === 0) continue;
      const hi = Math.min(INT4_SUB_MAX, Math.max(1, Math.ceil(peak / INT4_QMAX)));
      let best = hi, bestErr = Infinity;
      for (let s = 1; s <= hi; s++) {
        let e = 0;
        for (let r = bi * 4; r < r1; r++) {
          for (let c = bc * 4; c < c1; c++) {
            const u = w[r * k + c] / scales[r];
            e += (u - clampCode(u / s) * s) ** 2 * scales[r] * scales[r];
          }
        }
        if (e < bestErr) (bestErr = e), (best = s);
      }
      subs[bi * kb + bc] = best;
    }
  }
  return { scales, subs };
}

/** w rounded to nearest on the grid: codes N x K in [-7, 7] (0 stays 0). */
export function quantizeInt4Grid(w: ArrayLike<number>, n: number, k: number, grid: Int4BlockGrid): Int8Array {
  const kb = Math.ceil(k / 4), q = new Int8Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) q[r * k + c] = clampCode(w[r * k + c] / (grid.scales[r] * grid.subs[(r >> 2) * kb + (c >> 2)]));
  }
  return q;
}

/** The step of weight (row r, column c) on the grid: rowScale x the block's multiplier. */
export function int4GridStep(grid: Int4BlockGrid, k: number, r: number, c: number): number {
  return grid.scales[r] * grid.subs[(r >> 2) * Math.ceil(k / 4) + (c >> 2)];
}
