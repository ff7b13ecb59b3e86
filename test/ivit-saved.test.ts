// A model quantized with integerOnly saves its integer-only ops' static scales (src/model/ivit-saved.ts)
// and loads back to the same output bits, on PP-OCRv4's recognizer (5 I-LayerNorm, 2 Shiftmax, 2
// ShiftGELU); damaged or edited records are refused with a ModelError naming the layer and field.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, loadQuantized, ModelError, quantizeModel, readSafetensors, saveQuantized, writeSafetensors, type Model } from '../src/index.js';
import { toModelInput } from '../src/ocr.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { loadOcrLines, type OcrLine } from '../packages/cli/src/ocr-lines.js';
import { SIMD, useRuntimes } from './helpers.js';
import { forge } from './saved-forge.js';
import { IvitLayer, type IvitScales } from '../src/model/ivit-layers.js';

const rts = useRuntimes();
const lines = loadOcrLines();
const feeds = (l: OcrLine) => ({ x: toModelInput([l]) });
const test = [lines[1], lines[2]];
let float: Model;
let file: Uint8Array;
let want: Float32Array[];
/** the in-memory model's frozen scales, by layer */
let scales: Record<string, IvitScales>;

const scalesOf = (m: Model) => {
  const r: Record<string, IvitScales> = {};
  for (const [node, l] of m.builtLayers) if (l instanceof IvitLayer) r[node.outputs[0]] = { ...l.scales! };
  return r;
};

const outs = async (m: Model) => {
  const r: Float32Array[] = [];
  for (const l of test) r.push(Float32Array.from(Object.values(await m.run(feeds(l)))[0].data));
  return r;
};

beforeAll(async () => {
  float = loadModel(rts.one, new Uint8Array(readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx'))));
  const io = await quantizeModel(float, { scheme: 'int8', calibration: [lines[0], lines[8], lines[16]].map(feeds), integerOnly: true });
  want = await outs(io);
  scales = scalesOf(io);
  file = saveQuantized(io);
  io.dispose();
}, 240_000);
afterAll(() => float?.dispose());

/** The file with its integer-only records edited (checksums made valid again, so the records' own checks answer). */
function edited(edit: (r: Record<string, Record<string, unknown>>) => void): Uint8Array {
  const { tensors, metadata } = readSafetensors(file);
  const records = JSON.parse(metadata.integerOnly);
  edit(records);
  return forge(tensors, metadata, undefined, { integerOnly: JSON.stringify(records) });
}

const keyOf = (op: string) => Object.entries(JSON.parse(readSafetensors(file).metadata.integerOnly) as Record<string, { op: string }>).find(([, r]) => r.op === op)![0];

describe(`integerOnly save and load on PP-OCRv4 (${SIMD} build)`, () => {
  it('saves every integer-only op and loads to the same output bits', async () => {
    const records = JSON.parse(readSafetensors(file).metadata.integerOnly) as Record<string, { op: string }>;
    const ops: Record<string, number> = {};
    for (const r of Object.values(records)) ops[r.op] = (ops[r.op] ?? 0) + 1;
    expect(ops).toEqual({ 'I-LayerNorm': 5, Shiftmax: 2, ShiftGELU: 2 });
    const m = loadQuantized(float, file);
    const got = await outs(m);
    const kinds: Record<string, number> = {};
    for (const s of m.plan({ x: feeds(test[0]).x.dims }).steps) if (s.layer) kinds[s.layer.kind] = (kinds[s.layer.kind] ?? 0) + 1;
    expect(kinds['I-LayerNorm']).toBe(5);
    expect(kinds['Attention (Shiftmax)']).toBe(2);
    expect(kinds['Linear + ShiftGELU']).toBe(2);
    // counted, not diffed: a diff of 80k values takes minutes to print
    for (let i = 0; i < test.length; i++) expect(got[i].filter((v, j) => !Object.is(v, want[i][j])).length, `line ${i}: values that differ`).toBe(0);
    // the scales themselves, exactly (a scale off in its last bits seldom moves an output on two lines)
    expect(Object.keys(scales).length).toBe(9);
    expect(scalesOf(m)).toEqual(scales);
    m.dispose();
  }, 120_000);

  it('refuses edited records: a scale, an extra or missing field, an op that does not fit its node, an unknown layer', async () => {
    const ln = keyOf('I-LayerNorm'), sm = keyOf('Shiftmax'), sg = keyOf('ShiftGELU');
    const refused = (edit: (r: Record<string, Record<string, unknown>>) => void) => () => loadQuantized(float, edited(edit));
    expect(refused((r) => (r[ln].outScale = -1))).toThrow(new RegExp(`integer-only layer '${ln}' field outScale: expected a finite number > 0, got -1`));
    expect(refused((r) => (r[sm].inScale = 'big'))).toThrow(new RegExp(`integer-only layer '${sm}' field inScale`));
    expect(refused((r) => delete r[sg].outScale)).toThrow(new RegExp(`integer-only layer '${sg}' field outScale: expected a finite number > 0, got nothing`));
    expect(refused((r) => (r[sm].outScale = 1 / 256))).toThrow(new RegExp(`integer-only layer '${sm}' has field outScale`));
    expect(refused((r) => (r[ln].op = 'ShiftGELU'))).toThrow(new RegExp(`integer-only layer '${ln}' field op: ShiftGELU does not fit its node \\(LayerNormalization\\)`));
    expect(refused((r) => (r[sm] = { op: 'I-LayerNorm', inScale: 0.1, outScale: 0.1 }))).toThrow(/field op: I-LayerNorm does not fit its node \(lowbit\.Attention\)/);
    expect(refused((r) => (r[ln].op = 'Softmax'))).toThrow(/field op: 'Softmax' is not one of/);
    expect(refused((r) => (r.nowhere = { op: 'Shiftmax', inScale: 0.1 }))).toThrow(/integer-only layer 'nowhere' is not in this model/);
    expect(refused((r) => (r[ln] = [] as unknown as Record<string, unknown>))).toThrow(ModelError);
    // the records themselves: not JSON; removed without the metadata checksum made again
    const { tensors, metadata } = readSafetensors(file);
    expect(() => loadQuantized(float, forge(tensors, metadata, undefined, { integerOnly: '{' }))).toThrow(/integer-only records in the metadata are not valid JSON/);
    const { integerOnly: _, ...stripped } = metadata;
    expect(() => loadQuantized(float, writeSafetensors(tensors, stripped))).toThrow(/metadata checksum fails/);
  });

  it('a missing record, or a scale the integer parameters cannot take, is a ModelError at the first run', async () => {
    const run = async (bytes: Uint8Array) => {
      const m = loadQuantized(float, bytes);
      try {
        await m.run(feeds(test[0]));
      } finally {
        m.dispose();
      }
    };
    const ln = keyOf('I-LayerNorm'), sm = keyOf('Shiftmax');
    await expect(run(edited((r) => delete r[ln]))).rejects.toThrow(new RegExp(`integer-only layer '${ln}' \\(I-LayerNorm\\) has no record in the file`));
    await expect(run(edited((r) => (r[sm].inScale = 1e6)))).rejects.toThrow(new RegExp(`integer-only layer '${sm}' \\(Shiftmax\\): shiftmaxParams: inScale`));
    await expect(run(edited((r) => (r[sm].inScale = 1e6)))).rejects.toThrow(ModelError);
  }, 60_000);
});
