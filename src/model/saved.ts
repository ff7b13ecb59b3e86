// Saving a quantized model so it reloads without quantizing (or calibrating) again. The file is
// safetensors: each quantized layer's weights as tensors named '<layer>/<part>', and in the
// metadata a JSON record per layer: { scheme (the format's name), k, n, and the format's own
// fields }. What tensors and fields each format writes, and how its reader validates them, is the
// format's business (src/formats/*.ts). The graph and the float32 parts (depthwise convolutions,
// LayerNorm, …) come from the same .onnx file, which is given again at load; a layer whose
// weights do not fit the graph is an error.

import { ModelError } from '../errors.js';
import type { LayerWeights, SavedReader, SavedRecord } from '../formats/format.js';
import { findFormat, FORMAT_NAMES } from '../formats/table.js';
import { QuantConvLayer, QuantLinearLayer } from './layers.js';
import { buildFloatLayer, Model, type LayerBuilder } from './model.js';
import { allNodes } from './graph.js';
import { layerFromWeights, weightRowsDims } from './quantize.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../formats/safetensors.js';

const FORMAT = 'lowbit.quantized-model';

/** The quantized weights of every layer the model has built (run or plan it once first). */
export function saveQuantized(model: Model): Uint8Array {
  const tensors = new Map<string, SafeTensor>();
  const records: Record<string, SavedRecord> = {};
  for (const [node, layer] of model.builtLayers) {
    if (!(layer instanceof QuantConvLayer) && !(layer instanceof QuantLinearLayer)) continue;
    const key = node.outputs[0];
    const { format, data } = layer.weights;
    const fields = format.save(data, (part: string, t: SafeTensor) => tensors.set(`${key}/${part}`, t));
    records[key] = { scheme: format.name, ...format.dims(data), ...fields };
  }
  if (Object.keys(records).length === 0) throw new ModelError('save: the model has no quantized layers built yet (run or plan it once: layers are built with the first plan)');
  return writeSafetensors(tensors, { format: FORMAT, version: '1', scheme: model.scheme, layers: JSON.stringify(records) });
}

/** A quantized model from a saved file and the float model of the same .onnx file. */
export function loadQuantized(float: Model, bytes: Uint8Array): Model {
  const { tensors, metadata } = readSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new ModelError(`load: not a lowbit quantized model (metadata format is '${metadata.format ?? 'missing'}')`);
  let records: Record<string, SavedRecord>;
  try {
    records = JSON.parse(metadata.layers ?? '');
  } catch {
    throw new ModelError('load: the layer records in the metadata are not valid JSON');
  }
  if (!records || typeof records !== 'object') throw new ModelError('load: the layer records in the metadata are not an object');
  const weights = new Map<string, LayerWeights>();
  for (const [key, r] of Object.entries(records)) {
    if (!r || typeof r !== 'object') throw new ModelError(`load: layer '${key}' has no record`);
    const format = findFormat(String(r.scheme));
    if (!format) throw new ModelError(`load: layer '${key}' has unknown scheme '${String(r.scheme)}'; expected one of ${FORMAT_NAMES.join(', ')}`);
    const { k, n } = r;
    if (!Number.isSafeInteger(k) || !Number.isSafeInteger(n) || k < 1 || n < 1) throw new ModelError(`load: layer '${key}' has bad sizes`);
    const read: SavedReader = {
      key,
      has: (part) => tensors.has(`${key}/${part}`),
      tensor(part, dtype, count) {
        const t = tensors.get(`${key}/${part}`);
        if (!t || t.dtype !== dtype || t.data.length !== count) throw new ModelError(`load: layer '${key}' needs ${part} as ${count} ${dtype} values`);
        return t.data;
      },
      error: (message) => new ModelError(`load: ${format.name} layer '${key}' ${message}`),
    };
    weights.set(key, { format, data: format.load(r, read) });
  }
  // a file saved from another model must not load and quietly run in float32
  if (weights.size === 0) throw new ModelError('load: the file has no quantized layers');
  const outputs = new Set([...allNodes(float.graph.nodes)].map((node) => node.outputs[0])); // layers inside If/Loop too
  for (const key of weights.keys()) if (!outputs.has(key)) throw new ModelError(`load: layer '${key}' is not in this model (was the file saved from another model?)`);
  const builder: LayerBuilder = (rt, node, spec) => {
    const w = weights.get(node.outputs[0]);
    if (!w) return buildFloatLayer(rt, node, spec);
    if (spec.type === 'conv' && spec.geometry.group !== 1) throw new ModelError(`load: layer '${node.outputs[0]}' is a grouped convolution, which runs in float32; the file has ${w.format.name} weights for it`);
    const want = weightRowsDims(spec), got = w.format.dims(w.data);
    if (want.k !== got.k || want.n !== got.n) throw new ModelError(`load: layer '${node.outputs[0]}' has weights [K=${got.k}, N=${got.n}], the model's layer needs [K=${want.k}, N=${want.n}] (was the file saved from another model?)`);
    return layerFromWeights(rt, spec, w);
  };
  return new Model(float.rt, float.graph, float.fusions, builder, metadata.scheme ?? 'saved');
}
