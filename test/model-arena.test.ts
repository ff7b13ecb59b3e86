// A model gives its activation arena back after a run far larger than its steady runs (a large
// batch), instead of keeping the largest arena for its life (issue 12); steady and alternating
// sizes keep theirs (no reallocation per run). Outputs stay the same across the reallocations.

import { describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../src/index.js';
import { ARENA_WINDOW } from '../src/model/arena-history.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();
const K = 128;
const bytes = new OnnxBuilder(13).input('x', ['n', K]).output('y').init('w', [K, K], randNormal(K * K, rng(1), 0.1))
  .node('MatMul', ['x', 'w'], 'h').node('Relu', ['h'], 'r').node('Add', ['r', 'x'], 'y').build();
const feeds = (n: number) => ({ x: { type: 'float32' as const, dims: [n, K], data: randNormal(n * K, rng(n)) } });
const SMALL = 8, BIG = 4096; // BIG: a few MiB of activations
const run = async (m: Model, n: number) => (await m.run(feeds(n))).y.data as Float32Array;

describe(`model arena (${SIMD} build)`, () => {
  it('a large batch after steady small ones: its arena goes back after the run, memory returns, outputs unchanged', async () => {
    const rt = rts.one;
    const m = loadModel(rt, bytes);
    try {
      const first = await run(m, SMALL);
      await run(m, SMALL);
      const steady = m.arenaBytes;
      const inUse = rt.heap.inUse;
      expect(steady).toBeGreaterThan(0);
      const big = await run(m, BIG);
      expect(big.length).toBe(BIG * K);
      expect(m.arenaBytes, 'given back after the spike').toBe(0);
      expect(rt.heap.inUse).toBeLessThanOrEqual(inUse - steady);
      expect(await run(m, SMALL)).toEqual(first);
      expect(m.arenaBytes).toBe(steady);
      expect(rt.heap.inUse).toBe(inUse);
    } finally {
      m.dispose();
    }
  });

  it(`a large first run: its arena is kept for ${ARENA_WINDOW} smaller runs, then given back`, async () => {
    const m = loadModel(rts.one, bytes);
    try {
      await run(m, BIG);
      const big = m.arenaBytes;
      const first = await run(m, SMALL);
      for (let i = 1; i < ARENA_WINDOW; i++) {
        expect(m.arenaBytes, `small run ${i}`).toBe(big);
        await run(m, SMALL);
      }
      expect(m.arenaBytes, `after ${ARENA_WINDOW} small runs`).toBe(0);
      expect(await run(m, SMALL)).toEqual(first);
      expect(m.arenaBytes).toBeGreaterThan(0);
      expect(m.arenaBytes * 100).toBeLessThan(big);
    } finally {
      m.dispose();
    }
  });

  it('alternating large and small runs keep the large arena (no reallocation per run)', async () => {
    const m = loadModel(rts.one, bytes);
    try {
      await run(m, BIG);
      const big = m.arenaBytes;
      for (let i = 0; i < 2 * ARENA_WINDOW; i++) {
        await run(m, i % 2 ? BIG : SMALL);
        expect(m.arenaBytes, `run ${i}`).toBe(big);
      }
    } finally {
      m.dispose();
    }
  });

  it('small arenas are kept whatever the sizes (below 1 MiB)', async () => {
    const m = loadModel(rts.one, bytes);
    try {
      await run(m, 1);
      await run(m, 1);
      await run(m, 64); // 64× the batch, but a small arena
      expect(m.arenaBytes).toBeGreaterThan(0);
    } finally {
      m.dispose();
    }
  });
});
