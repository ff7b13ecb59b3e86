// The I-ViT integer-only family (assembly/intops/ivit-*.ts): Shiftmax, ShiftGELU and I-LayerNorm on
// int8 buffers already in linear memory (byte addresses), with the integer parameters of
// src/quant/ivit.ts. Each wrapper checks sizes and parameter ranges (the kernels check nothing) and
// splits rows (elements, for ShiftGELU) across threads; rows are independent, so the split never
// changes a bit.

import { ValueRangeError } from '../errors.js';
import type { LayerNormParams, ShiftGeluParams, ShiftmaxParams } from '../quant/ivit.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';

function checkInt(fn: string, name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new ValueRangeError(`${fn}: ${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

/** y (uint8, scale 2^-bits) = Shiftmax over each of `rows` rows of n int8 values; n <= 65535 keeps the row sum in int32. */
export function shiftmaxRows(rt: KernelHost, x: number, y: number, rows: number, n: number, p: ShiftmaxParams): Promise<void> {
  checkSizes('shiftmaxRows', { x, y, rows });
  checkSizes('shiftmaxRows', { n }, 1);
  checkInt('shiftmaxRows', 'n', n, 1, 65535);
  checkInt('shiftmaxRows', 'p.m', p.m, 1, 2 ** 20 - 1);
  checkInt('shiftmaxRows', 'p.g', p.g, 0, 24);
  checkInt('shiftmaxRows', 'p.bits', p.bits, 7, 8);
  return rt.parallelColumns(rows, 1, (r0, r1) => ['ivit_shiftmax_rows', [x + r0 * n, r1 - r0, n, p.m, p.g, p.bits, y + r0 * n]], 8, rows * n * 8);
}

/** y (int8) = ShiftGELU(x) over `count` int8 values. */
export function shiftGelu(rt: KernelHost, x: number, y: number, count: number, p: ShiftGeluParams): Promise<void> {
  checkSizes('shiftGelu', { x, y, count });
  checkInt('shiftGelu', 'p.ms', p.ms, 1, 2 ** 20 - 1);
  checkInt('shiftGelu', 'p.gs', p.gs, 0, 24);
  checkInt('shiftGelu', 'p.mo', p.mo, 1, 1023);
  checkInt('shiftGelu', 'p.go', p.go, -13, 16);
  return rt.parallelColumns(count, 4, (i0, i1) => ['ivit_shiftgelu', [x + i0, i1 - i0, p.ms, p.gs, p.mo, p.go, y + i0]], 256, count * 8);
}

/**
 * y (int8) = I-LayerNorm over each of `rows` rows of n int8 values; gam and bet are the byte
 * addresses of p.gam and p.bet (n int32 each, padded to a multiple of 4) already in memory.
 */
export function layerNormRows(rt: KernelHost, x: number, y: number, rows: number, n: number, gam: number, bet: number, p: Pick<LayerNormParams, 'gs'>): Promise<void> {
  checkSizes('layerNormRows', { x, y, rows, gam, bet });
  checkInt('layerNormRows', 'n', n, 1, 65536);
  checkInt('layerNormRows', 'p.gs', p.gs, -11, 9);
  return rt.parallelColumns(rows, 1, (r0, r1) => ['ivit_layernorm_rows', [x + r0 * n, r1 - r0, n, gam, bet, p.gs, y + r0 * n]], 8, rows * n * 8);
}
