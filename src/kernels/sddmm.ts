// sddmm-csr / sddmm-block: sampled dense-dense matmul, int8 Q x int8 K -> int32 or float32 at a
// sparse mask (assembly/sparse/sddmm.ts). The mask is packed once (packSddmmCsr, packSddmmBlock:
// checked, copied to linear memory); each call takes A (M x K) and B (N x K) in linear memory
// (sddmmGemm) or as host arrays (runSddmm). Rows (block rows) are split across threads.

import { ArgumentError, ShapeError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import { PackedWeights } from './packed.js';
import type { SddmmBlockMask, SddmmCsrMask, SddmmOutput } from './reference/sddmm.js';

export type { SddmmOutput };

/** A packed mask: M x N, and the number of outputs a call writes. */
export class SddmmMask extends PackedWeights {
  constructor(
    rt: KernelHost,
    readonly kind: 'csr' | 'block',
    readonly m: number,
    readonly n: number,
    /** csr: 1 x 1; block: the block's rows and columns */
    readonly bm: number,
    readonly bn: number,
    /** outputs per call: the entries (csr) or blocks x bm x bn */
    readonly size: number,
    readonly ptr: number,
    readonly cols: number,
  ) {
    super(rt, [ptr, cols]);
  }
}

/** offsets from 0 to `total` that never decrease, and every column in [0, limit) */
function checkMask(fn: string, name: string, ptr: Int32Array, rows: number, cols: Int32Array, limit: number): void {
  if (ptr.length !== rows + 1 || ptr[0] !== 0 || ptr[rows] !== cols.length) throw new ShapeError(`${fn}: ${name} has ${ptr.length} offsets from ${ptr[0]} to ${ptr[ptr.length - 1]}, expected ${rows + 1} from 0 to cols.length = ${cols.length}`);
  for (let i = 0; i < rows; i++) if (ptr[i + 1] < ptr[i]) throw new ShapeError(`${fn}: ${name} decreases at ${i}`);
  for (let p = 0; p < cols.length; p++) if (!(cols[p] >= 0 && cols[p] < limit)) throw new ShapeError(`${fn}: cols[${p}] = ${cols[p]}, outside [0, ${limit})`);
}

export function packSddmmCsr(rt: KernelHost, mask: SddmmCsrMask): SddmmMask {
  rt.check();
  checkSizes('packSddmmCsr', { m: mask.m, n: mask.n });
  checkMask('packSddmmCsr', 'rowPtr', mask.rowPtr, mask.m, mask.cols, mask.n);
  return new SddmmMask(rt, 'csr', mask.m, mask.n, 1, 1, mask.cols.length, rt.put(mask.rowPtr, 16), rt.put(mask.cols, 16));
}

export function packSddmmBlock(rt: KernelHost, mask: SddmmBlockMask): SddmmMask {
  rt.check();
  checkSizes('packSddmmBlock', { m: mask.m, n: mask.n });
  checkSizes('packSddmmBlock', { bm: mask.bm, bn: mask.bn }, 1);
  const rows = Math.ceil(mask.m / mask.bm);
  checkMask('packSddmmBlock', 'blockPtr', mask.blockPtr, rows, mask.cols, Math.ceil(mask.n / mask.bn));
  return new SddmmMask(rt, 'block', mask.m, mask.n, mask.bm, mask.bn, mask.cols.length * mask.bm * mask.bn, rt.put(mask.blockPtr, 16), rt.put(mask.cols, 16));
}

/** An SDDMM on buffers in linear memory: A (M x K, row stride lda bytes), B (N x K, stride ldb), out (mask.size int32 or float32). */
export interface SddmmCall {
  k: number;
  a: number;
  lda: number;
  b: number;
  ldb: number;
  output: SddmmOutput;
  out: number;
}

export async function sddmmGemm(rt: KernelHost, alloc: (bytes: number) => number, call: SddmmCall, mask: SddmmMask): Promise<void> {
  const fn = 'sddmmGemm';
  if (mask.disposed) throw new ArgumentError(`${fn}: the packed mask was disposed`);
  const { k, lda, ldb, output: o } = call;
  checkSizes(fn, { k, lda, ldb });
  if (lda < k || ldb < k) throw new ArgumentError(`${fn}: lda and ldb must be >= K = ${k}, got ${lda} and ${ldb}`);
  let kind = 0, rs = 0, cs = 0;
  if (o.kind === 'float32') {
    if (o.rowScale?.length !== mask.m) throw new ShapeError(`${fn}: output.rowScale has ${o.rowScale?.length} elements, expected M = ${mask.m}`);
    if (o.colScale?.length !== mask.n) throw new ShapeError(`${fn}: output.colScale has ${o.colScale?.length} elements, expected N = ${mask.n}`);
    kind = 1;
    rs = rt.putPadded(alloc, Float32Array, o.rowScale, mask.m + 4);
    cs = rt.putPadded(alloc, Float32Array, o.colScale, mask.n + 4);
  } else if (o.kind !== 'int32') {
    throw new ArgumentError(`${fn}: output.kind must be 'int32' or 'float32', got ${(o as { kind: unknown }).kind}`);
  }
  if (mask.size === 0) return;
  const work = mask.size * Math.max(k, 1);
  if (mask.kind === 'csr') {
    await rt.parallelRows(mask.m, 1, (m0, m1) => ['qs8_sddmm_csr_1x4', [m0, m1, k, call.a, lda, call.b, ldb, mask.ptr, mask.cols, call.out, kind, rs, cs]], 1, work);
  } else {
    const { m, n, bm, bn } = mask;
    await rt.parallelRows(Math.ceil(m / bm), 1, (b0, b1) => ['qs8_sddmm_block_1x4', [b0, b1, m, n, bm, bn, k, call.a, lda, call.b, ldb, mask.ptr, mask.cols, call.out, kind, rs, cs]], 1, work);
  }
}

/** The SDDMM on host arrays: A (M x K) and B (N x K) int8, out in the mask's order. */
export async function runSddmm(rt: KernelHost, a: Int8Array, b: Int8Array, k: number, mask: SddmmMask, output: SddmmOutput = { kind: 'int32' }): Promise<Int32Array | Float32Array> {
  rt.check();
  const fn = 'runSddmm';
  if (mask.disposed) throw new ArgumentError(`${fn}: the packed mask was disposed`);
  checkSizes(fn, { k });
  if (!(a instanceof Int8Array) || !(b instanceof Int8Array)) throw new ArgumentError(`${fn}: A and B must be Int8Array`);
  if (a.length !== mask.m * k) throw new ShapeError(`${fn}: A has ${a.length} elements, expected M*K = ${mask.m}*${k}`);
  if (b.length !== mask.n * k) throw new ShapeError(`${fn}: B has ${b.length} elements, expected N*K = ${mask.n}*${k}`);
  return rt.scoped(async (alloc) => {
    const ap = rt.putPadded(alloc, Int8Array, a, a.length + 16), bp = rt.putPadded(alloc, Int8Array, b, b.length + 16);
    const out = alloc(Math.max(mask.size * 4, 16));
    await sddmmGemm(rt, alloc, { k, a: ap, lda: k, b: bp, ldb: k, output, out }, mask);
    return output.kind === 'float32' ? rt.read(Float32Array, out, mask.size) : rt.read(Int32Array, out, mask.size);
  });
}
