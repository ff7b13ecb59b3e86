// Every entry of the format table, through the table only: its GEMM against its scalar reference
// (bit for bit, or within the tolerance the entry states) on remainder shapes and both thread
// counts, its weights' error against float32 within a stated budget, and its saved record
// round-tripping to the same bits, with the reader refusing damaged scales. A new format gets all
// of this by being in the table; only its error budget is written here.

import { describe, expect, it } from 'vitest';
import { ModelError, WEIGHT_FORMATS, compareTo, type SafeTensor, type SavedRecord, type WeightFormat } from '../src/index.js';
import { runFormatGemm } from '../src/kernels.js';
import { uint8Range } from '../src/quant/activation-range.js';
import type { SavedReader } from '../src/formats/format.js';
import type { Runtime } from '../src/index.js';
import { SIMD, firstMismatch, randNormal, rng, useRuntimes, withinTolerance } from './helpers.js';

const rts = useRuntimes();

/** SQNR (dB) each format's weights must keep on Gaussian weights (measured: int8 ~40, fp8 ~31, fpx ~38, 4-bit 19-21; int8-sparse, half the 4x4 blocks pruned: 4.4) */
const WEIGHT_SQNR_DB: Record<string, number> = { int8: 38, 'int8-dynamic': 38, 'int8-outlier': 38, 'int8-sparse': 3.5, 'int4-sparse': 3, int4: 17, fp8: 29, ant4: 17, nf4: 17, fpx: 35 };

/** [M, K, N]: below, at and above the kernels' tiles and blocks; K < 32 takes the small-block paths */
const SHAPES: [number, number, number][] = [[1, 64, 24], [1, 20, 8], [3, 96, 17], [5, 40, 9], [4, 33, 16], [9, 256, 33], [2, 130, 7]];

function reader(tensors: Map<string, SafeTensor>): SavedReader {
  return {
    key: 'layer',
    has: (part) => tensors.has(part),
    tensor(part, dtype, count) {
      const t = tensors.get(part);
      if (!t || t.dtype !== dtype || t.data.length !== count) throw new ModelError(`needs ${part} as ${count} ${dtype} values`);
      return t.data;
    },
    error: (message) => new ModelError(`layer ${message}`),
  };
}

const run = (rt: Runtime, format: WeightFormat, data: unknown, bias: Float32Array, x: Float32Array, m: number) => runFormatGemm(rt, format, data, x, m, bias);

describe(`the format table (${SIMD} build)`, () => {
  it('has one entry per name, each with a label, a summary and an error budget here', () => {
    const names = WEIGHT_FORMATS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of WEIGHT_FORMATS) {
      expect(f.label.startsWith(f.name), f.name).toBe(true);
      expect(f.summary.length, f.name).toBeGreaterThan(10);
      expect(WEIGHT_SQNR_DB[f.name], `${f.name} needs an error budget in this test`).toBeGreaterThan(0);
    }
  });

  for (const format of WEIGHT_FORMATS) {
    describe(format.name, () => {
      it(`GEMM equals its scalar reference ${format.referenceTolerance === 0 ? 'bit for bit' : `within ${format.referenceTolerance} of max |y|`} on ${SHAPES.length} shapes, 1 and 2 threads`, async () => {
        const r = rng(11);
        for (const [m, k, n] of SHAPES) {
          const w = randNormal(n * k, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r, 0.5);
          const input = uint8Range(Math.min(...x), Math.max(...x));
          const data = format.quantize(w, n, k, { input });
          expect(format.dims(data)).toEqual({ k, n });
          const want = format.reference(data, x, m, bias);
          for (const rt of [rts.one, rts.two]) {
            expect(withinTolerance(await run(rt, format, data, bias, x, m), want, format.referenceTolerance), `${m}x${k}x${n} ${rt.threads} threads`).toBeNull();
          }
        }
      });

      it(`weights within budget: SQNR >= ${WEIGHT_SQNR_DB[format.name]} dB on Gaussian weights; the reference is x times the dequantized weights`, async () => {
        const r = rng(12);
        const [m, k, n] = [4, 256, 48];
        const w = randNormal(n * k, r, 0.05), x = randNormal(m * k, r);
        const data = format.quantize(w, n, k, { input: uint8Range(Math.min(...x), Math.max(...x)) });
        const dq = format.dequantize(data);
        expect(compareTo(w, dq).sqnrDb).toBeGreaterThanOrEqual(WEIGHT_SQNR_DB[format.name]);
        // the GEMM computes x · dequantized W up to the activations' own quantization
        const viaWeights = new Float32Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < k; t++) s += x[i * k + t] * dq[j * k + t];
          viaWeights[i * n + j] = s;
        }
        expect(compareTo(viaWeights, format.reference(data, x, m, null)).sqnrDb).toBeGreaterThan(30);
      });

      it('saves and loads to the same bits; the stored size is what the saved tensors take; damaged scales are refused', async () => {
        const r = rng(13);
        const [m, k, n] = [3, 96, 20];
        const w = randNormal(n * k, r, 0.1), x = randNormal(m * k, r), bias = randNormal(n, r);
        const data = format.quantize(w, n, k, { input: uint8Range(-3, 3) });
        const tensors = new Map<string, SafeTensor>();
        const fields = format.save(data, (part, t) => tensors.set(part, t));
        const record: SavedRecord = JSON.parse(JSON.stringify({ scheme: format.name, k, n, ...fields }));
        let bytes = 0;
        for (const t of tensors.values()) bytes += t.data.byteLength;
        expect(format.storedBytes(data)).toBe(bytes);
        const back = format.load(record, reader(tensors));
        expect(firstMismatch(await run(rts.one, format, back, bias, x, m), await run(rts.one, format, data, bias, x, m))).toBeNull();
        // a NaN scale would run and answer wrong: the reader refuses it
        const scales = tensors.get('scales')!;
        const bad = new Map(tensors).set('scales', { ...scales, data: Float32Array.from(scales.data as Float32Array, (v, i) => (i === 2 ? NaN : v)) });
        expect(() => format.load(record, reader(bad))).toThrow(/scales\[2\] = NaN/);
        expect(() => format.load(record, reader(new Map([...tensors].filter(([p]) => p !== 'scales'))))).toThrow(ModelError);
      });
    });
  }
});
