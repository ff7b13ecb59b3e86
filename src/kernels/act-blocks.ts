// Activation blocks for the 4-bit GEMMs: qb4 and lut4 quantize their float32 activations with the
// one wasm quantizer (assembly/quant/act-blocks.ts) and read the one metadata layout (ACT_BLOCK_*
// in params.ts, generated from assembly/params.ts).

import { ValueRangeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { ACT_BLOCK_BYTES, ACT_BLOCK_SCALE } from './params.js';

/** One int8 scale per row of the activations, or per row and block of K (ggml's Q8_0). */
export type ActivationBlocks = 'per-row' | 'per-block';

/** Scratch bytes of quantizeActBlocks for M rows (before the allocator's rounding). */
export function actBlocksBytes(m: number, kp: number, bs: number, wide: boolean): number {
  return m * kp * (wide ? 2 : 1) + m * (kp / bs) * ACT_BLOCK_BYTES;
}

/**
 * x [M, K] float32 at byte address x (row stride K) -> symmetric int8 values [M][kp], zero-padded
 * (int16 when wide: the baseline layouts), at `a` (row stride aStride bytes), and per row and block
 * of bs values the metadata at `meta` (ACT_BLOCK_BYTES each), both in `alloc`'d scratch.
 */
export function quantizeActBlocks(
  rt: KernelHost, alloc: (bytes: number) => number,
  call: { x: number; m: number; k: number; kp: number; bs: number; scheme: ActivationBlocks; wide: boolean },
): { a: number; aStride: number; meta: number } {
  const { x, m, k, kp, bs, wide } = call;
  const aStride = wide ? kp * 2 : kp;
  const a = alloc(m * aStride);
  const meta = alloc(m * (kp / bs) * ACT_BLOCK_BYTES);
  rt.kernels.act_blocks_quantize_f32(x, m, k, kp, bs, call.scheme === 'per-block' ? 1 : 0, wide ? 1 : 0, a, meta);
  return { a, aStride, meta };
}

/** A NaN or infinite input shows as a non-finite block scale: a clear error naming its row. */
export function checkActivationScales(rt: KernelHost, meta: number, m: number, nb: number, scheme: ActivationBlocks): void {
  const words = ACT_BLOCK_BYTES / 4;
  const mv = rt.view(Float32Array, meta, m * nb * words);
  for (let i = 0; i < m * nb; i++) {
    if (!Number.isFinite(mv[words * i + ACT_BLOCK_SCALE / 4])) {
      const row = Math.floor(i / nb);
      throw new ValueRangeError(`x: row ${row}${scheme === 'per-block' ? `, block ${i % nb}` : ''} contains NaN or Infinity`);
    }
  }
}
