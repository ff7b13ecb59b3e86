// int4-sparse (src/formats/int4-sparse.ts): 4x4 blocks pruned, the rest int4 with a multiplier per
// block of the row scales (or per channel alone: scales 'channel'), on spmm-block's kernel with
// nibble weights. The table-driven tests (test/formats.test.ts) run it on
// remainder shapes with save/load; here: the sparsity and codes it gives, a model through
// quantizeModel against the reference bit for bit and saved/loaded, OBC's joint pruning + 4-bit
// quantization with less output error than magnitude + round to nearest, damaged records and bad
// options as typed errors.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ModelError, loadModel, loadQuantized, quantizeModel, readSafetensors, saveQuantized, type Model } from '../src/index.js';
import { int4SparseFormat as fmt, type Int4SparseWeights } from '../src/formats/int4-sparse.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { forge } from './saved-forge.js';

const rts = useRuntimes();

describe(`int4-sparse (${SIMD} build)`, () => {
  it("prunes whole 4x4 blocks to the target; scales 'channel': the kept weights are int4 codes in [-7, 7] times the row scale", () => {
    const r = rng(1);
    const [n, k] = [32, 64];
    // |w| in [2, ~7]: no kept weight rounds to 0 at scale max/7, so every zero is a pruned block
    const w = randNormal(n * k, r).map((v) => Math.sign(v) * (2 + Math.abs(v)));
    for (const target of [0, 0.5, 0.75, 0.9]) {
      const d = fmt.quantize(w, n, k, { input: uint8Range(-2, 2), options: { sparsity: { target, scales: 'channel' } } });
      const dq = fmt.dequantize(d);
      const z = dq.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);
      expect(z, `${target}`).toBe(Math.round((target * n * k) / 16) * 16);
      expect(d.sparsity).toBe(z / (n * k));
      expect(d.enc.nibbles.length).toBe(8 * d.enc.cols.length);
      for (let i = 0; i < dq.length; i++) {
        const code = dq[i] / d.scales[Math.floor(i / k)], c = Math.round(code);
        expect(Math.abs(code - c) < 1e-5 && Math.abs(c) <= 7, `code ${code}`).toBe(true);
      }
      expect(fmt.detail(d)).toBe(`block4x4 int4, ${+((z / (n * k)) * 100).toFixed(1)}% zeros`);
    }
    expect(() => fmt.quantize(w, n, k, { input: uint8Range(-2, 2), options: { sparsity: { pattern: 'unstructured', target: 0.5 } } })).toThrow(/sparsity.pattern: int4-sparse stores 4x4 blocks/);
    expect(() => fmt.quantize(w, n, k, { input: uint8Range(-2, 2), options: { sparsity: { scales: 'row' } } })).toThrow(/sparsity.scales: expected 'block' or 'channel', got row/);
  });

  it('per-block scales (the default): code x multiplier x row scale, multipliers in [1, 63], less weight error than per-channel scales', () => {
    const r = rng(2);
    const [n, k] = [24, 96];
    // blocks of very different magnitudes within a row, as pruned rows keep them
    const w = randNormal(n * k, r).map((v, i) => v * [0.05, 0.3, 1, 4][((i % k) >> 2) % 4]);
    const err = (d: Int4SparseWeights, kept: Float32Array) => fmt.dequantize(d).reduce((s, v, i) => s + (v - kept[i]) ** 2, 0);
    for (const target of [0.25, 0.5, 0.75]) {
      const d = fmt.quantize(w, n, k, { input: uint8Range(-2, 2), options: { sparsity: { target, method: 'magnitude' } } });
      const c = fmt.quantize(w, n, k, { input: uint8Range(-2, 2), options: { sparsity: { target, method: 'magnitude', scales: 'channel' } } });
      expect([d.scaling, c.scaling, c.enc.subs]).toEqual(['block', 'channel', undefined]);
      expect(d.enc.subs!.length).toBe(d.enc.cols.length);
      // the same blocks pruned; per-channel scales also round some kept blocks to all zeros (dropped)
      expect(d.enc.cols.length).toBeGreaterThanOrEqual(c.enc.cols.length);
      const dq = fmt.dequantize(d), kb = k / 4;
      for (let bi = 0; bi < n / 4; bi++) {
        for (let b = d.enc.blockPtr[bi]; b < d.enc.blockPtr[bi + 1]; b++) {
          const sub = d.enc.subs![b];
          expect(sub >= 1 && sub <= 63, `sub ${sub}`).toBe(true);
          for (let i = 0; i < 16; i++) {
            const row = bi * 4 + (i >> 2), col = d.enc.cols[b] * 4 + (i & 3);
            const code = dq[row * k + col] / (d.scales[row] * sub), near = Math.round(code);
            expect(Math.abs(code - near) < 1e-4 && Math.abs(near) <= 7, `code ${code}`).toBe(true);
          }
          expect(kb).toBeGreaterThan(d.enc.cols[b]);
        }
      }
      const kept = Float32Array.from(fmt.dequantize(c), (v, i) => (v === 0 && dq[i] === 0 ? 0 : w[i]));
      expect(err(d, kept), `${target}`).toBeLessThan(err(c, kept) * 0.8);
      expect(fmt.detail(d)).toMatch(/^block4x4 int4 \(block scales\), /);
      const blocks = d.enc.cols.length; // row scales, nibbles, a multiplier and a column per block, block-row offsets
      expect(fmt.storedBytes(d)).toBe(n * 4 + blocks * 8 + blocks + (blocks + n / 4 + 1) * 4);
    }
  });

  describe('in models', () => {
    // MatMul [5, 66] x [66, 22] -> h (an output), Gemm (transB, bias) [18, 22] + Relu -> y
    const r = rng(3);
    const wm = randNormal(66 * 22, r, 0.1), wg = randNormal(18 * 22, r, 0.2), bg = randNormal(18, r);
    const onnx = new OnnxBuilder(13).input('x', [5, 66]).output('h').output('y')
      .init('wm', [66, 22], wm).init('wg', [18, 22], wg).init('bg', [18], bg)
      .node('MatMul', ['x', 'wm'], 'h').node('Gemm', ['h', 'wg', 'bg'], 'g', { transB: 1 }).node('Relu', ['g'], 'y')
      .build();
    const feeds = (seed: number) => ({ x: { type: 'float32' as const, dims: [5, 66], data: randNormal(5 * 66, rng(seed)) } });
    const weightsOf = (q: Model) => [...q.builtLayers.values()].map((l) => (l as { weights?: { data: Int4SparseWeights } } | null)?.weights?.data).filter((d): d is Int4SparseWeights => d !== undefined).sort((a, b) => b.k - a.k);

    it('quantizeModel: runs, equals the reference bit for bit (Relu fused), saves and loads to the same bits', async () => {
      const float = loadModel(rts.one, onnx);
      const q = await quantizeModel(float, { scheme: 'int4-sparse', sparsity: { target: 0.5, method: 'magnitude' }, calibration: [feeds(10), feeds(11)] });
      const x = feeds(12);
      const out = await q.run(x);
      const h = out.h.data as Float32Array, y = out.y.data as Float32Array;
      const [qm, qg] = weightsOf(q);
      expect([qm.k, qm.n, qg.k, qg.n, qm.method]).toEqual([66, 22, 22, 18, 'magnitude']);
      expect(firstMismatch(h, fmt.reference(qm, x.x.data, 5, null))).toBeNull();
      expect(firstMismatch(y, fmt.reference(qg, h, 5, bg).map((v) => (v > 0 ? v : 0)))).toBeNull();
      const back = loadQuantized(float, saveQuantized(q));
      const again = await back.run(x);
      expect(firstMismatch(again.h.data as Float32Array, h)).toBeNull();
      expect(firstMismatch(again.y.data as Float32Array, y)).toBeNull();
      for (const m of [q, back, float]) m.dispose();
    });

    it("OBC's joint pruning + int4 (the default with calibration): less output error than magnitude + round to nearest", async () => {
      const mix = randNormal(66 * 66, rng(77), 0.5);
      const correlated = (seed: number) => {
        const z = randNormal(5 * 66, rng(seed)), x = new Float32Array(5 * 66);
        for (let i = 0; i < 5; i++) for (let c = 0; c < 66; c++) for (let j = 0; j < 66; j++) x[i * 66 + c] += z[i * 66 + j] * (mix[j * 66 + c] + (j === c ? 1 : 0));
        return { x: { type: 'float32' as const, dims: [5, 66], data: x } };
      };
      const many = Array.from({ length: 30 }, (_, i) => correlated(100 + i));
      const fresh = correlated(13);
      const float = loadModel(rts.one, onnx);
      const error = async (q: Model) => {
        const a = await q.run(fresh), b = await float.run(fresh);
        let e = 0;
        for (const name of ['h', 'y']) (a[name].data as Float32Array).forEach((v, i) => (e += (v - (b[name].data as Float32Array)[i]) ** 2));
        return e;
      };
      const obc = await quantizeModel(float, { scheme: 'int4-sparse', sparsity: { target: 0.5 }, calibration: many });
      const mag = await quantizeModel(float, { scheme: 'int4-sparse', sparsity: { target: 0.5, method: 'magnitude' }, calibration: many });
      expect(weightsOf(obc).map((w) => w.method)).toEqual(['obc', 'obc']);
      expect(await error(obc)).toBeLessThan(await error(mag));
      for (const m of [obc, mag, float]) m.dispose();
    });

    it('damaged saved records and tensors are ModelErrors naming the field; a latency budget is an ArgumentError', async () => {
      const float = loadModel(rts.one, onnx);
      const q = await quantizeModel(float, { scheme: 'int4-sparse', sparsity: { target: 0.5, method: 'magnitude' }, calibration: [feeds(10)] });
      await q.run(feeds(12));
      const { tensors, metadata } = readSafetensors(saveQuantized(q));
      const layers = JSON.parse(metadata.layers) as Record<string, Record<string, unknown>>;
      const name = Object.keys(layers).find((key) => layers[key].k === 66)!;
      const record = (fields: Record<string, unknown>) => forge(tensors, metadata, { ...layers, [name]: { ...layers[name], ...fields } });
      const tensor = (part: string, edit: (d: Int32Array) => void) => {
        const t = tensors.get(`${name}/${part}`)!;
        const data = (t.data as Int32Array).slice();
        edit(data);
        return forge(new Map(tensors).set(`${name}/${part}`, { ...t, data }), metadata);
      };
      for (const [bytes, want] of [
        [record({ target: 2 }), /target/],
        [record({ method: 'random' }), /method/],
        [record({ blocks: -1 }), /blocks/],
        [record({ input: { scale: 0, zeroPoint: 3 } }), /input/],
        [tensor('blockPtr', (d) => (d[1] = d[d.length - 1] + 1)), /blockPtr\[1\]/],
        [tensor('cols', (d) => (d[0] = 99)), /cols\[0\] = 99/],
        [record({ scaling: 'row' }), /scaling row/],
        [record({ scaling: 'channel' }), /subs tensor with scaling 'channel'/],
        [tensor('subs', (d) => (d[0] = 0)), /subs\[0\] = 0/],
        [tensor('subs', (d) => (d[1] = 64)), /subs\[1\] = 64/],
      ] as [Uint8Array, RegExp][]) {
        expect(() => loadQuantized(float, bytes), String(want)).toThrow(ModelError);
        expect(() => loadQuantized(float, bytes)).toThrow(want);
      }
      await expect(quantizeModel(float, { scheme: 'int4-sparse', sparsity: { latency: 0.8 }, calibration: [feeds(10)] })).rejects.toThrow(ArgumentError);
      for (const m of [q, float]) m.dispose();
    });

    it("files from before per-block scales (no scaling field, no subs) load as per-channel, to the same bits; 'block' without subs is refused", async () => {
      const float = loadModel(rts.one, onnx);
      const q = await quantizeModel(float, { scheme: 'int4-sparse', sparsity: { target: 0.5, method: 'magnitude', scales: 'channel' }, calibration: [feeds(10)] });
      const x = feeds(12);
      const want = await q.run(x);
      const { tensors, metadata } = readSafetensors(saveQuantized(q));
      const layers = JSON.parse(metadata.layers) as Record<string, Record<string, unknown>>;
      const old = Object.fromEntries(Object.entries(layers).map(([key, r]) => [key, r && typeof r === 'object' && r.scheme === 'int4-sparse' ? (({ scaling, ...rest }) => (expect(scaling).toBe('channel'), rest))(r) : r]));
      const back = loadQuantized(float, forge(tensors, metadata, old));
      const got = await back.run(x);
      expect(firstMismatch(got.h.data as Float32Array, want.h.data as Float32Array)).toBeNull();
      expect(firstMismatch(got.y.data as Float32Array, want.y.data as Float32Array)).toBeNull();
      const name = Object.keys(layers).find((key) => layers[key].k === 66)!;
      expect(() => loadQuantized(float, forge(tensors, metadata, { ...layers, [name]: { ...layers[name], scaling: 'block' } }))).toThrow(ModelError);
      for (const m of [q, back, float]) m.dispose();
    });
  });
});
