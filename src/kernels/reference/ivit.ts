// Scalar references of the I-ViT integer-only kernels (assembly/intops/ivit-*.ts), written from the
// algorithm, not from the vector code: plain int32 arithmetic (Math.imul, arithmetic shifts), a
// variable right shift where the kernels select shifted copies, Math.sqrt corrected to the exact
// floor where they run Newton. The kernels must match these bit for bit (test/ivit.test.ts).

import type { LayerNormParams, ShiftGeluParams, ShiftmaxParams } from '../../quant/ivit.js';

/** e^(u / 2^15) in Q15 for u <= 0: log2(e) as 1 + 1/2 - 1/16, then 2^-z · (1 - f/2) */
export function refShiftExp(u: number): number {
  const p = (u + (u >> 1) - (u >> 4)) | 0;
  const z = (-p) >> 15;
  const r = p + z * 32768;
  return ((r >> 1) + 32768) >>> Math.min(z, 16);
}

export function refShiftmaxRows(x: Int8Array, rows: number, n: number, p: ShiftmaxParams): Uint8Array {
  const y = new Uint8Array(rows * n);
  const sh = 30 - p.bits, cap = 2 ** p.bits - 1;
  const e = new Int32Array(n);
  for (let r = 0; r < rows; r++) {
    let mx = -128, sum = 0;
    for (let j = 0; j < n; j++) mx = Math.max(mx, x[r * n + j]);
    for (let j = 0; j < n; j++) sum += e[j] = refShiftExp(Math.imul(x[r * n + j] - mx, p.m) >> p.g);
    const f = Math.floor(2 ** 30 / sum);
    for (let j = 0; j < n; j++) y[r * n + j] = Math.min((e[j] * f + 2 ** (sh - 1)) >> sh, cap);
  }
  return y;
}

export function refShiftGelu(x: Int8Array, p: ShiftGeluParams): Int8Array {
  const y = new Int8Array(x.length);
  const sh = 14 + p.go;
  for (let i = 0; i < x.length; i++) {
    const q = x[i];
    const u = Math.imul(q, p.ms) >> p.gs;
    const d = (refShiftExp(-Math.abs(u)) + 32768) >> 1; // 1 + e^-|t| in Q14
    let inv = 23130 - ((7710 * d) >> 14);
    for (let k = 0; k < 2; k++) inv = Math.imul(inv, 32768 - (Math.imul(d, inv) >> 14)) >> 14;
    const sig = u >= 0 ? inv : 16384 - inv;
    y[i] = Math.max(-128, Math.min(127, (Math.imul(q * sig, p.mo) + 2 ** (sh - 1)) >> sh));
  }
  return y;
}

const isqrt = (v: number) => {
  let s = Math.floor(Math.sqrt(v));
  while (s * s > v) s--;
  while ((s + 1) * (s + 1) <= v) s++;
  return s;
};

export function refLayerNormRows(x: Int8Array, rows: number, n: number, p: LayerNormParams): Int8Array {
  const y = new Int8Array(rows * n);
  const sh = 12 + p.gs;
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * n, (r + 1) * n);
    let sum = 0;
    for (const q of row) sum += q;
    const mu = Math.floor((sum * 16 + Math.floor(n / 2)) / n); // exact: |numerator| < 2^28
    let ss = 0;
    for (const q of row) ss += (16 * q - mu) ** 2;
    const v = ss * 256;
    const sd = isqrt((v - (v % n)) / n);
    const f = Math.floor(2 ** 24 / Math.max(sd, 1));
    for (let c = 0; c < n; c++) {
      const z = Math.max(-(2 ** 18), Math.min(2 ** 18, (Math.imul(16 * row[c] - mu, f) + 128) >> 8));
      const acc = Math.imul(z, p.gam[c]) + p.bet[c];
      y[r * n + c] = Math.max(-128, Math.min(127, (acc + 2 ** (sh - 1)) >> sh));
    }
  }
  return y;
}
