// quantizeModel's integerOnly option (src/model/ivit-layers.ts) on PP-OCRv4's recognizer: its SVTR
// attention blocks' softmax, LayerNorms and MLP Swish run on the I-ViT integer-only kernels (the
// final CTC Softmax, the model's output, stays float), the integer path really runs (the output
// differs from plain int8's), and the readings stay within the stated budget of plain int8's.
// bench/accuracy.mjs measures the full calibration/test split (README's transformer section).

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../src/errors.js';
import { loadModel, quantizeModel, type Model } from '../src/index.js';
import { ctcGreedyDecode, scoreReadings, toModelInput } from '../src/ocr.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrLines, type OcrLine } from '../packages/cli/src/ocr-lines.js';
import { SIMD, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const lines = loadOcrLines();
const dict = loadDictionary();
const feeds = (l: OcrLine) => ({ x: toModelInput([l]) });
let float: Model;

beforeAll(() => {
  float = loadModel(rts.one, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
});
afterAll(() => float?.dispose());

describe(`integerOnly on PP-OCRv4 (${SIMD} build)`, () => {
  it('runs the attention blocks integer-only and reads within 2 points of plain int8 (every 8th line calibrates, the others test)', async () => {
    const calibration = lines.filter((_, i) => i % 8 === 0).map(feeds), test = lines.filter((_, i) => i % 8 !== 0).slice(0, 48);
    const int8 = await quantizeModel(float, { scheme: 'int8', calibration });
    const io = await quantizeModel(float, { scheme: 'int8', calibration, integerOnly: true });
    const kinds: Record<string, number> = {};
    for (const s of io.plan({ x: feeds(test[0]).x.dims }).steps) if (s.layer) kinds[s.layer.kind] = (kinds[s.layer.kind] ?? 0) + 1;
    expect(kinds['I-LayerNorm']).toBe(5);
    expect(kinds['Attention (Shiftmax)']).toBe(2);
    expect(kinds['Linear + ShiftGELU']).toBe(2);
    expect(kinds.Softmax).toBe(1); // the CTC head's, the model's output
    const read = async (m: Model) => {
      const out: string[] = [];
      let differs = false;
      for (const l of test) {
        const y = Object.values(await m.run(feeds(l)))[0];
        out.push(ctcGreedyDecode(y.data, y.dims, dict)[0].text);
        if (m === io) differs ||= !y.data.every((v, i) => v === refOut.get(l)![i]);
        else refOut.set(l, Float32Array.from(y.data));
      }
      return { score: scoreReadings(test.map((l) => l.label), out), differs };
    };
    const refOut = new Map<OcrLine, Float32Array>();
    const a = await read(int8), b = await read(io);
    expect(b.differs).toBe(true);
    expect(io.weightBytes).toBe(int8.weightBytes); // the wrapped linear layers count theirs
    expect(b.score.accuracy).toBeGreaterThanOrEqual(a.score.accuracy - 0.02);
    int8.dispose();
    io.dispose();
  }, 240_000);

  it('integerOnly must be a boolean', async () => {
    await expect(quantizeModel(float, { scheme: 'int8', calibration: [feeds(lines[0])], integerOnly: 1 as unknown as boolean })).rejects.toThrow(ArgumentError);
    await expect(quantizeModel(float, { scheme: 'int8', calibration: [feeds(lines[0])], integerOnly: 'yes' as unknown as boolean })).rejects.toThrow(/quantize: integerOnly must be a boolean, got/);
  });

  it('integerOnly is refused where layers would be rebuilt after its scales freeze (another scheme, speed measured)', async () => {
    // a rebuilt integer-only layer would not be frozen and would run float: refused up front, before any work
    await expect(quantizeModel(float, { scheme: 'int4', calibration: [feeds(lines[0])], integerOnly: true })).rejects.toThrow(/integerOnly runs with scheme 'int8' .* got scheme int4/);
    await expect(quantizeModel(float, { scheme: 'auto', calibration: [feeds(lines[0])], integerOnly: true })).rejects.toThrow(ArgumentError);
    await expect(quantizeModel(float, { scheme: 'int8', calibration: [feeds(lines[0])], integerOnly: true, speed: 'measured' })).rejects.toThrow(/with speed measured/);
  });
});
