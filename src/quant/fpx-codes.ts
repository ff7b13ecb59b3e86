// FPx codes: the byte form of src/quant/fpx.ts's simulated 8-bit floats, for the splits the f8w
// kernels run (E1M6 … E5M2). Code = S.E…E.M…M with the standard bias b0 = 2^(e-1) - 1, no Inf or NaN
// (exponent field 2^e - 1 is an ordinary binade, as in the paper), subnormals at exponent field 0;
// a real-valued bias is the per-channel scale's business (scale = max / standardMax).
//
//   split  max (b0)         smallest subnormal   kernel decode shift / mask
//   E1M6   1.984375 (0)     2^-5                 1 / 0x80fe
//   E2M5   7.875 (1)        2^-5                 2 / 0x81fc
//   E3M4   31 (3)           2^-6                 3 / 0x83f8
//   E4M3   480 (7)          2^-9                 4 / 0x87f0
//   E5M2   114688 (15)      2^-16                5 / 0x8fe0

import { ArgumentError, describe } from '../errors.js';
import { fpxFormat, roundToGrid, type FpxFormat } from './fpx.js';

export type FpxSplit = 'E1M6' | 'E2M5' | 'E3M4' | 'E4M3' | 'E5M2';
/** The splits the f8w kernels run, fewest exponent bits first. */
export const FPX_SPLITS: readonly FpxSplit[] = ['E1M6', 'E2M5', 'E3M4', 'E4M3', 'E5M2'];

export function isFpxSplit(x: unknown): x is FpxSplit {
  return (FPX_SPLITS as readonly unknown[]).includes(x);
}

export function checkFpxSplit(argument: string, x: unknown): FpxSplit {
  if (!isFpxSplit(x)) throw new ArgumentError(`${argument}: expected one of ${FPX_SPLITS.map((s) => `'${s}'`).join(', ')}, got ${describe(x)}`);
  return x;
}

const TABLES = new Map<FpxSplit, Float32Array>();

/** The value of every code (256 entries, all finite; 0x80 is -0). */
export function fpxTable(split: FpxSplit): Float32Array {
  let t = TABLES.get(split);
  if (!t) {
    const f = fpxFormat(split);
    t = new Float32Array(256);
    for (let c = 0; c < 256; c++) {
      const exp = (c & 0x7f) >> f.m;
      const man = c & ((1 << f.m) - 1);
      const a = exp === 0 ? man * 2 ** (f.emin - f.m) : (1 + man / 2 ** f.m) * 2 ** (exp - f.standardBias);
      t[c] = c & 0x80 ? -a : a;
    }
    TABLES.set(split, t);
  }
  return t;
}

/** The code of the grid value nearest to v (ties to the even code, saturating; v finite). */
export function fpxEncode(v: number, f: FpxFormat): number {
  const q = roundToGrid(v, f);
  const sign = q < 0 || (q === 0 && 1 / q < 0) ? 0x80 : 0;
  const a = Math.abs(q);
  if (a < 2 ** f.emin) return sign | Math.round(a / 2 ** (f.emin - f.m));
  const ex = Math.floor(Math.log2(a));
  const man = Math.round(a / 2 ** (ex - f.m)) - 2 ** f.m;
  return sign | ((ex + f.standardBias) << f.m) | man;
}

/** Codes of x / scale per column: x is N rows of K (row j scaled by 1 / scales[j]); codes K x N. */
export function fpxEncodeColumns(wnk: Float32Array, n: number, k: number, scales: Float32Array, split: FpxSplit): Uint8Array {
  const f = fpxFormat(split);
  const codes = new Uint8Array(k * n);
  for (let j = 0; j < n; j++) {
    const s = scales[j];
    for (let t = 0; t < k; t++) codes[t * n + j] = fpxEncode(Math.fround(wnk[j * k + t] / s), f);
  }
  return codes;
}
