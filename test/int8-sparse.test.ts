// int8-sparse (src/formats/int8-sparse.ts): pruning, then int8 per channel, on the SpMM kernels.
// The table-driven tests (test/formats.test.ts) run its default pattern on remainder shapes; here:
// every pattern in a model against the format's reference bit for bit (with a fused Relu), the
// sparsity it reaches, save/load, damaged saved records and bad options as typed errors; OBC (the
// default with calibration) against magnitude pruning: the same pattern, a smaller output error.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ModelError, loadModel, loadQuantized, quantizeModel, readSafetensors, saveQuantized, type Model } from '../src/index.js';
import { runFormatGemm } from '../src/kernels.js';
import { int8SparseFormat as fmt } from '../src/formats/int8-sparse.js';
import type { SparseWeights } from '../src/layers/gemm-spmm.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { forge } from './saved-forge.js';

const rts = useRuntimes();
const PATTERNS = ['block4x4', 'unstructured', '2:4', 'srbcrs'] as const;

const zeros = (w: Float32Array) => w.reduce((s, v) => s + (v === 0 ? 1 : 0), 0);

describe(`int8-sparse (${SIMD} build)`, () => {
  it('prunes to the target: zero weights counted in the dequantized weights, per pattern and target', () => {
    const r = rng(1);
    const [n, k] = [32, 64];
    // |w| >= 0.5 and <= ~5: no kept weight rounds to int8 0, so every zero is a pruned weight
    const w = randNormal(n * k, r).map((v) => Math.sign(v) * (0.5 + Math.abs(v)));
    const input = uint8Range(-2, 2);
    for (const pattern of PATTERNS) {
      for (const target of pattern === '2:4' ? [0.5] : [0, 0.5, 0.75, 0.9]) {
        const data = fmt.quantize(w, n, k, { input, options: { sparsity: { pattern, target } } });
        const z = zeros(fmt.dequantize(data));
        // blocks: the target rounds to whole blocks (0.9 of 128 blocks: 115), srbcrs to whole 4x1 vectors
        const unit = pattern === 'block4x4' ? 16 : pattern === 'srbcrs' ? 4 : 1;
        expect(z, `${pattern} ${target}`).toBe(Math.round(target * (n * k) / unit) * unit);
        expect(data.sparsity).toBe(z / (n * k));
        expect(fmt.detail(data)).toBe(`${pattern}, ${+((z / (n * k)) * 100).toFixed(1)}% zeros`);
      }
    }
    // Gaussian weights: small kept weights may also round to 0, so at least the target
    const g = fmt.quantize(randNormal(n * k, r), n, k, { input, options: { sparsity: { pattern: 'unstructured', target: 0.6 } } });
    expect(zeros(fmt.dequantize(g))).toBeGreaterThanOrEqual(Math.round(0.6 * n * k));
    // the default: 4x4 blocks at 50%, and what it keeps are whole blocks
    const d = fmt.quantize(w, n, k, { input }) as SparseWeights;
    expect(d.pattern).toBe('block4x4');
    expect(d.sparsity).toBe(0.5);
    const dq = fmt.dequantize(d);
    for (let bi = 0; bi < n / 4; bi++) {
      for (let bc = 0; bc < k / 4; bc++) {
        let nz = 0;
        for (let i = 0; i < 16; i++) nz += dq[(bi * 4 + (i >> 2)) * k + bc * 4 + (i & 3)] !== 0 ? 1 : 0;
        expect(nz === 0 || nz === 16, `block ${bi},${bc}`).toBe(true);
      }
    }
  });

  it('every pattern: GEMM equals the reference bit for bit (M = 1, remainders, 1 and 2 threads)', async () => {
    const r = rng(2);
    for (const pattern of PATTERNS) {
      for (const [m, k, n] of [[1, 70, 13], [6, 33, 22], [9, 128, 40]]) {
        const w = randNormal(n * k, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r);
        const data = fmt.quantize(w, n, k, { input: uint8Range(-2, 2.5), options: { sparsity: { pattern, target: pattern === '2:4' ? 0.5 : 0.7 } } });
        const want = fmt.reference(data, x, m, bias);
        for (const rt of [rts.one, rts.two]) expect(firstMismatch(await runFormatGemm(rt, fmt, data, x, m, bias), want), `${pattern} ${m}x${k}x${n}`).toBeNull();
      }
    }
  });

  it('rt.linear: calibration gives the input range, sparsity the pattern; the output is the reference of its weights', async () => {
    const r = rng(4);
    const [m, k, n] = [3, 40, 12];
    const w = randNormal(k * n, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r);
    const layer = await rts.one.linear(w, [k, n], bias, { dtype: 'int8-sparse', calibration: x, sparsity: { pattern: 'unstructured', target: 0.8 } });
    const data = layer.weights.data as SparseWeights;
    expect([data.pattern, data.target]).toEqual(['unstructured', 0.8]);
    expect(firstMismatch(await layer.forward(x), fmt.reference(data, x, m, bias))).toBeNull();
    layer.dispose();
    // OBC by default (the Hessian of the calibration rows): closer to the float layer on those rows than magnitude
    const err = async (method: 'obc' | 'magnitude') => {
      const l = await rts.one.linear(w, [k, n], bias, { dtype: 'int8-sparse', calibration: x, sparsity: { pattern: 'unstructured', target: 0.5, method } });
      const got = await l.forward(x);
      expect((l.weights.data as SparseWeights & { method?: string }).method).toBe(method);
      l.dispose();
      let e = 0;
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
        let ref = bias[j];
        for (let c = 0; c < k; c++) ref += x[i * k + c] * w[c * n + j];
        e += (got[i * n + j] - ref) ** 2;
      }
      return e;
    };
    expect(await err('obc')).toBeLessThan(await err('magnitude'));
    const def = await rts.one.linear(w, [k, n], bias, { dtype: 'int8-sparse', calibration: x });
    expect((def.weights.data as SparseWeights & { method?: string }).method).toBe('obc');
    def.dispose();
    for (const options of [{}, { calibration: new Float32Array(7) }, { calibration: x, sparsity: { pattern: 'block8x8' } }, { calibration: x, sparsity: { method: 'l1' } }]) {
      await expect(rts.one.linear(w, [k, n], bias, { dtype: 'int8-sparse', ...options }), JSON.stringify(options)).rejects.toThrow(ArgumentError);
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
    const calibration = [feeds(10), feeds(11)];
    const weightsOf = (q: Model) => [...q.builtLayers.values()].map((l) => (l as { weights?: { data: SparseWeights } } | null)?.weights?.data).filter((d): d is SparseWeights => d !== undefined);

    for (const pattern of PATTERNS) {
      it(`${pattern}: runs, equals the format's reference bit for bit (Relu fused), saves and loads to the same bits`, async () => {
        const float = loadModel(rts.one, onnx);
        const q = await quantizeModel(float, { scheme: 'int8-sparse', sparsity: { pattern, target: pattern === '2:4' ? 0.5 : 0.75 }, calibration });
        const x = feeds(12);
        const out = await q.run(x);
        const h = out.h.data as Float32Array, y = out.y.data as Float32Array;
        const [qm, qg] = weightsOf(q).sort((a, b) => b.k - a.k);
        expect([qm.k, qm.n, qg.k, qg.n]).toEqual([66, 22, 22, 18]);
        for (const d of [qm, qg]) expect(d.pattern).toBe(pattern);
        expect(firstMismatch(h, fmt.reference(qm, x.x.data, 5, null))).toBeNull();
        // the Gemm layer: the reference with the model's bias, then the Relu (a pass of its own)
        const want = fmt.reference(qg, h, 5, bg).map((v) => (v > 0 ? v : 0));
        expect(firstMismatch(y, want)).toBeNull();
        expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
        const back = loadQuantized(float, saveQuantized(q));
        const again = await back.run(x);
        expect(firstMismatch(again.h.data as Float32Array, h)).toBeNull();
        expect(firstMismatch(again.y.data as Float32Array, y)).toBeNull();
        if (pattern === 'srbcrs') {
          // columns saved as U16 'cols16' (2 bytes in storedBytes); a file saved before them (I32 'cols') loads to the same bits
          const { tensors, metadata } = readSafetensors(saveQuantized(q));
          const names = [...tensors.keys()].filter((t) => t.endsWith('/cols16'));
          expect(names.length).toBe(2);
          for (const d of [qm, qg]) expect(fmt.storedBytes(d)).toBe(d.n * 4 + d.enc.values.length + (d.enc as { vecPtr: Int32Array }).vecPtr.length * 4 + d.enc.cols.length * 2);
          const old = new Map(tensors);
          for (const t of names) {
            old.delete(t);
            old.set(t.replace(/cols16$/, 'cols'), { dtype: 'I32', shape: tensors.get(t)!.shape, data: Int32Array.from(tensors.get(t)!.data) });
          }
          const layers = JSON.parse(metadata.layers) as Record<string, { sha256: Record<string, string> }>;
          for (const r of Object.values(layers)) delete r.sha256.cols16;
          const legacy = loadQuantized(float, forge(old, metadata, layers));
          const y2 = await legacy.run(x);
          expect(firstMismatch(y2.h.data as Float32Array, h)).toBeNull();
          expect(firstMismatch(y2.y.data as Float32Array, y)).toBeNull();
          legacy.dispose();
        }
        for (const m of [q, back, float]) m.dispose();
      });
    }

    // Σ (y - y_float)² over an input, both outputs
    const outputError = async (q: Model, float: Model, x: ReturnType<typeof feeds>) => {
      const a = await q.run(x), b = await float.run(x);
      let e = 0;
      for (const name of ['h', 'y']) (a[name].data as Float32Array).forEach((v, i) => (e += (v - (b[name].data as Float32Array)[i]) ** 2));
      return e;
    };

    it('OBC (the default with calibration) and magnitude: OBC with less output error on a fresh input; the method saved', async () => {
      // correlated inputs (x = z M: OBS has nothing to gain over magnitude on white ones, H ≈ I), 150
      // rows for K = 66 (with fewer rows than K, H is singular and OBC fits the calibration rows)
      const mix = randNormal(66 * 66, rng(77), 0.5);
      const correlated = (seed: number) => {
        const z = randNormal(5 * 66, rng(seed)), x = new Float32Array(5 * 66);
        for (let i = 0; i < 5; i++) for (let c = 0; c < 66; c++) for (let j = 0; j < 66; j++) x[i * 66 + c] += z[i * 66 + j] * (mix[j * 66 + c] + (j === c ? 1 : 0));
        return { x: { type: 'float32' as const, dims: [5, 66], data: x } };
      };
      const many = Array.from({ length: 30 }, (_, i) => correlated(100 + i));
      const fresh = correlated(13);
      const float = loadModel(rts.one, onnx);
      for (const pattern of PATTERNS) {
        const target = pattern === '2:4' ? 0.5 : 0.75;
        const obc = await quantizeModel(float, { scheme: 'int8-sparse', sparsity: { pattern, target }, calibration: many });
        const mag = await quantizeModel(float, { scheme: 'int8-sparse', sparsity: { pattern, target, method: 'magnitude' }, calibration: many });
        const eObc = await outputError(obc, float, fresh), eMag = await outputError(mag, float, fresh);
        expect(eObc, pattern).toBeLessThan(eMag);
        const [wo, wm] = [weightsOf(obc), weightsOf(mag)].map((ws) => ws.sort((a, b) => b.k - a.k) as (SparseWeights & { method?: string })[]);
        for (let i = 0; i < 2; i++) {
          expect([wo[i].method, wm[i].method]).toEqual(['obc', 'magnitude']);
          expect(fmt.detail(wo[i])).toMatch(/, OBC$/);
        }
        const back = loadQuantized(float, saveQuantized(obc));
        await back.run(feeds(12));
        expect(weightsOf(back).map((w) => (w as SparseWeights & { method?: string }).method)).toEqual(['obc', 'obc']);
        for (const m of [obc, mag, back]) m.dispose();
      }
      float.dispose();
    });

    it('damaged saved records and tensors are ModelErrors naming the layer and the field', async () => {
      const float = loadModel(rts.one, onnx);
      for (const pattern of PATTERNS) {
        const q = await quantizeModel(float, { scheme: 'int8-sparse', sparsity: { pattern, target: 0.5 }, calibration });
        await q.run(feeds(12));
        const { tensors, metadata } = readSafetensors(saveQuantized(q));
        const layers = JSON.parse(metadata.layers) as Record<string, Record<string, unknown>>;
        const name = Object.keys(layers).find((key) => layers[key].k === 66)!;
        const record = (fields: Record<string, unknown>) => forge(tensors, metadata, { ...layers, [name]: { ...layers[name], ...fields } });
        const tensor = (part: string, edit: (d: Int32Array | Uint16Array | Uint8Array | Int8Array) => void) => {
          const t = tensors.get(`${name}/${part}`)!;
          const data = (t.data as Int32Array).slice();
          edit(data);
          return forge(new Map(tensors).set(`${name}/${part}`, { ...t, data }), metadata);
        };
        const bad: [Uint8Array, RegExp][] = [
          [record({ pattern: '3:4' }), /pattern/],
          [record({ target: 2 }), /target/],
          [record({ input: { scale: -1, zeroPoint: 3 } }), /input/],
          [record({ method: 'random' }), /method/],
          [tensor('values', (d) => (d[0] = -128)), /values\[0\] = -128/],
        ];
        if (pattern === '2:4') {
          bad.push([tensor('meta', (d) => (d[1] = 0x33)), /meta nibble/]);
        } else {
          const [ptr, count] = pattern === 'unstructured' ? ['rowPtr', 'nnz'] : pattern === 'srbcrs' ? ['vecPtr', 'vectors'] : ['blockPtr', 'blocks'];
          const cols = pattern === 'srbcrs' ? 'cols16' : 'cols';
          bad.push(
            [tensor(ptr, (d) => (d[2] = d[1] - 1)), new RegExp(`${ptr}\\[2\\]`)],
            [tensor(ptr, (d) => (d[0] = 1)), new RegExp(`${ptr}\\[0\\]`)],
            [tensor(cols, (d) => (d[0] = pattern === 'block4x4' ? 17 : 66)), /cols\[0\]/],
            [tensor(cols, (d) => (d[0] = -1)), /cols\[0\]/],
            [record({ [count]: (layers[name][count] as number) + 1 }), /needs|expected/],
            [record({ [count]: -1 }), new RegExp(count)],
          );
          // srbcrs: a row block's vector count off the stride of 2 (the kernel's step)
          // and a repeated column on a kept (nonzero) vector: only zero padding may repeat one
          if (pattern === 'srbcrs') bad.push([tensor('vecPtr', (d) => (d[1] += 1)), /vecPtr\[1\]|row block 0/], [tensor(cols, (d) => (d[1] = d[0])), /cols\[1\]/]);
        }
        for (const [file, message] of bad) {
          expect(() => loadQuantized(float, file), `${pattern} ${message}`).toThrow(ModelError);
          expect(() => loadQuantized(float, file), `${pattern}`).toThrow(message);
        }
        q.dispose();
      }
      float.dispose();
    });

    it('bad sparsity options are ArgumentErrors naming sparsity.pattern or sparsity.target', async () => {
      const float = loadModel(rts.one, onnx);
      const bad: [unknown, RegExp][] = [
        [{ pattern: '3:4' }, /sparsity\.pattern/],
        [{ pattern: 'block4x4', target: 1 }, /sparsity\.target/],
        [{ target: -0.1 }, /sparsity\.target/],
        [{ target: NaN }, /sparsity\.target/],
        [{ pattern: '2:4', target: 0.75 }, /sparsity\.target/],
        ['half', /sparsity/],
        [{ pattern: 'block4x4', ratio: 0.5 }, /sparsity: unknown field 'ratio'/],
        [{ method: 'sparsegpt' }, /sparsity\.method/],
      ];
      for (const [sparsity, message] of bad) {
        const p = quantizeModel(float, { scheme: 'int8-sparse', calibration, sparsity: sparsity as never });
        await expect(p, JSON.stringify(sparsity)).rejects.toThrow(ArgumentError);
        await expect(p).rejects.toThrow(message);
      }
      float.dispose();
    });
  });
});
