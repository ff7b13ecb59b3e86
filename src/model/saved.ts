// Saving a quantized model so it reloads without quantizing (or calibrating) again. The file is
// safetensors: each quantized layer's weights as tensors named '<layer>/<part>', and in the
// metadata a JSON record per layer (scheme, sizes, the int8 input quantization, the ANT type).
// The graph and the float32 parts (depthwise convolutions, LayerNorm, …) come from the same .onnx
// file, which is given again at load; a layer whose weights do not fit the graph is an error.
//
//   int8: q I8 [K, N], scales F32 [N]                       record: k, n, input { scale, zeroPoint }
//   int4: codes U8 [N, ceil(K/2)] (two per byte), scales F32 [N, blocks], zero_points U8 (when asymmetric)
//                                                           record: k, n, blockSize
//   ant4: codes U8 [N, ceil(K/2)] (two per byte), scales F32 [N, blocks], table I8 [16]
//                                                           record: k, n, blockSize (32..256 or 'channel'), type
//         (a type per channel: tables I8 [T, 16] and column_tables I32 [N] instead of table; record: tables T)
//   fp8:  codes U8 [K, N] (E4M3FN or E5M2), scales F32 [N]  record: k, n, format

import { ModelError } from '../errors.js';
import type { Fp8Format } from '../quant/fp8.js';
import { QuantConvLayer, QuantLinearLayer } from './layers.js';
import { buildFloatLayer, Model, type LayerBuilder } from './model.js';
import { layerFromWeights } from './quantize.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from './safetensors.js';
import type { QuantizedWeights } from '../layers/quantized-weights.js';
import { lut4BlockSize, type Lut4Source } from '../kernels/lut4.js';

const FORMAT = 'lowbit.quantized-model';

interface LayerRecord {
  scheme: QuantizedWeights['scheme'];
  k: number;
  n: number;
  input?: { scale: number; zeroPoint: number };
  blockSize?: number | 'channel';
  type?: string;
  format?: Fp8Format;
  zeroPoints?: boolean;
  /** ant4 with a type per channel: how many tables */
  tables?: number;
}

/** The quantized weights of every layer the model has built (run or plan it once first). */
export function saveQuantized(model: Model): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  const records: Record<string, LayerRecord> = {};
  for (const [node, layer] of model.builtLayers) {
    if (!(layer instanceof QuantConvLayer) && !(layer instanceof QuantLinearLayer)) continue;
    const key = node.outputs[0];
    const w = layer.weights;
    const put = (part: string, t: SafeTensor) => tensors.set(`${key}/${part}`, t);
    switch (w.scheme) {
      case 'int8':
        put('q', { dtype: 'I8', shape: [w.k, w.n], data: w.q });
        put('scales', { dtype: 'F32', shape: [w.n], data: w.scales });
        records[key] = { scheme: 'int8', k: w.k, n: w.n, input: { ...w.input } };
        break;
      case 'int4': {
        const b = w.blocks;
        put('codes', { dtype: 'U8', shape: [b.n, Math.ceil(b.k / 2)], data: packNibbles(b.q, b.n, b.k) });
        put('scales', { dtype: 'F32', shape: [b.n, b.scales.length / b.n], data: b.scales });
        if (b.zeroPoints) put('zero_points', { dtype: 'U8', shape: [b.n, b.zeroPoints.length / b.n], data: b.zeroPoints });
        records[key] = { scheme: 'int4', k: b.k, n: b.n, blockSize: b.blockSize, zeroPoints: !!b.zeroPoints };
        break;
      }
      case 'ant4': {
        const s = w.source;
        if (!s.packed) throw new ModelError(`save: ant4 layer '${key}' holds unpacked codes`);
        put('codes', { dtype: 'U8', shape: [s.n, Math.ceil(s.k / 2)], data: s.packed });
        put('scales', { dtype: 'F32', shape: [s.n, s.scales.length / s.n], data: s.scales });
        if (s.tables && s.columnTables) {
          // a type per channel: the distinct tables and each channel's index
          const all = new Int8Array(16 * s.tables.length);
          s.tables.forEach((t, g) => all.set(t, 16 * g));
          put('tables', { dtype: 'I8', shape: [s.tables.length, 16], data: all });
          put('column_tables', { dtype: 'I32', shape: [s.n], data: Int32Array.from(s.columnTables) });
          records[key] = { scheme: 'ant4', k: s.k, n: s.n, blockSize: s.blockSize, type: w.type, tables: s.tables.length };
        } else {
          if (!s.table) throw new ModelError(`save: ant4 layer '${key}' has no table`);
          put('table', { dtype: 'I8', shape: [16], data: s.table });
          records[key] = { scheme: 'ant4', k: s.k, n: s.n, blockSize: s.blockSize, type: w.type };
        }
        break;
      }
      case 'fp8':
        put('codes', { dtype: 'U8', shape: [w.q.k, w.q.n], data: w.q.codes });
        put('scales', { dtype: 'F32', shape: [w.q.n], data: w.q.scales });
        records[key] = { scheme: 'fp8', k: w.q.k, n: w.q.n, format: w.q.format };
        break;
    }
  }
  if (Object.keys(records).length === 0) throw new ModelError('save: the model has no quantized layers built yet (run or plan it once: layers are built with the first plan)');
  return writeSafetensors(tensors, { format: FORMAT, version: '1', scheme: model.scheme, layers: JSON.stringify(records) });
}

/** A quantized model from a saved file and the float model of the same .onnx file. */
export function loadQuantized(float: Model, bytes: Uint8Array): Model {
  const { tensors, metadata } = readSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new ModelError(`load: not a lowbit quantized model (metadata format is '${metadata.format ?? 'missing'}')`);
  let records: Record<string, LayerRecord>;
  try {
    records = JSON.parse(metadata.layers ?? '');
  } catch {
    throw new ModelError('load: the layer records in the metadata are not valid JSON');
  }
  const tensor = (key: string, part: string, dtype: SafeTensor['dtype'], count: number) => {
    const t = tensors.get(`${key}/${part}`);
    if (!t || t.dtype !== dtype || t.data.length !== count) throw new ModelError(`load: layer '${key}' needs ${part} as ${count} ${dtype} values`);
    return t.data;
  };
  const weights = new Map<string, QuantizedWeights>();
  for (const [key, r] of Object.entries(records)) {
    const { k, n } = r;
    if (!Number.isSafeInteger(k) || !Number.isSafeInteger(n) || k < 1 || n < 1) throw new ModelError(`load: layer '${key}' has bad sizes`);
    if (r.scheme === 'int8') {
      if (!r.input || !Number.isFinite(r.input.scale) || !Number.isInteger(r.input.zeroPoint)) throw new ModelError(`load: int8 layer '${key}' lacks its input quantization`);
      weights.set(key, { scheme: 'int8', k, n, q: tensor(key, 'q', 'I8', k * n) as Int8Array, scales: tensor(key, 'scales', 'F32', n) as Float32Array, input: r.input });
    } else if (r.scheme === 'int4') {
      const bs = r.blockSize as number, nb = Math.ceil(k / bs);
      weights.set(key, {
        scheme: 'int4',
        blocks: { k, n, blockSize: bs, q: unpackNibbles(tensor(key, 'codes', 'U8', n * Math.ceil(k / 2)) as Uint8Array, n, k), scales: tensor(key, 'scales', 'F32', n * nb) as Float32Array, zeroPoints: r.zeroPoints ? (tensor(key, 'zero_points', 'U8', n * nb) as Uint8Array) : null },
      });
    } else if (r.scheme === 'ant4') {
      // blockSize: a LUT4 block (32..256) or 'channel' (files from before block-wise ant4 have none: per channel)
      const bs = r.blockSize ?? 'channel';
      if (bs !== 'channel' && !(Number.isInteger(bs) && bs >= 32 && bs <= 256 && (bs & (bs - 1)) === 0)) throw new ModelError(`load: ant4 layer '${key}' has block size ${String(bs)}; expected a power of two from 32 to 256 or 'channel'`);
      const nb = Math.ceil(k / lut4BlockSize(k, bs));
      const common = { n, k, packed: tensor(key, 'codes', 'U8', n * Math.ceil(k / 2)) as Uint8Array, scales: tensor(key, 'scales', 'F32', n * nb) as Float32Array, blockSize: bs };
      let source: Lut4Source;
      if (r.tables !== undefined) {
        const g = r.tables;
        // each table is some channel's: at most N of them
        if (!Number.isInteger(g) || g < 1 || g > n) throw new ModelError(`load: ant4 layer '${key}' has ${String(g)} tables; expected an integer from 1 to N = ${n}`);
        const all = tensor(key, 'tables', 'I8', 16 * g) as Int8Array;
        const columnTables = tensor(key, 'column_tables', 'I32', n) as Int32Array;
        for (let j = 0; j < n; j++) if (!(columnTables[j] >= 0 && columnTables[j] < g)) throw new ModelError(`load: ant4 layer '${key}': channel ${j} has table index ${columnTables[j]}, expected 0..${g - 1}`);
        source = { ...common, tables: Array.from({ length: g }, (_, i) => all.slice(16 * i, 16 * i + 16)), columnTables };
      } else {
        source = { ...common, table: tensor(key, 'table', 'I8', 16) as Int8Array };
      }
      weights.set(key, { scheme: 'ant4', type: String(r.type), source });
    } else if (r.scheme === 'fp8') {
      weights.set(key, { scheme: 'fp8', q: { format: r.format ?? 'e4m3fn', k, n, codes: tensor(key, 'codes', 'U8', k * n) as Uint8Array, scales: tensor(key, 'scales', 'F32', n) as Float32Array } });
    } else {
      throw new ModelError(`load: layer '${key}' has unknown scheme '${String(r.scheme)}'`);
    }
  }
  const builder: LayerBuilder = (rt, node, spec) => {
    const w = weights.get(node.outputs[0]);
    return w ? layerFromWeights(rt, spec, w) : buildFloatLayer(rt, node, spec);
  };
  return new Model(float.rt, float.graph, float.fusions, builder, metadata.scheme ?? 'saved');
}

/** Rows of 4-bit codes, two per byte: element 2i in the low nibble, 2i+1 in the high (MatMulNBits' order). */
function packNibbles(q: Uint8Array, n: number, k: number): Uint8Array {
  const row = Math.ceil(k / 2), out = new Uint8Array(n * row);
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[j * row + (t >> 1)] |= (q[j * k + t] & 15) << ((t & 1) * 4);
  return out;
}

function unpackNibbles(p: Uint8Array, n: number, k: number): Uint8Array {
  const row = Math.ceil(k / 2), out = new Uint8Array(n * k);
  for (let j = 0; j < n; j++) for (let t = 0; t < k; t++) out[j * k + t] = (p[j * row + (t >> 1)] >> ((t & 1) * 4)) & 15;
  return out;
}
