// Magnitude pruning (src/quant/prune.ts): the count pruned, that no kept weight (or block) is smaller
// than a pruned one, the N:M and block structure, partial edge groups, ties, and bad arguments.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ShapeError } from '../src/errors.js';
import { applyMask, pruneBlocks, pruneMask, pruneNM, pruneUnstructured, PRUNE_BLOCKS } from '../src/quant/prune.js';
import { randNormal, rng } from './helpers.js';

const count0 = (m: Uint8Array) => m.reduce((s, v) => s + (v ? 0 : 1), 0);

describe('magnitude pruning', () => {
  it('unstructured: prunes round(target * size) weights, never a larger |w| than one kept', () => {
    for (const [n, k, target] of [[7, 13, 0.5], [16, 64, 0.9], [3, 5, 0], [3, 5, 1], [1, 1, 0.4], [0, 4, 0.5]] as const) {
      const w = randNormal(n * k, rng(n * 31 + k));
      const { mask, sparsity } = pruneUnstructured(w, n, k, target);
      expect(count0(mask)).toBe(Math.round(target * n * k));
      expect(sparsity).toBeCloseTo(n * k ? count0(mask) / (n * k) : 0, 12);
      let maxPruned = -1, minKept = Infinity;
      for (let i = 0; i < w.length; i++) {
        if (mask[i]) minKept = Math.min(minKept, Math.abs(w[i]));
        else maxPruned = Math.max(maxPruned, Math.abs(w[i]));
      }
      expect(maxPruned).toBeLessThanOrEqual(minKept);
    }
  });

  it('unstructured: ties are broken by position (lower index pruned first)', () => {
    const { mask } = pruneUnstructured(Float32Array.of(1, -1, 1, 2, 1), 1, 5, 0.4);
    expect([...mask]).toEqual([0, 0, 1, 1, 1]);
  });

  it('2:4 keeps the two largest |w| of every group of 4 along K; a short last group keeps min(2, len)', () => {
    for (const [n, k] of [[5, 16], [3, 7], [2, 1], [4, 6]] as const) {
      const w = randNormal(n * k, rng(k));
      const { mask } = pruneNM(w, n, k, 2, 4);
      for (let r = 0; r < n; r++) {
        for (let g = 0; g < k; g += 4) {
          const idx = Array.from({ length: Math.min(4, k - g) }, (_, i) => r * k + g + i);
          const kept = idx.filter((i) => mask[i]);
          expect(kept.length).toBe(Math.min(2, idx.length));
          const pruned = idx.filter((i) => !mask[i]);
          for (const p of pruned) for (const q of kept) expect(Math.abs(w[p])).toBeLessThanOrEqual(Math.abs(w[q]));
        }
      }
    }
    expect([...pruneNM(Float32Array.of(3, 3, 3, 3), 1, 4, 2, 4).mask]).toEqual([1, 1, 0, 0]);
  });

  it('blocks (1x4, 4x1, 4x4, 8x1): whole blocks go, the smallest L2 norms first, partial edge blocks included', () => {
    for (const [rows, cols] of PRUNE_BLOCKS) {
      for (const [n, k, target] of [[16, 16, 0.75], [13, 10, 0.5], [8, 4, 0.9], [5, 3, 1], [4, 4, 0]] as const) {
        const w = randNormal(n * k, rng(rows * 100 + cols * 10 + n));
        const { mask } = pruneBlocks(w, n, k, rows, cols, target);
        const br = Math.ceil(n / rows), bc = Math.ceil(k / cols);
        const norms = new Float64Array(br * bc);
        const state = new Int8Array(br * bc).fill(-1);
        for (let r = 0; r < n; r++) {
          for (let c = 0; c < k; c++) {
            const b = Math.floor(r / rows) * bc + Math.floor(c / cols);
            norms[b] += w[r * k + c] ** 2;
            if (state[b] === -1) state[b] = mask[r * k + c];
            expect(mask[r * k + c]).toBe(state[b]); // constant within a block
          }
        }
        const prunedBlocks = [...state].filter((s) => s === 0).length;
        expect(prunedBlocks).toBe(Math.round(target * br * bc));
        const maxPruned = Math.max(-1, ...[...norms].filter((_, b) => !state[b]));
        const minKept = Math.min(Infinity, ...[...norms].filter((_, b) => state[b]));
        expect(maxPruned).toBeLessThanOrEqual(minKept);
      }
    }
  });

  it('pruneMask dispatches by pattern; applyMask zeroes what the mask prunes', () => {
    const w = randNormal(8 * 8, rng(5));
    expect(pruneMask(w, 8, 8, { kind: 'nm', n: 2, m: 4 }, 0).sparsity).toBe(0.5);
    expect(pruneMask(w, 8, 8, { kind: 'block', rows: 4, cols: 4 }, 0.75).sparsity).toBe(0.75);
    const { mask } = pruneMask(w, 8, 8, { kind: 'unstructured' }, 0.25);
    const z = applyMask(w, mask);
    for (let i = 0; i < w.length; i++) expect(z[i]).toBe(mask[i] ? w[i] : 0);
  });

  it('bad arguments are typed errors naming the argument', () => {
    const w = new Float32Array(6);
    expect(() => pruneUnstructured(w, 2, 4, 0.5)).toThrow(ShapeError);
    expect(() => pruneUnstructured(w, 2, 3, 1.5)).toThrow(/target sparsity/);
    expect(() => pruneUnstructured(w, 2, 3, NaN)).toThrow(ArgumentError);
    expect(() => pruneNM(w, 2, 3, 5, 4)).toThrow(/kept per group/);
    expect(() => pruneNM(w, 2, 3, 1, 0)).toThrow(/group size/);
    expect(() => pruneBlocks(w, 2, 3, 0, 4, 0.5)).toThrow(/rows/);
    expect(() => pruneUnstructured(w, -1, 3, 0.5)).toThrow(/n must be/);
    expect(() => pruneMask(w, 2, 3, { kind: 'diagonal' } as never, 0.5)).toThrow(ArgumentError);
    expect(() => applyMask(w, new Uint8Array(5))).toThrow(ShapeError);
  });
});
