// What a 4-bit decoder holds once loaded (issue 15: peak memory ≤ 1.3× the file): its initializers
// are views into the file's bytes, not copies; a MatMulNBits weight is held once, packed in wasm
// memory, and the graph's tensors decode the file's exact bytes from there (restored on dispose);
// a ModelSource load reads each large initializer once, an unused one never. Memory properties,
// counted in bytes the model holds, not timings.

import { describe, expect, it } from 'vitest';
import { SIMD, rng, useRuntimes } from './helpers.js';
import { llmModel, TINY } from './llm-model.mjs';
import { generate, loadModel, type Model, type ModelSource } from '../src/index.js';
import { packQb4 } from '../src/kernels.js';
import { fromMatMulNBits, nibblesOfMatMulNBits, toMatMulNBits } from '../src/quant/int4.js';
import { isReleased } from '../src/model/released-weights.js';
import { importGraph } from '../src/model/model.js';
import { graphFingerprint } from '../src/model/fingerprint.js';
import type { Graph, HostTensor } from '../src/model/graph.js';

const rts = useRuntimes();
// tensors large enough to be read from a ModelSource on use (≥ 4 KiB); K a whole number of blocks of
// 32, so every MatMulNBits weight can be released
const C = { ...TINY, vocab: 256, hidden: 128, heads: 4, kvHeads: 2, headSize: 32, ffn: 256 };
const bytes: Uint8Array = llmModel(C);
const prompt = [3, 17, 42, 5, 60, 11];

const nbitsTensors = (g: Graph): HostTensor[] => g.nodes.filter((n) => n.op === 'MatMulNBits').flatMap((n) => [g.constants.get(n.inputs[1])!, g.constants.get(n.inputs[2])!]);
/** bytes of initializer data the graph holds itself: not views into `file`, not released to a layer */
const ownBytes = (g: Graph, file: Uint8Array) => [...g.constants.values()].filter((t) => !isReleased(t) && t.data.buffer !== file.buffer).reduce((s, t) => s + t.data.byteLength, 0);
const heldBytes = (g: Graph) => [...g.constants.values()].filter((t) => !isReleased(t)).reduce((s, t) => s + t.data.byteLength, 0);

function sourceOf(file: Uint8Array): ModelSource & { reads: number; bytesRead: number; largest: number } {
  const s = {
    size: file.length, reads: 0, bytesRead: 0, largest: 0,
    read(offset: number, length: number) {
      s.reads++;
      s.bytesRead += length;
      s.largest = Math.max(s.largest, length);
      return file.slice(offset, offset + length);
    },
  };
  return s;
}

describe(`decode memory (${SIMD} build)`, () => {
  it('holds the initializers as views into the file: at load only misaligned ones are copied', () => {
    const model = loadModel(rts.one, bytes, { keepSource: false });
    const all = heldBytes(model.graph), copied = ownBytes(model.graph, bytes);
    // the file is (almost) all initializer data, counted once
    expect(all).toBeLessThanOrEqual(bytes.length);
    // 4-bit weights are never copied; a float32 tensor only when its offset in the file is not a multiple of 4
    const consts = [...model.graph.constants.values()];
    expect(consts.filter((t) => t.type === 'uint8').every((t) => t.data.buffer === bytes.buffer)).toBe(true);
    expect(copied).toBeLessThanOrEqual(consts.filter((t) => t.type === 'float32').reduce((s, t) => s + t.data.byteLength, 0));
    expect(copied).toBeLessThan(all / 2);
    model.dispose();
  });

  it('holds each 4-bit weight once after its layer packed it, and decodes the file\'s exact bytes from the packed copy', async () => {
    const model = loadModel(rts.one, bytes, { keepSource: false });
    const fresh = importGraph(bytes).graph;
    const want = nbitsTensors(fresh).map((t) => Array.from(t.data));
    const fingerprint = graphFingerprint(fresh);
    await generate(model, prompt, { maxNewTokens: 3 });
    const nb = nbitsTensors(model.graph);
    expect(nb.length).toBe(C.layers * 7 * 2 + 2);
    expect(nb.every(isReleased)).toBe(true);
    // what the model holds: packed weights plus the initializers not released, at most the file (not twice)
    expect(model.weightBytes + heldBytes(model.graph)).toBeLessThanOrEqual(bytes.length * 1.1);
    expect(nb.map((t) => Array.from(t.data))).toEqual(want);
    expect(graphFingerprint(model.graph)).toBe(fingerprint);
    // disposing puts the bytes back: models sharing the graph still read them
    model.dispose();
    expect(nb.some(isReleased)).toBe(false);
    expect(nb.map((t) => Array.from(t.data))).toEqual(want);
  });

  it('loads from a ModelSource without reading the file whole, and generates the same tokens', async () => {
    const source = sourceOf(bytes);
    const fromSource = loadModel(rts.one, source);
    // the skeleton: structure and small tensors only
    expect(source.bytesRead).toBeLessThan(bytes.length / 4);
    const fromBytes = loadModel(rts.one, bytes, { keepSource: false });
    const a = await generate(fromSource, prompt, { maxNewTokens: 6 }), b = await generate(fromBytes, prompt, { maxNewTokens: 6 });
    expect(a.tokens).toEqual(b.tokens);
    // every large initializer read at most once (the skeleton's walk reads a few bytes twice), the 4-bit ones then released
    expect(source.bytesRead).toBeLessThanOrEqual(bytes.length * 1.05);
    expect(nbitsTensors(fromSource.graph).every(isReleased)).toBe(true);
    for (const m of [fromSource, fromBytes] as Model[]) m.dispose();
  });

  it('gathers the embedding from a ModelSource row by row: the table is never read whole', async () => {
    const tableBytes = C.vocab * C.hidden * 4; // float32, as transformers.js q4 exports store it
    const fresh = sourceOf(bytes), m2 = loadModel(rts.one, fresh);
    const r = await generate(m2, prompt, { maxNewTokens: 5 });
    expect(r.tokens[0]).toHaveLength(5);
    // every other initializer read once, the table's rows only for the tokens fed (prompt + 4): far below the table
    const fed = prompt.length + 4, rowBytes = tableBytes / C.vocab;
    expect(fresh.largest).toBeLessThan(tableBytes);
    expect(fresh.bytesRead).toBeLessThanOrEqual(bytes.length * 1.05 - tableBytes + fed * rowBytes);
    m2.dispose();
  });

  it('sizes the KV cache once per generation, updates it in place in the arena, and reuses the per-step arrays', async () => {
    const model = loadModel(rts.one, bytes, { keepSource: false });
    const seen = new Set<Float32Array>();
    const news = 70; // 6 + 70 rows: more than one 64-row chunk, within the 96 rotary positions
    await generate(model, prompt, { maxNewTokens: news, onToken: (s) => seen.add(s.logits as Float32Array) });
    // one plan for the prompt, one for every decode step (growing by chunks made one per chunk, each a larger arena and cache)
    expect(model.plans.size).toBe(2);
    expect(seen.size).toBe(1);
    // the decode plan writes each present over its past: the step's arena holds the cache once
    const rows = prompt.length + news - 1;
    const dims: Record<string, number[]> = { input_ids: [1, 1], attention_mask: [1, rows] };
    for (let l = 0; l < C.layers; l++) for (const kv of ['key', 'value']) dims[`past_key_values.${l}.${kv}`] = [1, C.kvHeads, rows, C.headSize];
    const plan = model.plan(dims);
    expect(model.plans.size).toBe(2); // the same plan the generation used
    for (let l = 0; l < C.layers; l++) for (const kv of ['key', 'value']) {
      const past = plan.inputs.find((v) => v.name === `past_key_values.${l}.${kv}`)!;
      const present = plan.outputs[model.graph.outputs.indexOf(`present.${l}.${kv}`)];
      expect(present.offset).toBe(past.offset);
    }
    model.dispose();
  });

  it('unpacks qb4 weights to the blocks they were packed from', () => {
    const r = rng(7);
    for (const [k, n, bs, zp] of [[64, 24, 32, false], [96, 17, 32, true], [128, 40, 64, false]] as const) {
      const nb = k / bs;
      const w = {
        k, n, blockSize: bs, q: Uint8Array.from({ length: n * k }, () => Math.floor(r() * 16)),
        scales: Float32Array.from({ length: n * nb }, () => r() + 0.01), zeroPoints: zp ? Uint8Array.from({ length: n * nb }, () => Math.floor(r() * 16)) : null,
      };
      for (const layout of SIMD === 'relaxed' ? (['c4', 's4'] as const) : (['s4'] as const)) {
        const p = packQb4(rts.one, w, { layout });
        const u = p.unpack();
        expect([u.k, u.n, u.blockSize]).toEqual([k, n, bs]);
        expect(u.q).toEqual(w.q);
        expect(u.scales).toEqual(w.scales);
        expect(u.zeroPoints).toEqual(w.zeroPoints);
        p.dispose();
        expect(() => p.unpack()).toThrow(/after dispose/);
        // a MatMulNBits file's bytes packed as they are (codes two per byte) give the same panels
        const m = toMatMulNBits(w);
        const fromFile = packQb4(rts.one, nibblesOfMatMulNBits(m), { layout });
        expect(fromFile.unpack()).toEqual(fromMatMulNBits(m));
        fromFile.dispose();
      }
    }
  });
});
