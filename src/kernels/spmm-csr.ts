// spmm-csr: int8 CSR weights x dense int8 activations (assembly/sparse/spmm-csr.ts). Packs a CsrInt8
// (src/kernels/reference/spmm.ts) into the kernel's pair layout, stages A (t8, or one int16 row for
// M = 1) and runs the kernel.

import { ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { PackedWeights } from './packed.js';
import type { CsrInt8 } from './reference/spmm.js';
import { runSpmmOn, spmmPrepare, type SpmmCall, type SpmmOutput, type SpmmWeights } from './spmm.js';

/** Column indices are uint16 in the kernel. */
export const SPMM_CSR_MAX_K = 65536;

export class SpmmCsrWeights extends PackedWeights implements SpmmWeights {
  constructor(
    rt: KernelHost,
    readonly n: number,
    readonly k: number,
    /** stored entries (the nonzeros), and pairs after padding each row to an even count */
    readonly nnz: number,
    readonly pairs: number,
    readonly rowPtr: number,
    readonly cols: number,
    readonly vals: number,
  ) {
    super(rt, [rowPtr, cols, vals]);
  }

  /** bytes of packed weights: 2 (column) + 1 (value) per entry, 4 per row pointer */
  get bytes(): number {
    return this.pairs * 6 + (this.n + 1) * 4;
  }
}

export function packSpmmCsr(rt: KernelHost, f: CsrInt8): SpmmCsrWeights {
  rt.check();
  const { n, k } = f;
  if (k > SPMM_CSR_MAX_K) throw new ShapeError(`packSpmmCsr: K must be <= ${SPMM_CSR_MAX_K}, got ${k}`);
  if (f.rowPtr.length !== n + 1 || f.rowPtr[n] !== f.cols.length || f.values.length !== f.cols.length) {
    throw new ShapeError(`packSpmmCsr: rowPtr (${f.rowPtr.length}), cols (${f.cols.length}) and values (${f.values.length}) do not describe ${n} rows`);
  }
  const rowPtr = new Int32Array(n + 1);
  for (let r = 0; r < n; r++) {
    const len = f.rowPtr[r + 1] - f.rowPtr[r];
    if (len < 0) throw new ShapeError(`packSpmmCsr: rowPtr decreases at row ${r}`);
    rowPtr[r + 1] = rowPtr[r] + ((len + 1) >> 1);
  }
  const pairs = rowPtr[n];
  const cols = new Uint16Array(pairs * 2), vals = new Int8Array(pairs * 2);
  for (let r = 0; r < n; r++) {
    let o = rowPtr[r] * 2;
    for (let p = f.rowPtr[r]; p < f.rowPtr[r + 1]; p++, o++) {
      const c = f.cols[p];
      if (!(c >= 0 && c < k)) throw new ShapeError(`packSpmmCsr: row ${r} has column ${c}, outside [0, ${k})`);
      cols[o] = c;
      vals[o] = f.values[p];
    }
    // an odd row's last pair: (column 0, value 0), already zero
  }
  return new SpmmCsrWeights(rt, n, k, f.cols.length, pairs, rt.put(rowPtr, 16), rt.put(cols, 16), rt.put(vals, 16));
}

/** The SpMM on buffers in linear memory (see SpmmCall). */
export async function spmmCsrGemm(rt: KernelHost, alloc: (bytes: number) => number, call: SpmmCall, w: SpmmCsrWeights): Promise<void> {
  const [kind, scale, bias] = spmmPrepare(rt, alloc, 'spmmCsrGemm', w, call);
  const { m, n, k } = { m: call.m, n: w.n, k: w.k };
  if (m === 0 || n === 0) return;
  if (m === 1) {
    // one int16 row of A - za (the row sum qs8_stage_c2 also writes is unused)
    const row = alloc(k * 2 + 16), rowSum = alloc(16);
    rt.kernels.qs8_stage_c2(1, k, k, call.a, call.signed ? 1 : 0, call.za, row, rowSum);
    await rt.parallelColumns(n, 8, (n0, n1) => ['qs8_spmm_csr_1x1', [n0, n1, row, w.rowPtr, w.cols, w.vals, call.out, kind, scale, bias]], 64, w.nnz);
    return;
  }
  const staged = alloc(Math.ceil(m / 8) * k * 16 + 16);
  rt.kernels.spmm_stage_t8(m, k, call.a, call.signed ? 1 : 0, call.za, staged);
  await rt.parallelColumns(n, 8, (n0, n1) => ['qs8_spmm_csr_8x1', [m, n0, n1, k, staged, w.rowPtr, w.cols, w.vals, call.out, call.outStride, kind, scale, bias]], 8, m * w.nnz);
}

/** out (M x N) = (A - za) x Wᵀ over W's stored entries, int32 or float32. */
export function runSpmmCsr(rt: KernelHost, a: Int8Array | Uint8Array, m: number, za: number, w: SpmmCsrWeights, output: SpmmOutput): Promise<Int32Array | Float32Array> {
  return runSpmmOn(rt, 'runSpmmCsr', a, m, za, w, output, (r, alloc, call) => spmmCsrGemm(r, alloc, call, w));
}
