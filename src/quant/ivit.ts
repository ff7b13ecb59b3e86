// Parameters of the I-ViT integer-only ops (assembly/intops/ivit-*.ts): the scales an op gets (input
// scale in, output scale out) turned once into the integer multipliers and shifts the kernels use,
// so the kernels themselves never see a float. Each multiplier is m / 2^g with m as large as the
// kernel's int32 headroom allows (the relative error of a multiplier is below 1 / (2m)).

import { ValueRangeError } from '../errors.js';

/** Shiftmax: ((q - max) * m) >> g puts q onto the Q15 grid; the output is [0, 2^bits) with scale 2^-bits. */
export interface ShiftmaxParams {
  m: number;
  g: number;
  /** 8: uint8 probabilities (scale 1/256); 7: [0, 127], safe to read as int8 (scale 1/128) */
  bits: 7 | 8;
}

/** ShiftGELU: (q * ms) >> gs is alpha·x in Q15; mo / 2^go the input-to-output scale ratio. */
export interface ShiftGeluParams {
  ms: number;
  gs: number;
  mo: number;
  go: number;
}

/** I-LayerNorm: the affine folded per channel; gam ~ gamma/so · 2^gs, bet ~ beta/so · 2^(12+gs). */
export interface LayerNormParams {
  gam: Int32Array;
  bet: Int32Array;
  gs: number;
}

const positive = (fn: string, name: string, v: number) => {
  if (!(v > 0) || !Number.isFinite(v)) throw new ValueRangeError(`${fn}: ${name} must be a finite number > 0, got ${v}`);
};

/** m / 2^g ~ v · 2^15 with m < 2^20 (the kernels' products stay within int32 for |q| <= 255) */
function q15Multiplier(fn: string, name: string, v: number): { m: number; g: number } {
  let g = 0;
  while (g < 24 && v * 2 ** (16 + g) < 2 ** 20) g++;
  const m = Math.round(v * 2 ** (15 + g));
  if (m < 1 || m >= 2 ** 20) throw new ValueRangeError(`${fn}: ${name} ${v} is outside what the int32 lanes take (2^-24 .. 32)`);
  return { m, g };
}

export function shiftmaxParams(inScale: number, bits: 7 | 8 = 8): ShiftmaxParams {
  positive('shiftmaxParams', 'inScale', inScale);
  if (bits !== 7 && bits !== 8) throw new ValueRangeError(`shiftmaxParams: bits must be 7 or 8, got ${bits}`);
  return { ...q15Multiplier('shiftmaxParams', 'inScale', inScale), bits };
}

/** alpha 1.702: GELU as I-ViT approximates it; alpha 1: Swish. */
export function shiftGeluParams(inScale: number, outScale: number, alpha = 1.702): ShiftGeluParams {
  positive('shiftGeluParams', 'inScale', inScale);
  positive('shiftGeluParams', 'outScale', outScale);
  positive('shiftGeluParams', 'alpha', alpha);
  const { m: ms, g: gs } = q15Multiplier('shiftGeluParams', 'inScale * alpha', inScale * alpha);
  const ratio = inScale / outScale;
  let go = -13;
  while (go < 16 && Math.round(ratio * 2 ** (go + 1)) <= 1023) go++;
  const mo = Math.round(ratio * 2 ** go);
  if (mo < 1 || mo > 1023) throw new ValueRangeError(`shiftGeluParams: inScale / outScale must be in [2^-17, 2^23], got ${ratio}`);
  return { ms, gs, mo, go };
}

export function layerNormParams(outScale: number, gamma: ArrayLike<number>, beta: ArrayLike<number> | null): LayerNormParams {
  positive('layerNormParams', 'outScale', outScale);
  const n = gamma.length;
  if (beta && beta.length !== n) throw new ValueRangeError(`layerNormParams: beta must have gamma's length ${n}, got ${beta.length}`);
  let gmax = 0;
  for (let c = 0; c < n; c++) {
    if (!Number.isFinite(gamma[c]) || (beta && !Number.isFinite(beta[c]))) throw new ValueRangeError(`layerNormParams: gamma and beta must be finite (channel ${c})`);
    gmax = Math.max(gmax, Math.abs(gamma[c] / outScale));
  }
  // |z| <= 2^18 (Q12, capped at 64) times |gam| <= 2^11, plus |bet| <= 2^30, stays within int32
  const gs = gmax === 0 ? 9 : Math.min(9, Math.floor(11 - Math.log2(gmax)));
  if (gs < -11) throw new ValueRangeError(`layerNormParams: gamma / outScale up to ${gmax} is beyond 2^22`);
  const pad = (n + 3) & ~3; // the kernel reads whole groups of 4
  const gam = new Int32Array(pad), bet = new Int32Array(pad);
  for (let c = 0; c < n; c++) {
    gam[c] = Math.round((gamma[c] / outScale) * 2 ** gs);
    bet[c] = beta ? Math.round(Math.max(-512, Math.min(512, beta[c] / outScale)) * 2 ** (12 + gs)) : 0;
  }
  return { gam, bet, gs };
}
