// The int8 user layer's fast path (arena, fused range + quantize + stage passes) against the scalar
// definition of each activation scheme, bit for bit: per tensor (DynamicQuantizeLinear's uint8
// rule), per row (symmetric int8, scale max|x|/127), static; 8- and 7-bit weights (the relaxed
// build's c4 layout); shapes around the kernels' tiles; a growing M, overlapping calls, the heap
// given back on dispose, and NaN / infinity refused with the row named.

import { describe, expect, it } from 'vitest';
import { dynamicQuantParams, Linear } from '../src/index.js';
import { quantizeColumnsSymmetric, symmetricColumnScales } from '../src/quant/q8.js';
import { int8Format } from '../src/formats/int8.js';
import { quantizeWeightsQ8 } from '../src/kernels/q8-weights.js';
import { refDequantizeAcc, refMatMulInteger } from '../src/kernels/qs8.js';
import { refQuantize } from '../src/kernels/q8.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const f = Math.fround;

type Scheme = 'dynamic-per-tensor' | 'dynamic-per-row' | 'static';

function minMax(x: Float32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** the scalar definition of the layer's forward, from its quantized weights */
function reference(layer: Linear, x: Float32Array, m: number, scheme: Scheme, bias: Float32Array | null, calibration: Float32Array, relu: boolean): Float32Array {
  const { k, n, q, scales } = layer.weights.data as { k: number; n: number; q: Int8Array; scales: Float32Array };
  const zeros = new Int32Array(Math.max(m, n));
  if (scheme === 'dynamic-per-row') {
    const rowScale = new Float32Array(m);
    for (let i = 0; i < m; i++) {
      let a = 0;
      for (let j = 0; j < k; j++) a = Math.max(a, Math.abs(x[i * k + j]));
      rowScale[i] = a > 0 ? f(a / 127) : 1;
    }
    const a = refQuantize(x, { outer: 1, channels: m, inner: k }, rowScale, zeros, true);
    return refDequantizeAcc(refMatMulInteger(a, q, m, k, n, 0, zeros), m, n, scales, rowScale, bias ?? undefined, relu);
  }
  const [lo, hi] = minMax(scheme === 'static' ? calibration : x);
  const p = dynamicQuantParams(lo, hi, 0, 255);
  const a = refQuantize(x, { outer: 1, channels: 1, inner: x.length }, [p.scale], [p.zeroPoint], false);
  return refDequantizeAcc(refMatMulInteger(a, q, m, k, n, p.zeroPoint, zeros), m, n, scales, new Float32Array(m).fill(p.scale), bias ?? undefined, relu);
}

const SCHEMES: Scheme[] = ['dynamic-per-tensor', 'dynamic-per-row', 'static'];

describe(`int8 linear fast path (${SIMD} build)`, () => {
  for (const weightBits of [8, 7]) {
    for (const [m, k, n] of [[1, 37, 5], [3, 64, 24], [5, 17, 9], [17, 96, 40], [4, 1, 8], [9, 130, 33]]) {
      it(`${weightBits}-bit weights, ${m}x${k}x${n}: every scheme equals its scalar definition, on 1 and 2 threads`, async () => {
        const r = rng(m * 1000 + k * 10 + n + weightBits);
        const weight = randNormal(k * n, r, 0.05);
        const bias = randNormal(n, r, 0.1);
        // a shifted input, so the per-tensor zero point is not 128, and one all-zero row (per-row scale 1)
        const x = randNormal(m * k, r, 1).map((v) => v + 0.7);
        x.fill(0, 0, k);
        const calibration = randNormal(8 * k, r, 1.2);
        for (const activations of SCHEMES) {
          for (const relu of [false, true]) {
            const want = reference(await rts.one.linear(weight, [k, n], bias, { weightBits, activations, calibration, relu }), x, m, activations, bias, calibration, relu);
            for (const rt of [rts.one, rts.two]) {
              const layer = await rt.linear(weight, [k, n], bias, { weightBits, activations, calibration, relu });
              if (SIMD === 'relaxed' && weightBits === 7) expect(layer.kernelLayout).toBe('c4');
              expect(firstMismatch(await layer.forward(x), want), `${activations} relu ${relu} threads ${rt.threads}`).toBeNull();
              // a second call on the kept arena gives the same bits
              expect(firstMismatch(await layer.forward(x), want)).toBeNull();
              layer.dispose();
            }
          }
        }
      });
    }
  }

  it('a growing and shrinking M, and overlapping calls, each get their own rows', async () => {
    const k = 48, n = 24;
    const r = rng(7);
    const weight = randNormal(k * n, r, 0.05);
    for (const activations of SCHEMES) {
      const calibration = randNormal(4 * k, r, 1);
      const layer = await rts.two.linear(weight, [k, n], null, { activations, calibration });
      const inputs = [2, 9, 1, 33, 4].map((m) => randNormal(m * k, r, 1));
      const want = inputs.map((x) => reference(layer, x, x.length / k, activations, null, calibration, false));
      for (let i = 0; i < inputs.length; i++) expect(firstMismatch(await layer.forward(inputs[i]), want[i]), `${activations} call ${i}`).toBeNull();
      const together = await Promise.all(inputs.map((x) => layer.forward(x)));
      for (let i = 0; i < inputs.length; i++) expect(firstMismatch(together[i], want[i]), `${activations} overlapping call ${i}`).toBeNull();
      layer.dispose();
    }
  });

  it('gives its linear memory back on dispose, and keeps no float weights unless asked', async () => {
    const k = 64, n = 32;
    const weight = randNormal(k * n, rng(3), 0.05);
    const before = rts.one.heap.inUse;
    const layer = await rts.one.linear(weight, [k, n]);
    await layer.forward(randNormal(16 * k, rng(4), 1));
    expect(rts.one.heap.inUse).toBeGreaterThan(before);
    layer.dispose();
    expect(rts.one.heap.inUse).toBe(before);
    await expect(layer.forward(randNormal(2 * k, rng(4), 1))).rejects.toThrow(/disposed/);
    expect(rts.one.heap.inUse).toBe(before);
  });

  it('refuses NaN and infinity in every scheme, naming the row per row', async () => {
    const k = 40, n = 8;
    const weight = randNormal(k * n, rng(5), 0.05);
    for (const activations of SCHEMES) {
      const layer = await rts.one.linear(weight, [k, n], null, { activations, calibration: randNormal(k, rng(6), 1) });
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of [0, 2 * k + 3, 3 * k - 1]) {
          const x = randNormal(3 * k, rng(8), 1);
          x[at] = bad;
          await expect(layer.forward(x)).rejects.toThrow(activations === 'dynamic-per-row' ? new RegExp(`row ${Math.floor(at / k)} contains NaN or Infinity`) : /x: .*NaN or Infinity/);
        }
      }
      layer.dispose();
    }
  });
});

describe(`int8 weights quantized in wasm (${SIMD} build)`, () => {
  it('quantizeWeightsQ8 equals symmetricColumnScales + quantizeColumnsSymmetric, [K, N] and [N, K], across chunks', async () => {
    for (const [k, n] of [[1, 1], [3, 5], [37, 19], [130, 33], [1100, 1000]]) {
      const r = rng(k * 7 + n);
      const wkn = randNormal(k * n, r, 0.05);
      // an all-zero column, and values on rounding ties of their column's scale
      for (let t = 0; t < k; t++) wkn[t * n + (n - 1)] = 0;
      if (n > 2) for (let t = 0; t < k; t++) wkn[t * n + 1] = t === 0 ? 127 : (t % 5) - 2.5;
      const wnk = new Float32Array(k * n);
      for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = wkn[t * n + j];
      for (const qmax of [127, 63]) {
        const scales = symmetricColumnScales(wkn, k, n, qmax);
        const q = quantizeColumnsSymmetric(wkn, k, n, scales, qmax);
        for (const [w, transposed] of [[wkn, false], [wnk, true]] as const) {
          const got = quantizeWeightsQ8(rts.one, w, k, n, transposed, qmax);
          expect(firstMismatch(got.scales, scales), `${k}x${n} qmax ${qmax} transposed ${transposed}: scales`).toBeNull();
          expect(firstMismatch(got.q, q), `${k}x${n} qmax ${qmax} transposed ${transposed}: q`).toBeNull();
        }
      }
    }
  });

  it('a layer from [N, K] weights equals the one from [K, N]; a layer over int8 weights (fromWeights) runs each scheme', async () => {
    const k = 70, n = 21, m = 6;
    const r = rng(12);
    const wkn = randNormal(k * n, r, 0.05), bias = randNormal(n, r, 0.1), x = randNormal(m * k, r, 1);
    const wnk = new Float32Array(k * n);
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = wkn[t * n + j];
    for (const activations of ['dynamic-per-tensor', 'dynamic-per-row'] as const) {
      const a = await rts.one.linear(wkn, [k, n], bias, { activations, reference: true });
      const b = await rts.one.linear(wnk, [n, k], bias, { activations, transposed: true, reference: true });
      expect(firstMismatch(await b.forward(x), await a.forward(x))).toBeNull();
      expect(firstMismatch(await b.forwardFloat(x), await a.forwardFloat(x))).toBeNull();
      const { q, scales } = a.weights.data as { q: Int8Array; scales: Float32Array };
      const c = await Linear.fromWeights(rts.one, int8Format, { k, n, q, scales, input: null }, bias, { activations });
      expect(firstMismatch(await c.forward(x), await a.forward(x)), activations).toBeNull();
      for (const l of [a, b, c]) l.dispose();
    }
    await expect(Linear.fromWeights(rts.one, int8Format, { k, n, q: new Int8Array(k * n), scales: new Float32Array(n).fill(1), input: null }, null, { activations: 'static' }))
      .rejects.toThrow(/activations: 'static' needs the weights' input quantization/);
  });
});
