// NaN and infinite inputs never become confident numbers in a quantized layer, in any scheme of the
// format table: a model's quantized layer writes NaN in the rows (pixels) a non-finite input
// reaches, as its float32 model has non-finite values there, or the run is a ValueRangeError naming
// the node (nonFinite: 'error'); rt.linear refuses them (the default) or gives NaN rows
// (nonFinite: 'nan'). Finite inputs give the same bits as without the check. Models are quantized
// with speed 'off': int8's default would keep these small layers float32, and the check is the
// quantized layers'.

import { describe, expect, it } from 'vitest';
import { ArgumentError, FORMAT_NAMES, loadModel, loadQuantized, quantizeModel, saveQuantized, ValueRangeError, type Model } from '../src/index.js';
import { hasNonFinite } from '../src/kernels/q8.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel } from './onnx-builder.js';

const rts = useRuntimes();
const BAD = [NaN, Infinity, -Infinity];

describe(`hasNonFinite (f32_nonfinite, ${SIMD} build)`, () => {
  it('is 1 exactly when a NaN or an infinity is among n floats: every length to 13, every position, finite extremes', () => {
    const rt = rts.one;
    const p = rt.alloc(64 * 4);
    try {
      const finite = [3.4028234663852886e38, -3.4028234663852886e38, -0, 1e-45, -1e-45, 1.17549435e-38, 1, -2.5];
      for (let n = 0; n <= 13; n++) {
        const v = rt.view(Float32Array, p, 64);
        v.fill(NaN); // beyond n: never read
        for (let i = 0; i < n; i++) v[i] = finite[i % finite.length];
        expect(hasNonFinite(rt, p, n), `n ${n}`).toBe(false);
        for (let at = 0; at < n; at++) {
          for (const bad of BAD) {
            const w = rt.view(Float32Array, p, 64);
            const keep = w[at];
            w[at] = bad;
            expect(hasNonFinite(rt, p, n), `n ${n} at ${at} ${bad}`).toBe(true);
            w[at] = keep;
          }
        }
      }
      // NaN payloads and signs
      const u = rt.view(Uint32Array, p, 4);
      for (const bits of [0x7f800001, 0xffc00000, 0x7fffffff, 0xff800000]) {
        u.set([0, 0, bits, 0]);
        expect(hasNonFinite(rt, p, 4), bits.toString(16)).toBe(true);
      }
      expect(() => hasNonFinite(rt, 2, 4)).toThrow(/not inside linear memory/);
      expect(() => hasNonFinite(rt, rt.memory.buffer.byteLength - 8, 4)).toThrow(/not inside linear memory/);
    } finally {
      rt.free(p);
    }
  });
});

describe(`rt.linear with NaN and infinite inputs (${SIMD} build)`, () => {
  const [m, k, n] = [7, 96, 20];
  const r = rng(3);
  const w = randNormal(k * n, r, 0.1), bias = randNormal(n, r), x = randNormal(m * k, r);
  const badRows = [1, 4, 5];
  const dirty = (v: number) => {
    const d = x.slice();
    d[1 * k + 3] = v;
    d[4 * k + 95] = v;
    d[5 * k] = NaN;
    return d;
  };
  const variants: [string, Record<string, unknown>][] = [
    ...FORMAT_NAMES.filter((f) => f !== 'int8' && f !== 'int8-sparse' && f !== 'int4-sparse').map((f): [string, Record<string, unknown>] => [f, { dtype: f }]),
    ['int8-sparse', { dtype: 'int8-sparse', calibration: x }],
    ['int4-sparse', { dtype: 'int4-sparse', calibration: x }],
    ...['dynamic-per-tensor', 'dynamic-per-row', 'static'].map((a): [string, Record<string, unknown>] => [`int8 ${a}`, { dtype: 'int8', activations: a, calibration: a === 'static' ? x : undefined }]),
    ['int4 per-row', { dtype: 'int4', activations: 'per-row' }],
  ];

  for (const [name, options] of variants) {
    it(`${name}: refused by default and with 'error'; with 'nan', NaN in exactly the rows holding NaN/±Inf, the other rows as with zeros there`, async () => {
      const strict = await rts.one.linear(w, [k, n], bias, options);
      const lax = await rts.one.linear(w, [k, n], bias, { ...options, nonFinite: 'nan' });
      // the other rows: the bits of the input with 0 for each NaN or infinity (per-tensor ranges see the
      // bad rows' finite values, per-row and static ones do not)
      const zeroed = (d: Float32Array) => d.map((e) => (Number.isFinite(e) ? e : 0));
      expect(Array.from(await lax.forward(x))).toEqual(Array.from(await strict.forward(x))); // finite: same bits
      for (const v of BAD) {
        await expect(strict.forward(dirty(v)), `${v}`).rejects.toThrow(ValueRangeError);
        const y = await lax.forward(dirty(v));
        const clean = await strict.forward(zeroed(dirty(v)));
        for (let i = 0; i < m; i++) {
          const row = Array.from(y.subarray(i * n, (i + 1) * n));
          if (badRows.includes(i)) expect(row.every(Number.isNaN), `${v} row ${i}`).toBe(true);
          else expect(row, `${v} row ${i}`).toEqual(Array.from(clean.subarray(i * n, (i + 1) * n)));
        }
      }
      const checked = await rts.one.linear(w, [k, n], bias, { ...options, nonFinite: 'error' });
      await expect(checked.forward(dirty(NaN))).rejects.toThrow(ValueRangeError);
      strict.dispose();
      lax.dispose();
      checked.dispose();
    });
  }

  it('a bad nonFinite mode is an ArgumentError', async () => {
    await expect(rts.one.linear(w, [k, n], bias, { nonFinite: 'zero' })).rejects.toThrow(ArgumentError);
    await expect(rts.one.linear(w, [k, n], bias, { nonFinite: 'zero' })).rejects.toThrow(/nonFinite: expected 'error' or 'nan', got zero/);
  });
});

describe(`quantized models with NaN and infinite inputs (${SIMD} build)`, () => {
  // x [1, 4, 8, 8] -> Conv 3x3 pad 1 -> y1 (NHWC GEMM rows: output pixels), and x -> MatMul [8, 5]
  // over the last axis -> y2 (rows: (c, h))
  const r = rng(9);
  const onnx = new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y1').output('y2')
    .init('wc', [6, 4, 3, 3], randNormal(6 * 4 * 9, r, 0.3)).init('bc', [6], randNormal(6, r, 0.1)).init('wm', [8, 5], randNormal(40, r, 0.3))
    .node('Conv', ['x', 'wc', 'bc'], 'y1', { pads: [1, 1, 1, 1] }).node('MatMul', ['x', 'wm'], 'y2')
    .build();
  const data = (seed: number) => randNormal(256, rng(seed));
  const feed = (d: Float32Array) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: d } });
  const at = (c: number, h: number, w: number) => c * 64 + h * 8 + w;
  const outs = async (model: Model, d: Float32Array) => {
    const o = await model.run(feed(d));
    return { y1: Array.from(o.y1.data), y2: Array.from(o.y2.data) };
  };

  it('every scheme: NaN exactly where float32 and onnxruntime are not finite; elsewhere the bits of a finite input; nonFinite: \'error\' names the node', async () => {
    const float = loadModel(rts.one, onnx);
    const base = data(5);
    for (const scheme of FORMAT_NAMES) {
      const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(data(1)), feed(data(2))] });
      const finite = await outs(q, base);
      for (const v of BAD) {
        const d = base.slice();
        d[at(2, 3, 4)] = v;
        d[at(0, 7, 7)] = v;
        const zeroed = base.slice();
        zeroed[at(2, 3, 4)] = 0;
        zeroed[at(0, 7, 7)] = 0;
        const [want, got, clean] = [await outs(float, d), await outs(q, d), await outs(q, zeroed)];
        const ort = await runOrtModel(onnx, { x: { type: 'float32', dims: [1, 4, 8, 8], data: Array.from(d) } });
        for (const y of ['y1', 'y2'] as const) {
          expect(ort[y].data.map((e) => Number.isFinite(e)), `${scheme} ${v} ${y}: float32 and onnxruntime agree`).toEqual(want[y].map((e) => Number.isFinite(e)));
          let bad = 0;
          want[y].forEach((e, i) => {
            if (!Number.isFinite(e)) {
              expect(got[y][i], `${scheme} ${v} ${y}[${i}]`).toBeNaN();
              bad++;
            } else expect(got[y][i], `${scheme} ${v} ${y}[${i}]`).toBe(clean[y][i]);
          });
          expect(bad, `${scheme} ${v} ${y}`).toBe(y === 'y1' ? (9 + 4) * 6 : 2 * 5);
        }
      }
      expect(await outs(q, base)).toEqual(finite);
      q.dispose();
      // asked for: a typed error naming the node; the saved model the same way
      const checked = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(data(1))], nonFinite: 'error' });
      const d = base.slice();
      d[at(1, 1, 1)] = NaN;
      await expect(checked.run(feed(d))).rejects.toThrow(ValueRangeError);
      await expect(checked.run(feed(d))).rejects.toThrow(/(Conv|MatMul) node '\w+': input row \d+ holds NaN/);
      expect(await outs(checked, base)).toEqual(await outs(await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(data(1))] }), base));
      const file = saveQuantized(checked);
      const back = loadQuantized(float, file, { nonFinite: 'error' });
      await expect(back.run(feed(d))).rejects.toThrow(/input row \d+ holds NaN/);
      const lax = loadQuantized(float, file);
      expect((await outs(lax, d)).y2.filter(Number.isNaN).length).toBe(5);
      for (const m of [checked, back, lax]) m.dispose();
    }
    await expect(quantizeModel(float, { scheme: 'int8', calibration: [feed(base)], nonFinite: 'skip' as never })).rejects.toThrow(/nonFinite must be 'nan' or 'error', got skip/);
    float.dispose();
  }, 120_000);
});

describe(`the guard puts the input back (${SIMD} build)`, () => {
  it('a graph input read by a quantized MatMul and by Relu: Relu still sees the NaN; strided Conv pixels no row reaches stay finite', async () => {
    const r = rng(4);
    const onnx = new OnnxBuilder(13).input('x', [1, 2, 5, 5]).output('y').output('z').output('c')
      .init('w', [5, 3], randNormal(15, r)).init('wc', [4, 2, 1, 1], randNormal(8, r))
      .node('MatMul', ['x', 'w'], 'y').node('Relu', ['x'], 'z').node('Conv', ['x', 'wc'], 'c', { strides: [2, 2] })
      .build();
    const float = loadModel(rts.one, onnx);
    const d = randNormal(50, rng(5));
    const feed = (x: Float32Array) => ({ x: { type: 'float32', dims: [1, 2, 5, 5], data: x } });
    for (const scheme of FORMAT_NAMES) {
      const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(d)], nonFinite: 'error' });
      const bad = d.slice();
      bad[1 * 25 + 1 * 5 + 3] = -Infinity; // channel 1, row 1, column 3: odd, so no stride-2 pixel reads it
      const lax = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(d)] });
      const o = await lax.run(feed(bad));
      expect(o.z.data[1 * 25 + 1 * 5 + 3], scheme).toBe(0); // Relu(-Inf) = 0 on the input put back, not on a zero
      const pos = bad.slice();
      pos[1 * 25 + 1 * 5 + 3] = Infinity;
      expect((await lax.run(feed(pos))).z.data[1 * 25 + 1 * 5 + 3], scheme).toBe(Infinity);
      expect(Array.from(o.y.data.subarray(18, 21)).every(Number.isNaN), scheme).toBe(true); // y [1, 2, 5, 3]: row (c 1, h 1) = 6
      expect(o.y.data.filter(Number.isNaN).length, scheme).toBe(3); // that row only
      expect(o.c.data.every(Number.isFinite), scheme).toBe(true);
      // 'error': the MatMul refuses; the strided Conv alone would not
      await expect(q.run(feed(bad))).rejects.toThrow(/MatMul node '\w+': input row 6 holds -Infinity/);
      q.dispose();
      lax.dispose();
    }
    float.dispose();
  });
});
