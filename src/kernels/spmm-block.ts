// spmm-block: block-sparse rows of 4x4 int8 blocks x dense int8 activations
// (assembly/sparse/spmm-block.ts; why 4x4 first: see there). The kernel reads a Bsr4Int8
// (src/kernels/reference/spmm.ts) with uint16 block columns; A is staged p8 (M >= 2) or as one
// int16 row (M = 1, qs8_stage_c2). A Bsr4Int4 (int4 values, 8 bytes a block) runs the same kernels
// with bits = 4, and with its per-block multipliers (subs, one byte a block) when it has them.

import { ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { PackedWeights } from './packed.js';
import { BSR4_SUB_MAX, type Bsr4Int4, type Bsr4Int8 } from './reference/spmm.js';
import { runSpmmOn, spmmPrepare, type SpmmCall, type SpmmOutput, type SpmmWeights } from './spmm.js';

export class SpmmBlockWeights extends PackedWeights implements SpmmWeights {
  constructor(
    rt: KernelHost,
    readonly n: number,
    readonly k: number,
    /** K rounded up to 4 */
    readonly kp: number,
    readonly blocks: number,
    readonly blockPtr: number,
    readonly cols: number,
    readonly vals: number,
    /** 8 (int8 values) or 4 (int4) */
    readonly bits: 8 | 4 = 8,
    /** int4 blocks' multipliers (uint16 in linear memory, for a one-load splat), 0 for none */
    readonly subs: number = 0,
  ) {
    super(rt, subs ? [blockPtr, cols, vals, subs] : [blockPtr, cols, vals]);
  }

  /** bytes of packed weights: 16 values (int8: 16 bytes, int4: 8) + a 2-byte column (+ a 2-byte multiplier) per block, 4 per block-row pointer */
  get bytes(): number {
    return this.blocks * (this.bits * 2 + 2 + (this.subs ? 2 : 0)) + (Math.ceil(this.n / 4) + 1) * 4;
  }
}

export function packSpmmBlock(rt: KernelHost, f: Bsr4Int8 | Bsr4Int4): SpmmBlockWeights {
  rt.check();
  const { n, k } = f;
  const nb = Math.ceil(n / 4), kb = Math.ceil(k / 4);
  if (kb > 65536) throw new ShapeError(`packSpmmBlock: K must be <= ${65536 * 4}, got ${k}`);
  const blocks = f.cols.length;
  const int4 = 'nibbles' in f, vals = int4 ? f.nibbles : f.values;
  if (f.blockPtr.length !== nb + 1 || f.blockPtr[nb] !== blocks || vals.length !== blocks * (int4 ? 8 : 16)) {
    throw new ShapeError(`packSpmmBlock: blockPtr (${f.blockPtr.length}), cols (${blocks}) and ${int4 ? 'nibbles' : 'values'} (${vals.length}) do not describe ${nb} block rows of 4x4 blocks`);
  }
  for (let bi = 0; bi < nb; bi++) if (f.blockPtr[bi + 1] < f.blockPtr[bi]) throw new ShapeError(`packSpmmBlock: blockPtr decreases at block row ${bi}`);
  const cols = new Uint16Array(blocks);
  for (let b = 0; b < blocks; b++) {
    if (!(f.cols[b] >= 0 && f.cols[b] < kb)) throw new ShapeError(`packSpmmBlock: block ${b} has column ${f.cols[b]}, outside [0, ${kb})`);
    cols[b] = f.cols[b];
  }
  const subs = int4 ? f.subs : undefined;
  if (subs) {
    if (subs.length !== blocks) throw new ShapeError(`packSpmmBlock: subs has ${subs.length} elements, expected one per block (${blocks})`);
    const bad = subs.findIndex((s) => s < 1 || s > BSR4_SUB_MAX);
    if (bad >= 0) throw new ShapeError(`packSpmmBlock: subs[${bad}] = ${subs[bad]}, expected [1, ${BSR4_SUB_MAX}]`);
  }
  return new SpmmBlockWeights(rt, n, k, kb * 4, blocks, rt.put(f.blockPtr, 16), rt.put(cols, 16), rt.put(vals, 16), int4 ? 4 : 8, subs ? rt.put(Uint16Array.from(subs), 16) : 0);
}

export async function spmmBlockGemm(rt: KernelHost, alloc: (bytes: number) => number, call: SpmmCall, w: SpmmBlockWeights): Promise<void> {
  const [kind, scale, bias] = spmmPrepare(rt, alloc, 'spmmBlockGemm', w, call);
  const { m } = call;
  const { n, k, kp } = w;
  if (m === 0 || n === 0) return;
  const signed = call.signed ? 1 : 0;
  if (m === 1) {
    // one int16 row of A - za (the row sum qs8_stage_c2 also writes is unused)
    const row = alloc(kp * 2 + 16), rowSum = alloc(16);
    rt.kernels.qs8_stage_c2(1, k, kp, call.a, signed, call.za, row, rowSum);
    await rt.parallelColumns(n, 4, (n0, n1) => ['qs8_spmm_bsr4_1x4', [n0 / 4, Math.ceil(n1 / 4), n, row, w.blockPtr, w.cols, w.vals, w.bits, w.subs, call.out, kind, scale, bias]], 64, w.blocks * 16);
    return;
  }
  const staged = alloc(Math.ceil(m / 8) * kp * 16 + 16);
  rt.kernels.spmm_stage_p8(m, k, kp, call.a, signed, call.za, staged);
  await rt.parallelColumns(n, 4, (n0, n1) => ['qs8_spmm_bsr4_8x4', [m, n0 / 4, Math.ceil(n1 / 4), n, kp, staged, w.blockPtr, w.cols, w.vals, w.bits, w.subs, call.out, call.outStride, kind, scale, bias]], 4, m * w.blocks * 16);
}

export function runSpmmBlock(rt: KernelHost, a: Int8Array | Uint8Array, m: number, za: number, w: SpmmBlockWeights, output: SpmmOutput): Promise<Int32Array | Float32Array> {
  return runSpmmOn(rt, 'runSpmmBlock', a, m, za, w, output, (r, alloc, call) => spmmBlockGemm(r, alloc, call, w));
}
