// A saved quantized model cannot silently run wrong: single-bit flips anywhere in its data section
// (and in its header) are typed errors or change nothing; a file for another graph, an older
// version, a name given twice, a stray tensor, a damaged field or a weight layer the file does not
// account for are refused with a ModelError naming what is wrong.

import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, LowbitError, loadModel, loadQuantized, ModelError, quantizeModel, readSafetensors, saveQuantized, writeSafetensors, type Model } from '../src/index.js';
import { metadataChecksum } from '../src/model/saved.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';
import { forge } from './saved-forge.js';

const rts = useRuntimes();

/** Conv 3x3 -> Relu -> grouped Conv (stays float32) -> Flatten -> MatMul -> Softmax, with weights from `seed`. */
function onnx(seed: number, strides = 1): Uint8Array {
  const r = rng(seed);
  return new OnnxBuilder(13).input('x', [1, 4, 8, 8]).output('y')
    .init('w1', [8, 4, 3, 3], randNormal(8 * 4 * 9, r, 0.3)).init('b1', [8], randNormal(8, r, 0.1))
    .init('w2', [8, 4, 1, 1], randNormal(8 * 4, r, 0.3))
    .init('w3', [8 * 64 / strides / strides, 10], randNormal((8 * 64 / strides / strides) * 10, r, 0.1))
    .node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1], strides: [strides, strides] }).node('Relu', ['c1'], 'r1')
    .node('Conv', ['r1', 'w2'], 'c2', { group: 2 }).node('Flatten', ['c2'], 'f')
    .node('MatMul', ['f', 'w3'], 'z').node('Softmax', ['z'], 'y')
    .build();
}
const feed = (seed: number) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: randNormal(256, rng(seed)) } });
const out = async (m: Model) => Array.from((await m.run(feed(5))).y.data);

async function saved(float: Model, scheme: string): Promise<{ file: Uint8Array; want: number[] }> {
  const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(1), feed(2)] }); // every layer quantized: each one's record is checked
  const want = await out(q);
  const file = saveQuantized(q);
  q.dispose();
  return { file, want };
}

/** loadQuantized and a run: the outputs, or the error (which must be a LowbitError). */
async function tryLoad(float: Model, file: Uint8Array): Promise<number[] | LowbitError> {
  try {
    const m = loadQuantized(float, file);
    try {
      return await out(m);
    } finally {
      m.dispose();
    }
  } catch (e) {
    if (!(e instanceof LowbitError)) throw e;
    return e;
  }
}

describe(`saved-model integrity (${SIMD} build)`, () => {
  it('every scheme: 500 single-bit flips in the data section are each a typed error or change nothing; 200 in the header too', async () => {
    const float = loadModel(rts.one, onnx(1));
    for (const scheme of FORMAT_NAMES) {
      const { file, want } = await saved(float, scheme);
      expect(await tryLoad(float, file), scheme).toEqual(want);
      const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
      const r = rng(100 + scheme.length);
      const count = { data: { typed: 0, same: 0 }, header: { typed: 0, same: 0 } };
      for (const [where, lo, hi, flips] of [['data', headerEnd, file.length, 500], ['header', 8, headerEnd, 200]] as const) {
        for (let i = 0; i < flips; i++) {
          const bad = file.slice();
          const at = lo + Math.floor(r() * (hi - lo));
          bad[at] ^= 1 << Math.floor(r() * 8);
          const got = await tryLoad(float, bad);
          if (got instanceof LowbitError) count[where].typed++;
          else {
            // no silent change: a flip that loads gives the same bits
            expect(got, `${scheme}: ${where} byte ${at} flipped`).toEqual(want);
            count[where].same++;
          }
        }
      }
      expect(count.data.typed, scheme).toBe(500); // every data byte is under a checksum
      expect(count.header.typed + count.header.same).toBe(200);
    }
    float.dispose();
  }, 240_000);

  it('refuses a file for another graph: other weights, another attribute', async () => {
    const float = loadModel(rts.one, onnx(1));
    const { file } = await saved(float, 'int8');
    for (const other of [loadModel(rts.one, onnx(2)), loadModel(rts.one, onnx(1, 2)), loadModel(rts.one, onnx(1), { fuse: false })]) {
      expect(() => loadQuantized(other, file)).toThrow(ModelError);
      expect(() => loadQuantized(other, file)).toThrow(/quantized from another graph/);
      other.dispose();
    }
    float.dispose();
  });

  it('refuses older and unknown versions, an edited metadata, names given twice and stray tensors', async () => {
    const float = loadModel(rts.one, onnx(1));
    const { file } = await saved(float, 'int4');
    const { tensors, metadata } = readSafetensors(file);
    const withMeta = (m: Record<string, string>) => writeSafetensors(tensors, { ...m, sha256: metadataChecksum(m) });
    expect(() => loadQuantized(float, withMeta({ ...metadata, version: '1' }))).toThrow(/from an older lowbit \(saved-model version 1/);
    expect(() => loadQuantized(float, withMeta({ ...metadata, version: '3' }))).toThrow(/version '3' is not one this lowbit reads/);
    expect(() => loadQuantized(float, writeSafetensors(tensors, { ...metadata, scheme: 'int8' }))).toThrow(/metadata checksum fails/);
    // a layer record given twice (JSON.parse would keep the last one)
    const layers = metadata.layers;
    const key = Object.keys(JSON.parse(layers))[0];
    const rec = JSON.stringify(JSON.parse(layers)[key]);
    expect(() => loadQuantized(float, withMeta({ ...metadata, layers: `{${JSON.stringify(key)}:${rec},${layers.slice(1)}` }))).toThrow(new RegExp(`name layer '${key}' twice`));
    // a tensor named twice in the safetensors header
    const text = new TextDecoder().decode(file.subarray(8, 8 + Number(new DataView(file.buffer).getBigUint64(0, true))));
    const name = [...tensors.keys()][0];
    const entry = JSON.stringify(JSON.parse(text)[name]);
    const dup = new TextEncoder().encode(`{${JSON.stringify(name)}:${entry},${text.trimEnd().slice(1)}`);
    const doubled = new Uint8Array(8 + dup.length + (file.length - 8 - text.length));
    new DataView(doubled.buffer).setBigUint64(0, BigInt(dup.length), true);
    doubled.set(dup, 8);
    doubled.set(file.subarray(8 + text.length), 8 + dup.length);
    expect(() => loadQuantized(float, doubled)).toThrow(new RegExp(`names tensor '${name}' twice`));
    // a tensor that belongs to no record
    const more = new Map(tensors).set('stray/q', { dtype: 'U8', shape: [1], data: Uint8Array.of(1) });
    expect(() => loadQuantized(float, writeSafetensors(more, metadata))).toThrow(/tensor 'stray\/q' belongs to no layer record/);
    float.dispose();
  });

  it('names the layer and the field of a damaged tensor; forged fields out of range are refused', async () => {
    const float = loadModel(rts.one, onnx(1));
    const { file } = await saved(float, 'int8');
    const { tensors, metadata } = readSafetensors(file);
    const recs = JSON.parse(metadata.layers) as Record<string, { input: { scale: number; zeroPoint: number } }>;
    const key = Object.keys(recs)[0];
    const q = tensors.get(`${key}/q`)!;
    const flipped = new Map(tensors).set(`${key}/q`, { ...q, data: Int8Array.from(q.data, (v, i) => (i === 7 ? v ^ 4 : v)) });
    expect(() => loadQuantized(float, writeSafetensors(flipped, metadata))).toThrow(new RegExp(`layer '${key}' field q: the checksum fails`));
    // with valid checksums, the readers' own checks: input scale 0 or -1, zero point 300, weight scales NaN or 0
    for (const input of [{ scale: 0, zeroPoint: 3 }, { scale: -1, zeroPoint: 3 }, { scale: 0.1, zeroPoint: 300 }]) {
      expect(() => loadQuantized(float, forge(tensors, metadata, { ...recs, [key]: { ...recs[key], input } })), JSON.stringify(input)).toThrow(new RegExp(`int8 layer '${key}' has input scale`));
    }
    for (const v of [NaN, 0, -1]) {
      const s = tensors.get(`${key}/scales`)!;
      const bad = new Map(tensors).set(`${key}/scales`, { ...s, data: Float32Array.from(s.data, (x, i) => (i === 1 ? v : x)) });
      expect(() => loadQuantized(float, forge(bad, metadata)), String(v)).toThrow(new RegExp(`int8 layer '${key}' has scales\\[1\\] = ${v}`));
    }
    // in range but forged: a weight scale of 1e30 (or 30x) passes the reader, not the fit against the float weights (saved-fit.ts)
    for (const factor of [1e30 / 0.01, 30]) {
      const s = tensors.get(`${key}/scales`)!;
      const bad = new Map(tensors).set(`${key}/scales`, { ...s, data: Float32Array.from(s.data, (x, i) => (i === 1 ? x * factor : x)) });
      const m = loadQuantized(float, forge(bad, metadata));
      await expect(m.run(feed(5)), String(factor)).rejects.toThrow(new RegExp(`int8 layer '${key}' row 1: its stored weights do not fit the model's`));
      m.dispose();
    }
    float.dispose();
  });

  it('a weight layer the file neither quantizes nor lists as float32 is an error, never a silent float32 layer', async () => {
    const float = loadModel(rts.one, onnx(1));
    const { file } = await saved(float, 'int8');
    const { tensors, metadata } = readSafetensors(file);
    const recs = JSON.parse(metadata.layers) as Record<string, unknown>;
    expect(JSON.parse(metadata.float)).toEqual(['c2']); // the grouped convolution
    expect(Object.keys(recs).sort()).toEqual(['r1', 'z']); // Conv + Relu fused
    const drop = (k: string) => new Map([...tensors].filter(([n]) => !n.startsWith(`${k}/`)));
    const { z, ...rest } = recs;
    void z;
    const m = loadQuantized(float, forge(drop('z'), metadata, rest));
    await expect(m.run(feed(5))).rejects.toThrow(/layer 'z' has weights but the file neither quantizes it nor lists it as float32/);
    m.dispose();
    expect(() => loadQuantized(float, forge(new Map(), metadata, {}))).toThrow(/the file has no quantized layers/);
    expect(() => loadQuantized(float, forge(tensors, metadata, recs, { float: '["r1"]' }))).toThrow(/layer 'r1' is both quantized and listed as float32/);
    expect(() => loadQuantized(float, forge(tensors, metadata, recs, { float: '{}' }))).toThrow(/list of float32 layers/);
    float.dispose();
  });
});
