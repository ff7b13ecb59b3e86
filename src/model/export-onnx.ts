// exportOnnx: a quantized model written back as a standard ONNX file that onnxruntime (or any ONNX
// runtime) runs, so lowbit can quantize for users who deploy elsewhere.
//
// It starts from the file the model was loaded from (its ModelProto, kept by loadModel: see
// source.ts), not from lowbit's rewritten graph: attribute types, doc strings and every node lowbit
// fused at load are there as the file has them. For each quantized layer of the main graph it finds
// the nodes that computed the layer's output from its input in the file (the Conv, the
// BatchNormalization and per-channel Mul/Add folded into its weights, the activation and affine
// fused after it), replaces the Conv and what was folded into its weights by the layer's quantized
// form (export-layers.ts), and keeps the activation and the nodes after it as the file has them:
// the exported graph computes what the file does, with lowbit's weights and activation ranges.
// Constants nothing reads any more are dropped; the default-domain opset is raised to 13 when
// per-channel DequantizeLinear needs it (export-opset.ts). Layers inside If/Loop bodies keep their
// float32 weights (a warning says so).

import onnxproto from 'onnx-proto';
import { ArgumentError, ModelError } from '../errors.js';
import { graphFingerprint } from './fingerprint.js';
import type { GraphNode } from './graph.js';
import { QuantConvLayer, QuantLinearLayer } from './layers.js';
import { importGraph, Model } from './model.js';
import { DT, node, ProtoGraph, tensorProto } from './export-proto.js';
import { exportLayer } from './export-layers.js';
import { upgradeOpset } from './export-opset.js';
import { TWIN_SUFFIX } from './conv1d-chains.js';
import { sourceOf } from './source.js';

const { onnx } = onnxproto;
type INode = onnxproto.onnx.INodeProto;

export interface ExportOnnxOptions {
  /** the .onnx bytes the model was loaded from (default: those loadModel kept) */
  source?: Uint8Array;
}

export interface ExportedLayer {
  /** the layer's output value */
  output: string;
  /** the file's node that held its weights */
  node: string;
  op: string;
  /** the layer's weight format in lowbit */
  scheme: string;
  /** what it became: 'QDQ int8', 'MatMulNBits', 'float32 (dequantized fp8)', 'unchanged', 'float32 (inside a subgraph)' */
  as: string;
}

export interface OnnxExport {
  bytes: Uint8Array;
  layers: ExportedLayer[];
  /** layers written in a weaker form than lowbit runs them */
  warnings: string[];
  /** the default-domain opset of the file written */
  opset: number;
}

/** The model's quantized layers as an ONNX file (QDQ int8, MatMulNBits int4, float32 for the rest). */
export function exportOnnx(model: Model, options: ExportOnnxOptions = {}): Uint8Array {
  return exportOnnxWithReport(model, options).bytes;
}

const CORE_OPS = new Set(['Conv', 'MatMul', 'Gemm', 'MatMulNBits']);
/** what lowbit folds into a Conv's weights (fuse.ts: BatchNormalization, per-channel Mul/Add/Sub) */
const FOLDED_OPS = new Set(['BatchNormalization', 'Mul', 'Add', 'Sub']);

/** exportOnnx with what each layer became and the warnings. */
export function exportOnnxWithReport(model: Model, options: ExportOnnxOptions = {}): OnnxExport {
  if (!(model instanceof Model)) throw new ArgumentError(`exportOnnx: expected a Model from quantizeModel or loadQuantized, got ${model === null ? 'null' : typeof model}`);
  if (model.isDisposed) throw new ArgumentError('exportOnnx: the model was disposed');
  if (options.source !== undefined && !(options.source instanceof Uint8Array)) throw new ArgumentError('exportOnnx: options.source must be the .onnx file\'s bytes as a Uint8Array');
  const quantized = [...model.builtLayers].filter(([, l]) => l instanceof QuantConvLayer || l instanceof QuantLinearLayer) as [GraphNode, QuantConvLayer | QuantLinearLayer][];
  if (quantized.length === 0) {
    throw new ArgumentError(model.builtLayers.size === 0 && model.scheme !== 'float32'
      ? 'exportOnnx: the model has no layers built yet (prepare() or run() it once: layers are built with the first plan)'
      : `exportOnnx: the model has no quantized layers (scheme '${model.scheme}'); quantize it first (quantizeModel or loadQuantized)`);
  }
  const source = options.source ?? sourceOf(model.graph);
  if (!source) throw new ArgumentError('exportOnnx: the model does not keep the .onnx bytes it was loaded from (loadModel with keepSource: false); pass them as options.source');
  if (options.source) checkSource(model, options.source);

  const proto = onnx.ModelProto.decode(source);
  const g = new ProtoGraph(proto.graph!);
  const fromOpset = num(proto.opsetImport?.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx')?.version);
  const layers: ExportedLayer[] = [];
  const warnings: string[] = [];
  let opset = fromOpset, microsoft = false;
  const main = new Set(model.graph.nodes);
  const producer = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const qdq = new Map<string, string>();
  const quantizedInput = (x: string, scale: number, zeroPoint: number) => {
    const key = `${x}\u0000${scale}\u0000${zeroPoint}`;
    const have = qdq.get(key);
    if (have) return { name: have, nodes: [] };
    const s = g.addInitializer(tensorProto(g.fresh(`${x}_scale`), DT.FLOAT, [], Float32Array.of(scale)));
    const z = g.addInitializer(tensorProto(g.fresh(`${x}_zero_point`), DT.UINT8, [], Uint8Array.of(zeroPoint)));
    const q = g.fresh(`${x}_quantized`), dq = g.fresh(`${x}_dequantized`);
    qdq.set(key, dq);
    return { name: dq, nodes: [node('QuantizeLinear', [x, s, z], [q], g.fresh(`${x}_QuantizeLinear`)), node('DequantizeLinear', [q, s, z], [dq], g.fresh(`${x}_DequantizeLinear`))] };
  };

  for (const [gn, layer] of quantized) {
    const scheme = layer.weights.format.name;
    const report = (as: string, at?: INode) => layers.push({ output: gn.outputs[0], node: at?.name ?? gn.name, op: at?.opType ?? gn.op, scheme, as });
    const spec = model.layerSpecs.get(gn);
    if (!main.has(gn) || !spec) {
      warnings.push(`${gn.op} node '${gn.name}': a ${scheme} layer inside an If/Loop body keeps its float32 weights in the exported file`);
      report('float32 (inside a subgraph)');
      continue;
    }
    // a 1-D Conv runs as Unsqueeze -> 2-D Conv -> Squeeze (lower-conv1d.ts): the file's Conv reads the Unsqueeze's input
    // between lowered 1-D convolutions the 4-D twins `<name>::4d` stand for the file's 3-D values (conv1d-chains.ts)
    let x = gn.inputs[0], y = gn.outputs[0], conv1d = false;
    const pre = producer.get(x);
    if (gn.inputs[1]?.endsWith('::conv1d.weight')) {
      const squeeze = model.graph.nodes.find((n) => n.op === 'Squeeze' && n.inputs[0] === y);
      if (!squeeze && !y.endsWith(TWIN_SUFFIX)) throw new ModelError(`exportOnnx: ${gn.op} node '${gn.name}': its 1-D form has no Squeeze`);
      const unsqueezed = pre && pre.op === 'Unsqueeze' && pre.name.endsWith('::conv1d.unsqueeze');
      if (!unsqueezed && !x.endsWith(TWIN_SUFFIX)) throw new ModelError(`exportOnnx: ${gn.op} node '${gn.name}': its 1-D form reads neither an Unsqueeze nor a 4-D twin`);
      x = unsqueezed ? pre.inputs[0] : x.slice(0, -TWIN_SUFFIX.length);
      y = squeeze ? squeeze.outputs[0] : y.slice(0, -TWIN_SUFFIX.length);
      conv1d = true;
    }
    const site = locate(g, gn, x, y);
    if (spec.type === 'linear' && spec.fileWeights && spec.fileWeights === layer.weights && site.core.opType === 'MatMulNBits') {
      report('unchanged', site.core); // the file's own 4-bit weights, run as they are
      continue;
    }
    const r = exportLayer({ g, core: site.core, out: site.out, x, spec, weights: layer.weights, conv1d, quantizedInput });
    g.replace(site.folded, r.nodes);
    opset = Math.max(opset, r.opset);
    microsoft ||= r.microsoft === true;
    if (r.warning) warnings.push(r.warning);
    report(r.as, site.core);
  }

  if (opset > fromOpset) upgradeOpset(g, fromOpset, opset);
  g.finish();
  setOpsets(proto, opset, microsoft);
  return { bytes: onnx.ModelProto.encode(proto).finish(), layers, warnings, opset };
}

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/**
 * The file's nodes behind one layer: `core` (the node holding the weights), `folded` (core and the
 * nodes lowbit folded into its weights, which the export replaces) and `out` (the value the last
 * of them writes, which the kept nodes read).
 */
function locate(g: ProtoGraph, gn: GraphNode, x: string, y: string): { core: INode; folded: INode[]; out: string } {
  const what = `exportOnnx: ${gn.op} node '${gn.name}'`;
  const chain = g.between(x, y);
  if (!chain) throw new ModelError(`${what}: its output '${y}' is not computed from '${x}' alone in the file (was the model loaded from another file?)`);
  const core = chain.find((n) => CORE_OPS.has(n.opType ?? '') && n.input?.[0] === x);
  if (!core) throw new ModelError(`${what}: no Conv, MatMul or Gemm node in the file reads '${x}' on the way to '${y}'`);
  const inChain = new Set(chain);
  const folded = [core];
  if (core.opType === 'Conv') {
    // BatchNormalization and per-channel affines right after the Conv: in lowbit's weights
    for (;;) {
      const next = g.soleReader(folded[folded.length - 1].output![0]);
      if (!next || !inChain.has(next) || !FOLDED_OPS.has(next.opType ?? '') || (next.domain ?? '') !== '') break;
      if (next.opType !== 'BatchNormalization' && !(next.input ?? []).some((i) => i && g.isConstant(i))) break;
      folded.push(next);
    }
  }
  const kept = chain.length - folded.length;
  // lowbit's node says whether an activation follows the weights: the file must agree
  const fusedAfter = gn.op === 'FusedConv' || gn.op === 'FusedMatMul';
  if (fusedAfter !== kept > 0) throw new ModelError(`${what}: the file's nodes from '${x}' to '${y}' (${chain.map((n) => n.opType).join(', ')}) do not match what lowbit fused`);
  return { core, folded, out: folded[folded.length - 1].output![0] };
}

/** The source must be the file this model was loaded from: same graph after lowbit's load-time rewrites. */
function checkSource(model: Model, source: Uint8Array): void {
  const want = graphFingerprint(model.graph);
  for (const fuse of [true, false]) if (graphFingerprint(importGraph(source, { fuse }).graph) === want) return;
  throw new ModelError('exportOnnx: options.source is not the file this model was loaded from (its graph differs)');
}

/** IR version each default-domain opset needs (onnx/helper.py's VERSION_TABLE). */
function irFor(opset: number): number {
  return opset <= 8 ? 3 : opset <= 9 ? 4 : opset <= 10 ? 5 : opset <= 11 ? 6 : opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

function setOpsets(proto: onnxproto.onnx.ModelProto, opset: number, microsoft: boolean): void {
  const imports = (proto.opsetImport ?? []).filter((o) => (o.domain ?? '') !== '' && o.domain !== 'ai.onnx');
  imports.unshift({ domain: '', version: opset });
  if (microsoft && !imports.some((o) => o.domain === 'com.microsoft')) imports.push({ domain: 'com.microsoft', version: 1 });
  proto.opsetImport = imports;
  proto.irVersion = Math.max(num(proto.irVersion), irFor(opset));
  proto.producerName = proto.producerName ? `${proto.producerName} + lowbit` : 'lowbit';
}
