// numpy-style matmul shapes for the MatMul family (MatMul, MatMulInteger, QLinearMatMul):
// A [..., M, K] x B [..., K, N], batch dims broadcast; a 1-D A is a row, a 1-D B a column.

import { ShapeError } from '../../errors.js';

export interface MatMulPlan {
  m: number;
  k: number;
  n: number;
  /** number of (A, B) matrix pairs after broadcasting the batch dims */
  batch: number;
  /** element offsets of A's and B's matrices for each batch entry */
  aOffsets: number[];
  bOffsets: number[];
  outDims: number[];
}

/** The plan for A x B; errors are ShapeErrors prefixed with `where` (an operator label). */
export function planMatMul(aDims: readonly number[], bDims: readonly number[], aName = 'A', bName = 'B', where = ''): MatMulPlan {
  const at = where ? `${where}: ` : '';
  if (aDims.length === 0) throw new ShapeError(`${at}${aName}: matmul needs at least 1 dimension, got a scalar`);
  if (bDims.length === 0) throw new ShapeError(`${at}${bName}: matmul needs at least 1 dimension, got a scalar`);
  const a = aDims.length === 1 ? [1, aDims[0]] : [...aDims];
  const b = bDims.length === 1 ? [bDims[0], 1] : [...bDims];
  const m = a[a.length - 2];
  const k = a[a.length - 1];
  const kb = b[b.length - 2];
  const n = b[b.length - 1];
  if (k !== kb) {
    throw new ShapeError(`${at}${aName} [${aDims.join(', ')}] x ${bName} [${bDims.join(', ')}]: inner dimensions differ (${k} vs ${kb})`);
  }
  const aBatch = a.slice(0, -2);
  const bBatch = b.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pa = [...Array(rank - aBatch.length).fill(1), ...aBatch];
  const pb = [...Array(rank - bBatch.length).fill(1), ...bBatch];
  const batchDims: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) {
      throw new ShapeError(`${at}${aName} [${aDims.join(', ')}] and ${bName} [${bDims.join(', ')}]: batch dimensions ${pa[i]} and ${pb[i]} don't broadcast`);
    }
    batchDims.push(pa[i] === 1 ? pb[i] : pa[i]);
  }
  const batch = batchDims.reduce((x, y) => x * y, 1);
  const aOffsets: number[] = [];
  const bOffsets: number[] = [];
  const idx = new Array(rank).fill(0);
  for (let t = 0; t < batch; t++) {
    let ao = 0;
    let bo = 0;
    for (let i = 0; i < rank; i++) {
      ao = ao * pa[i] + (pa[i] === 1 ? 0 : idx[i]);
      bo = bo * pb[i] + (pb[i] === 1 ? 0 : idx[i]);
    }
    aOffsets.push(ao * m * k);
    bOffsets.push(bo * k * n);
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < batchDims[i]) break;
      idx[i] = 0;
    }
  }
  const outDims = [...batchDims];
  if (aDims.length > 1) outDims.push(m);
  if (bDims.length > 1) outDims.push(n);
  return { m, k, n, batch, aOffsets, bOffsets, outDims };
}

/** Whether one GEMM over all rows does it: B shared by every batch entry, A's matrices back to back. */
export function isSingleGemm(p: MatMulPlan): boolean {
  return p.bOffsets.every((o) => o === 0) && p.aOffsets.every((o, i) => o === i * p.m * p.k);
}
