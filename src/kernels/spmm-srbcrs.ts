// spmm-srbcrs: SR-BCRS-like vector rows (4 output channels sharing one k, each row block's vectors
// padded to a stride of 2) x dense int8 activations (assembly/sparse/spmm-srbcrs.ts; why this
// orientation: see there). The kernel reads a Srbcrs4Int8 (src/kernels/reference/spmm-srbcrs.ts)
// with uint16 columns and each step's 8 values interleaved; A is staged t8 (M >= 2) or as one int16
// row (M = 1, qs8_stage_c2).

import { ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { PackedWeights } from './packed.js';
import { SRBCRS_MAX_K, SRBCRS_STRIDE, SRBCRS_V, type Srbcrs4Int8 } from './reference/spmm-srbcrs.js';
import { runSpmmOn, spmmPrepare, type SpmmCall, type SpmmOutput, type SpmmWeights } from './spmm.js';

/** the largest K (the kernel's uint16 columns) */
export const SPMM_SRBCRS_MAX_K = SRBCRS_MAX_K;

export class SpmmSrbcrsWeights extends PackedWeights implements SpmmWeights {
  constructor(
    rt: KernelHost,
    readonly n: number,
    readonly k: number,
    readonly vectors: number,
    readonly vecPtr: number,
    readonly cols: number,
    readonly vals: number,
  ) {
    super(rt, [vecPtr, cols, vals]);
  }

  /** bytes of packed weights: 4 values + a 2-byte column per vector, 4 per row-block pointer */
  get bytes(): number {
    return this.vectors * 6 + (Math.ceil(this.n / SRBCRS_V) + 1) * 4;
  }
}

export function packSpmmSrbcrs(rt: KernelHost, f: Srbcrs4Int8): SpmmSrbcrsWeights {
  rt.check();
  const { n, k } = f;
  const nb = Math.ceil(n / SRBCRS_V);
  if (k > SPMM_SRBCRS_MAX_K) throw new ShapeError(`packSpmmSrbcrs: K must be <= ${SPMM_SRBCRS_MAX_K}, got ${k}`);
  const vectors = f.cols.length;
  if (f.vecPtr.length !== nb + 1 || f.vecPtr[0] !== 0 || f.vecPtr[nb] !== vectors || f.values.length !== vectors * SRBCRS_V) {
    throw new ShapeError(`packSpmmSrbcrs: vecPtr (${f.vecPtr.length}), cols (${vectors}) and values (${f.values.length}) do not describe ${nb} row blocks of 4x1 vectors`);
  }
  for (let bi = 0; bi < nb; bi++) {
    const d = f.vecPtr[bi + 1] - f.vecPtr[bi];
    if (d < 0 || d % SRBCRS_STRIDE !== 0) throw new ShapeError(`packSpmmSrbcrs: row block ${bi} has ${d} vectors, expected a multiple of ${SRBCRS_STRIDE} >= 0`);
  }
  for (let v = 0; v < vectors; v++) {
    if (!(f.cols[v] >= 0 && f.cols[v] < k)) throw new ShapeError(`packSpmmSrbcrs: vector ${v} has column ${f.cols[v]}, outside [0, ${k})`);
  }
  // a step's two vectors as | r0: v v+1 | r1 | r2 | r3 |: the kernel's weight pairs
  const vals = new Int8Array(vectors * SRBCRS_V);
  for (let v = 0; v < vectors; v += 2) {
    for (let r = 0; r < SRBCRS_V; r++) {
      vals[v * 4 + r * 2] = f.values[v * 4 + r];
      vals[v * 4 + r * 2 + 1] = f.values[(v + 1) * 4 + r];
    }
  }
  return new SpmmSrbcrsWeights(rt, n, k, vectors, rt.put(f.vecPtr, 16), rt.put(Uint16Array.from(f.cols), 16), rt.put(vals, 16));
}

export async function spmmSrbcrsGemm(rt: KernelHost, alloc: (bytes: number) => number, call: SpmmCall, w: SpmmSrbcrsWeights): Promise<void> {
  const [kind, scale, bias] = spmmPrepare(rt, alloc, 'spmmSrbcrsGemm', w, call);
  const { m } = call;
  const { n, k } = w;
  if (m === 0 || n === 0) return;
  const signed = call.signed ? 1 : 0;
  if (m === 1) {
    // one int16 row of A - za (the row sum qs8_stage_c2 also writes is unused)
    const kp = Math.ceil(k / 4) * 4;
    const row = alloc(kp * 2 + 16), rowSum = alloc(16);
    rt.kernels.qs8_stage_c2(1, k, kp, call.a, signed, call.za, row, rowSum);
    await rt.parallelColumns(n, 4, (n0, n1) => ['qs8_spmm_srbcrs_1x4', [n0 / 4, Math.ceil(n1 / 4), n, row, w.vecPtr, w.cols, w.vals, call.out, kind, scale, bias]], 64, w.vectors * 4);
    return;
  }
  const staged = alloc(Math.ceil(m / 8) * k * 16 + 16);
  rt.kernels.spmm_stage_t8(m, k, call.a, signed, call.za, staged);
  await rt.parallelColumns(n, 4, (n0, n1) => ['qs8_spmm_srbcrs_8x4', [m, n0 / 4, Math.ceil(n1 / 4), n, k, staged, w.vecPtr, w.cols, w.vals, call.out, call.outStride, kind, scale, bias]], 4, m * w.vectors * 4);
}

export function runSpmmSrbcrs(rt: KernelHost, a: Int8Array | Uint8Array, m: number, za: number, w: SpmmSrbcrsWeights, output: SpmmOutput): Promise<Int32Array | Float32Array> {
  return runSpmmOn(rt, 'runSpmmSrbcrs', a, m, za, w, output, (r, alloc, call) => spmmSrbcrsGemm(r, alloc, call, w));
}
