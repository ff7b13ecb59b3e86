// SDDMM kernel tester (sddmm-csr, sddmm-block): seeded int8 A (M x K) and B (N x K), a mask with an
// empty row and a full row at 0/10/50/90/100% density, run and compared bit for bit with the scalar
// reference (int32, and float32 with row and column scales), on every K remainder (K % 8 from 0 to
// 7, K < 8, K = 0), entries per row not a multiple of 4, extremes (-128/127), 1 and 2 threads.
// The references are checked against a dense product gathered at the mask.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError } from '../src/errors.js';
import {
  packSddmmBlock, packSddmmCsr, refSddmmBlock, refSddmmCsr, runSddmm, sddmmMaskBlock, sddmmMaskCsr, type SddmmOutput,
} from '../src/kernels.js';
import { SIMD, firstMismatch, randInt8, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const DENSITY = [0, 0.1, 0.5, 0.9, 1];
const KS = [0, 1, 3, 4, 7, 8, 9, 12, 15, 16, 17, 31, 64, 67, 128, 133];
const SHAPES: [number, number][] = [[1, 1], [1, 9], [3, 4], [5, 13], [9, 3], [17, 33]];

/** dense 0/1 mask M x N at `density`, row 0 full and row 1 empty (when M allows) */
function makeMask(m: number, n: number, density: number, r: () => number): Uint8Array {
  const mask = Uint8Array.from({ length: m * n }, () => (r() < density ? 1 : 0));
  if (m > 1) mask.fill(1, 0, n).fill(0, n, 2 * n);
  return mask;
}

function operands(m: number, n: number, k: number, seed: number, extremes: boolean): { a: Int8Array; b: Int8Array } {
  const r = rng(seed);
  if (!extremes) return { a: randInt8(m * k, r), b: randInt8(n * k, r) };
  // -128 x -128 everywhere but a few 127s: the largest sums a dot can reach, both signs
  return { a: Int8Array.from({ length: m * k }, (_, i) => (i % 5 ? -128 : 127)), b: Int8Array.from({ length: n * k }, (_, i) => (i % 7 ? -128 : 127)) };
}

function floatOutput(m: number, n: number, seed: number): SddmmOutput {
  const r = rng(seed + 99);
  return { kind: 'float32', rowScale: Float32Array.from({ length: m }, () => Math.fround(1e-3 + r() * 0.05)), colScale: Float32Array.from({ length: n }, () => Math.fround(r() * 0.1 - 0.02)) };
}

/** the dense product A Bᵀ (M x N, int32) */
function dense(a: Int8Array, b: Int8Array, m: number, n: number, k: number): Int32Array {
  const out = new Int32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += a[i * k + c] * b[j * k + c];
    out[i * n + j] = s;
  }
  return out;
}

describe(`SDDMM int8 (${SIMD} build)`, () => {
  it('sddmm-csr equals the scalar reference: every K remainder, densities 0-100%, empty and full rows, extremes, int32 and float32, 1 and 2 threads', async () => {
    const failures: string[] = [];
    let runs = 0, seed = 1;
    for (const [m, n] of SHAPES) for (const k of KS) for (const density of DENSITY) {
      seed++;
      const csr = sddmmMaskCsr(makeMask(m, n, density, rng(seed)), m, n);
      const { a, b } = operands(m, n, k, seed, seed % 4 === 0);
      for (const output of [{ kind: 'int32' } as const, floatOutput(m, n, seed)]) {
        const want = refSddmmCsr(a, b, k, csr, output);
        for (const rt of [rts.one, rts.two]) {
          const mask = packSddmmCsr(rt, csr);
          const got = await runSddmm(rt, a, b, k, mask, output);
          mask.dispose();
          runs++;
          const bad = firstMismatch(got, want);
          if (bad) failures.push(`${m}x${k}x${n} density ${density} ${output.kind} threads ${rt === rts.one ? 1 : 2}: ${bad}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(runs).toBeGreaterThan(1500);
  });

  it('sddmm-block equals the scalar reference: blocks 1x1, 2x3, 4x4, 8x8, 16x16 (blocks past M and N), int32 and float32', async () => {
    const failures: string[] = [];
    let seed = 500;
    for (const [bm, bn] of [[1, 1], [2, 3], [4, 4], [8, 8], [16, 16], [3, 5]]) for (const [m, n] of [[1, 1], [5, 13], [17, 33], [32, 32]]) for (const k of [1, 7, 8, 17, 64]) for (const density of [0, 0.05, 0.3, 1]) {
      seed++;
      const blk = sddmmMaskBlock(makeMask(m, n, density, rng(seed)), m, n, bm, bn);
      const { a, b } = operands(m, n, k, seed, seed % 5 === 0);
      for (const output of [{ kind: 'int32' } as const, floatOutput(m, n, seed)]) {
        const want = refSddmmBlock(a, b, k, blk, output);
        for (const rt of [rts.one, rts.two]) {
          const mask = packSddmmBlock(rt, blk);
          // the kernel writes every value, the zeros past M and N too (the buffer is not cleared)
          const got = await runSddmm(rt, a, b, k, mask, output);
          mask.dispose();
          const bad = firstMismatch(got, want);
          if (bad) failures.push(`${bm}x${bn} blocks ${m}x${k}x${n} density ${density} ${output.kind}: ${bad}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('the references equal the dense product gathered at the mask', () => {
    for (const [m, n, k, bm, bn, seed] of [[5, 13, 9, 2, 3, 1], [17, 33, 64, 4, 4, 2], [1, 1, 1, 1, 1, 3], [8, 7, 3, 8, 8, 4]]) {
      const dm = makeMask(m, n, 0.4, rng(seed));
      const { a, b } = operands(m, n, k, seed, false);
      const d = dense(a, b, m, n, k);
      const csr = sddmmMaskCsr(dm, m, n);
      expect([...refSddmmCsr(a, b, k, csr)]).toEqual([...csr.cols].map((j, p) => d[csr.rowPtr.findLastIndex((x) => x <= p) * n + j]));
      const blk = sddmmMaskBlock(dm, m, n, bm, bn);
      const got = refSddmmBlock(a, b, k, blk);
      for (let bi = 0; bi + 1 < blk.blockPtr.length; bi++) for (let q = blk.blockPtr[bi]; q < blk.blockPtr[bi + 1]; q++) for (let r = 0; r < bm; r++) for (let t = 0; t < bn; t++) {
        const i = bi * bm + r, j = blk.cols[q] * bn + t;
        expect(got[q * bm * bn + r * bn + t]).toBe(i < m && j < n ? d[i * n + j] : 0);
      }
      // every set entry of the dense mask is inside a stored block
      let covered = 0;
      for (let bi = 0; bi + 1 < blk.blockPtr.length; bi++) for (let q = blk.blockPtr[bi]; q < blk.blockPtr[bi + 1]; q++) for (let r = 0; r < bm; r++) for (let t = 0; t < bn; t++) {
        const i = bi * bm + r, j = blk.cols[q] * bn + t;
        if (i < m && j < n && dm[i * n + j]) covered++;
      }
      expect(covered).toBe(dm.reduce((s, v) => s + v, 0));
    }
  });

  it('bad arguments are typed errors naming the argument', async () => {
    const rt = rts.one;
    const csr = sddmmMaskCsr(Uint8Array.of(1, 0, 1, 1), 2, 2);
    expect(() => sddmmMaskCsr(new Uint8Array(3), 2, 2)).toThrow(/mask has 3/);
    expect(() => sddmmMaskBlock(new Uint8Array(4), 2, 2, 0, 2)).toThrow(/bm/);
    expect(() => packSddmmCsr(rt, { ...csr, cols: Int32Array.of(0, 0, 2) })).toThrow(/cols\[2\] = 2/);
    expect(() => packSddmmCsr(rt, { ...csr, rowPtr: Int32Array.of(0, 2, 1) })).toThrow(ShapeError);
    expect(() => packSddmmBlock(rt, { m: 2, n: 2, bm: 1, bn: 2, blockPtr: Int32Array.of(0, 1, 1), cols: Int32Array.of(1) })).toThrow(/cols\[0\] = 1/);
    const mask = packSddmmCsr(rt, csr);
    await expect(runSddmm(rt, new Int8Array(5), new Int8Array(6), 3, mask)).rejects.toThrow(/A has 5/);
    await expect(runSddmm(rt, new Int8Array(6), new Int8Array(5), 3, mask)).rejects.toThrow(/B has 5/);
    await expect(runSddmm(rt, new Int8Array(6), new Int8Array(6), 3, mask, { kind: 'float32', rowScale: new Float32Array(2), colScale: new Float32Array(3) })).rejects.toThrow(/output.colScale/);
    await expect(runSddmm(rt, new Uint8Array(6) as unknown as Int8Array, new Int8Array(6), 3, mask)).rejects.toThrow(ArgumentError);
    mask.dispose();
    await expect(runSddmm(rt, new Int8Array(6), new Int8Array(6), 3, mask)).rejects.toThrow(/disposed/);
  });
});
