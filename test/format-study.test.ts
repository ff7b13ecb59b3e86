// The format study: every format's SQNR on weights where the ordering is known, and on the
// built-in model's first tensors.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importOnnx, studyTensor, summarizeStudy, weightTensors } from '../src/index.js';
import { fuseGraph } from '../src/model/fuse.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { SIMD, rng } from './helpers.js';

/** Box-Muller normals from the seeded generator */
function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

describe.skipIf(SIMD !== 'baseline')('format study', () => {
  it('orders formats as their precision says on Gaussian weights, and picks a short-exponent FPx', () => {
    const n = 16, k = 256;
    const r7 = rng(7);
    const x = Float32Array.from({ length: n * k }, () => gaussian(r7));
    const r = studyTensor('gauss', x, n, k);
    // 8-bit formats well above 4-bit; int8 above fp8 e4m3 above e5m2 on bell-shaped data
    expect(r.sqnrDb.int8).toBeGreaterThan(r.sqnrDb['fp8-e4m3'] + 5);
    expect(r.sqnrDb['fp8-e4m3']).toBeGreaterThan(r.sqnrDb['fp8-e5m2'] + 4);
    expect(Math.min(r.sqnrDb['fp8-e5m2'], r.sqnrDb.int8)).toBeGreaterThan(Math.max(r.sqnrDb.int4, r.sqnrDb.ant4) + 3);
    // the searched FPx is never worse than the fixed E4M3 (E4M3 with a searched bias is a candidate)
    expect(r.sqnrDb['fpx-best']).toBeGreaterThanOrEqual(r.sqnrDb['fp8-e4m3'] - 0.01);
    expect(['E2M5', 'E3M4']).toContain(r.fpxFormat);
    // ANT picks the best of its types, so it is never below plain per-channel int4
    expect(r.sqnrDb.ant4).toBeGreaterThanOrEqual(r.sqnrDb.int4);
    expect(r.best8).toBe(r.sqnrDb['fpx-best'] > r.sqnrDb.int8 ? 'fpx-best' : 'int8');
  });

  it('on heavy-tailed weights an exponent format wins among 8-bit and a non-uniform type among 4-bit', () => {
    const n = 8, k = 512;
    const r = rng(11);
    // Student-t with 2 degrees of freedom: outliers far beyond the bulk
    const x = Float32Array.from({ length: n * k }, () => gaussian(r) / Math.sqrt((gaussian(r) ** 2 + gaussian(r) ** 2) / 2));
    const s = studyTensor('heavy', x, n, k);
    expect(s.sqnrDb['fpx-best']).toBeGreaterThan(s.sqnrDb.int8);
    expect(s.fpxFormat).not.toBe('E2M5');
    expect(s.antType).not.toBe('int4');
  });

  it('reads the built-in model\'s weight tensors (as they run: BatchNorm folded) and summarizes', () => {
    const { graph } = fuseGraph(importOnnx(new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')))));
    const tensors = weightTensors(graph);
    expect(tensors.length).toBeGreaterThan(40);
    const head = tensors.find((t) => t.name === 'linear_85.w_0')!;
    expect([head.n, head.k]).toEqual([6625, 120]);
    const rows = tensors.slice(0, 3).map((t) => studyTensor(t.name, t.data, t.n, t.k));
    const sum = summarizeStudy(rows);
    expect(sum.tensors).toBe(3);
    expect(Object.values(sum.wins8).reduce((a, b) => a + b, 0)).toBe(3);
    for (const r of rows) for (const v of Object.values(r.sqnrDb)) expect(Number.isFinite(v)).toBe(true);
  });
});
