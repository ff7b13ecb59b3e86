// Saving a quantized model so it reloads without quantizing (or calibrating) again. The file is
// safetensors: each quantized layer's weights as tensors named '<layer>/<part>', and in the
// metadata a JSON record per layer: { scheme (the format's name), k, n, sha256 (of each of its
// tensors), and the format's own fields }. What tensors and fields each format writes, and how its
// reader validates them, is the format's business (src/formats/*.ts). The graph and the float32
// parts (depthwise convolutions, LayerNorm, …) come from the same .onnx file, which is given again
// at load.
//
// Nothing in a file may silently change what the model computes (version 2; anchor: llama.cpp's
// GGUF loader). The file records the fingerprint of the graph it was quantized from
// (src/model/fingerprint.ts), the layers that stay float32, a SHA-256 of every tensor and one of
// the metadata. loadQuantized refuses, with a ModelError naming the layer and the field: another
// graph, a checksum that fails, a name given twice, a tensor no layer owns, a field out of range
// (each format's reader), and a weight layer of the model that the file neither quantizes nor
// lists as float32.
//
// A model quantized with integerOnly also saves its integer-only ops' static scales under the
// metadata key `integerOnly` (src/model/ivit-saved.ts); the metadata checksum covers it when present,
// so a file without it keeps the checksum it had. A model quantized with attention 'int8' saves its
// attention nodes' static K and V scales under `attention` (src/model/attention-saved.ts), the same way.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { ArgumentError, ModelError } from '../errors.js';
import type { LayerWeights, SavedReader, SavedRecord } from '../formats/format.js';
import { findFormat, FORMAT_NAMES } from '../formats/table.js';
import { duplicateKey, readSafetensors, writeSafetensors, type SafeTensor } from '../formats/safetensors.js';
import { graphFingerprint, sha256Hex } from './fingerprint.js';
import { QuantConvLayer, QuantLinearLayer } from './layers.js';
import { buildFloatLayer, Model, type LayerBuilder } from './model.js';
import { allNodes } from './graph.js';
import { layerFromWeights, nonFiniteCheck, weightRowsDims } from './quantize.js';
import { checkWeightsFit } from './saved-fit.js';
import { ivitRecords, parseIvitRecords, restoredIvit, weightLayerOf } from './ivit-saved.js';
import { NON_FINITE_MODES, type NonFinite } from '../layers/nonfinite.js';
import { attentionRecords, parseAttentionRecords, restoredAttention } from './attention-saved.js';
import type { AttentionInt8Ops } from './attention-int8-ops.js';

const FORMAT = 'lowbit.quantized-model';
const VERSION = '2';

/** SHA-256 (hex) of the metadata that decides how the tensors are read. */
export function metadataChecksum(m: Record<string, string>): string {
  const parts = [m.format, m.version, m.scheme, m.graph, m.layers, m.float];
  if (m.integerOnly !== undefined) parts.push(m.integerOnly);
  // tagged: a file with attention records and none for integerOnly must not check as one with integerOnly
  if (m.attention !== undefined) parts.push(`attention:${m.attention}`);
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify(parts))));
}

/** The quantized weights of every layer the model has built (run or plan it once first). */
export function saveQuantized(model: Model): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  const records: Record<string, SavedRecord> = {};
  const float: string[] = [];
  for (const [node, built] of model.builtLayers) {
    const key = node.outputs[0], layer = weightLayerOf(built);
    if (!(layer instanceof QuantConvLayer) && !(layer instanceof QuantLinearLayer)) {
      // a weight layer left float32 (grouped convolutions, layers calibration did not reach)
      if (model.layerSpecs.has(node)) float.push(key);
      continue;
    }
    const { format, data } = layer.weights;
    const sums: Record<string, string> = {};
    const fields = format.save(data, (part: string, t: SafeTensor) => {
      tensors.set(`${key}/${part}`, t);
      sums[part] = sha256Hex(t.data);
    });
    records[key] = { scheme: format.name, ...format.dims(data), ...fields, sha256: sums };
  }
  if (Object.keys(records).length === 0) throw new ModelError('save: the model has no quantized layers (a float model, or one whose layers are not built yet: prepare() or run() it once)');
  const metadata: Record<string, string> = { format: FORMAT, version: VERSION, scheme: model.scheme, graph: graphFingerprint(model.graph), layers: JSON.stringify(records), float: JSON.stringify(float) };
  const ivit = ivitRecords(model);
  if (ivit) metadata.integerOnly = JSON.stringify(ivit);
  const attention = attentionRecords(model);
  if (attention) metadata.attention = JSON.stringify(attention);
  return writeSafetensors(tensors, { ...metadata, sha256: metadataChecksum(metadata) });
}

export interface LoadQuantizedOptions {
  /** a NaN or infinite input to a quantized layer: NaN in the rows it reaches (default) or a ValueRangeError (quantizeModel's option) */
  nonFinite?: NonFinite;
}

/** A quantized model from a saved file and the float model of the same .onnx file. */
export function loadQuantized(float: Model, bytes: Uint8Array, options: LoadQuantizedOptions = {}): Model {
  if (options.nonFinite !== undefined && !NON_FINITE_MODES.includes(options.nonFinite)) throw new ArgumentError(`load: nonFinite must be 'nan' or 'error', got ${String(options.nonFinite)}`);
  const { tensors, metadata } = readSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new ModelError(`load: not a lowbit quantized model (metadata format is '${metadata.format ?? 'missing'}')`);
  if (metadata.version === '1') throw new ModelError('load: the file is from an older lowbit (saved-model version 1, without a graph fingerprint or checksums); quantize the model and save it again');
  if (metadata.version !== VERSION) throw new ModelError(`load: saved-model version '${metadata.version ?? 'missing'}' is not one this lowbit reads (version ${VERSION})`);
  if (metadata.sha256 !== metadataChecksum(metadata)) throw new ModelError('load: the metadata checksum fails (the file is damaged or was edited)');
  if (metadata.graph !== graphFingerprint(float.graph)) throw new ModelError('load: the file was quantized from another graph (its fingerprint differs from this model\'s: another .onnx file, other weights or attributes, or other load options)');
  const records = parseObject(metadata.layers, 'layer records');
  const floatKeys = new Set(parseList(metadata.float));
  const weights = new Map<string, LayerWeights>();
  const used = new Set<string>();
  for (const [key, r] of Object.entries(records) as [string, SavedRecord][]) {
    if (!r || typeof r !== 'object') throw new ModelError(`load: layer '${key}' has no record`);
    if (floatKeys.has(key)) throw new ModelError(`load: layer '${key}' is both quantized and listed as float32`);
    const format = findFormat(String(r.scheme));
    if (!format) throw new ModelError(`load: layer '${key}' has unknown scheme '${String(r.scheme)}'; expected one of ${FORMAT_NAMES.join(', ')}`);
    const { k, n } = r;
    if (!Number.isSafeInteger(k) || !Number.isSafeInteger(n) || k < 1 || n < 1) throw new ModelError(`load: layer '${key}' has bad sizes`);
    const sums = (r.sha256 ?? {}) as Record<string, unknown>;
    const read: SavedReader = {
      key,
      has: (part) => tensors.has(`${key}/${part}`),
      tensor(part, dtype, count) {
        const name = `${key}/${part}`, t = tensors.get(name);
        if (!t || t.dtype !== dtype || t.data.length !== count) throw new ModelError(`load: layer '${key}' needs ${part} as ${count} ${dtype} values`);
        if (typeof sums[part] !== 'string') throw new ModelError(`load: layer '${key}' has no checksum for ${part}`);
        if (sha256Hex(t.data) !== sums[part]) throw new ModelError(`load: layer '${key}' field ${part}: the checksum fails (the file is damaged)`);
        used.add(name);
        return t.data;
      },
      error: (message) => new ModelError(`load: ${format.name} layer '${key}' ${message}`),
    };
    weights.set(key, { format, data: format.load(r, read) });
  }
  for (const name of tensors.keys()) if (!used.has(name)) throw new ModelError(`load: tensor '${name}' belongs to no layer record`);
  // a file saved from another model must not load and quietly run in float32
  if (weights.size === 0) throw new ModelError('load: the file has no quantized layers');
  const nodes = new Map([...allNodes(float.graph.nodes)].map((node) => [node.outputs[0], node])); // layers inside If/Loop too
  for (const key of [...weights.keys(), ...floatKeys]) if (!nodes.has(key)) throw new ModelError(`load: layer '${key}' is not in this model (was the file saved from another model?)`);
  const ivit = metadata.integerOnly === undefined ? null : restoredIvit(parseIvitRecords(metadata.integerOnly, nodes, new Set([...weights.keys(), ...floatKeys])));
  const weightLayer: LayerBuilder = (rt, node, spec) => {
    const key = node.outputs[0], w = weights.get(key);
    if (!w) {
      if (floatKeys.has(key)) return buildFloatLayer(rt, node, spec);
      throw new ModelError(`load: layer '${key}' has weights but the file neither quantizes it nor lists it as float32 (it was saved before this layer was built, or from another model)`);
    }
    if (spec.type === 'conv' && spec.geometry.group !== 1) throw new ModelError(`load: layer '${key}' is a grouped convolution, which runs in float32; the file has ${w.format.name} weights for it`);
    const want = weightRowsDims(spec), got = w.format.dims(w.data);
    if (want.k !== got.k || want.n !== got.n) throw new ModelError(`load: layer '${key}' has weights [K=${got.k}, N=${got.n}], the model's layer needs [K=${want.k}, N=${want.n}] (was the file saved from another model?)`);
    checkWeightsFit(key, w, spec);
    return layerFromWeights(rt, spec, w, nonFiniteCheck(node, options.nonFinite));
  };
  // integerOnly: a linear layer's x·sigmoid(αx) epilogue wraps the layer as quantizeModel built it
  const builder: LayerBuilder = ivit ? (rt, node, spec) => ivit.wrap(rt, node, spec, (s) => weightLayer(rt, node, s)!) : weightLayer;
  const model = new Model(float.rt, float.graph, float.fusions, builder, metadata.scheme ?? 'saved');
  if (ivit) model.opLayer = ivit.layers.opLayer;
  if (metadata.attention !== undefined) {
    const attention = restoredAttention(float.rt, parseAttentionRecords(metadata.attention, nodes));
    (model as Model & { attentionInt8?: AttentionInt8Ops }).attentionInt8 = attention;
    model.hostOp = attention.hostOp;
  }
  return model;
}

function parseObject(text: string | undefined, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    throw new ModelError(`load: the ${what} in the metadata are not valid JSON`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new ModelError(`load: the ${what} in the metadata are not an object`);
  const twice = duplicateKey(text!);
  if (twice !== undefined) throw new ModelError(`load: the ${what} name layer '${twice}' twice`);
  return v as Record<string, unknown>;
}

function parseList(text: string | undefined): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new ModelError('load: the list of float32 layers in the metadata is not an array of names');
  if (new Set(v).size !== v.length) throw new ModelError(`load: the list of float32 layers names a layer twice`);
  return v;
}
