// What one quantized layer becomes in an exported ONNX file, by its weight format:
//   int8  -> QDQ: QuantizeLinear/DequantizeLinear on the input with the calibrated uint8 scale and
//            zero point, int8 weight codes with DequantizeLinear per output channel (axis 0 for Conv
//            [M, C, kh, kw] and Gemm transB [N, K], axis 1 for MatMul [K, N]), a Conv's bias as int32
//            codes at scale s_x * s_w (the form onnxruntime's QDQ fusions look for);
//   int4 on MatMul or Gemm -> com.microsoft MatMulNBits (bits 4, the same blocks and zero points);
//   int4 on Conv -> int4 weights [M, C, kh, kw] with blocked DequantizeLinear along C (opset 21),
//            when lowbit's blocks along K (tap-major, channels fastest) each lie in one tap: C a
//            multiple of the block size; else float32 weights and a warning;
//   the rest (fp8, ant4, nf4) -> float32 weights holding the dequantized values, so onnxruntime
//            computes with lowbit's weights (its activations stay float32: lowbit's int4/ant4/nf4
//            quantize them per row at run time).
// The node keeps the core node's attributes (pads, strides, transB ...); only its inputs change.

import type onnxproto from 'onnx-proto';
import type { LayerWeights } from '../formats/format.js';
import type { Int8Weights } from '../layers/gemm-qs8.js';
import { roundHalfEven } from '../quant/rounding.js';
import { toMatMulNBits, type Int4Blocks } from '../quant/int4.js';
import { ModelError } from '../errors.js';
import { DT, intAttr, node, tensorProto, type ProtoGraph } from './export-proto.js';
import { INT4_QDQ_OPSET } from './export-opset.js';
import type { LayerSpec } from './model.js';

type INode = onnxproto.onnx.INodeProto;

export interface LayerSite {
  g: ProtoGraph;
  /** the Conv/MatMul/Gemm/MatMulNBits node whose weights the layer holds */
  core: INode;
  /** the value the replacement writes (the core's output, or that of the last node folded into it) */
  out: string;
  /** the layer's input */
  x: string;
  spec: LayerSpec;
  weights: LayerWeights;
  /** a 1-D Conv lowbit runs as 2-D: its weights are [M, C, k] in the file */
  conv1d: boolean;
  /** the shared Q/DQ of an input: the dequantized value's name */
  quantizedInput(x: string, scale: number, zeroPoint: number): { name: string; nodes: INode[] };
}

export interface LayerResult {
  nodes: INode[];
  /** 'QDQ int8', 'MatMulNBits', 'float32 (dequantized fp8)', ... */
  as: string;
  /** the default-domain opset its nodes need */
  opset: number;
  microsoft?: boolean;
  warning?: string;
}

/** Where element (o, k) of the layer's rows [N][K] sits in the weight tensor the node reads. */
function weightLayout(site: LayerSite, linearOp: string): { dims: number[]; index: (o: number, k: number) => number; axis: number } {
  const { spec } = site;
  if (spec.type === 'conv') {
    const g = spec.geometry, taps = g.kh * g.kw, cin = g.cin;
    // lowbit's K runs over (tap, input channel), channels fastest: im2col order (convWeightsNK)
    return { dims: site.conv1d ? [g.cout, cin, g.kw] : [g.cout, cin, g.kh, g.kw], index: (o, k) => (o * cin + (k % cin)) * taps + Math.floor(k / cin), axis: 0 };
  }
  const { k: K, n: N } = spec;
  if (linearOp === 'Gemm' && spec.transposed) return { dims: [N, K], index: (o, k) => o * K + k, axis: 0 };
  return { dims: [K, N], index: (o, k) => k * N + o, axis: 1 };
}

export function exportLayer(site: LayerSite): LayerResult {
  const { weights, spec, core } = site;
  const name = weights.format.name;
  const linear = spec.type === 'linear';
  if (name === 'int8') return int8Layer(site, weights.data as Int8Weights);
  if (name === 'int4' && linear) return matMulNBitsLayer(site, weights.data as Int4Blocks);
  if (name === 'int4' && spec.type === 'conv' && spec.geometry.cin % (weights.data as Int4Blocks).blockSize === 0) return int4ConvLayer(site, weights.data as Int4Blocks);
  const warning = name === 'int4' ? `${core.opType} node '${core.name}': int4 weights written as float32 (dequantized): its ${spec.type === 'conv' ? spec.geometry.cin : 0} input channels are not a multiple of the block size, so the blocks do not follow one axis` : undefined;
  return { ...floatLayer(site, weights.format.dequantize(weights.data)), as: `float32 (dequantized ${name})`, warning };
}

/** The node computing the layer from `x` and `w` as the file's op does (MatMulNBits in the file becomes MatMul [+ Add]). */
function coreNode(site: LayerSite, x: string, w: string, bias: string | null): INode[] {
  const { core, g } = site;
  if (core.opType === 'MatMulNBits') {
    if (!bias) return [node('MatMul', [x, w], [site.out], g.fresh(`${core.name}_matmul`))];
    const t = g.fresh(`${site.out}_nobias`);
    return [node('MatMul', [x, w], [t], g.fresh(`${core.name}_matmul`)), node('Add', [t, bias], [site.out], g.fresh(`${core.name}_bias`))];
  }
  // Conv: its bias is folded (BatchNorm, affines); Gemm keeps its own C; MatMul has none (the Add after it stays)
  const inputs = site.spec.type === 'conv' ? [x, w, ...(bias ? [bias] : [])] : core.opType === 'Gemm' ? [x, w, ...(core.input ?? []).slice(2)] : [x, w];
  return [{ ...core, input: inputs, output: [site.out] }];
}

/** The bias the new node reads for a Conv (folded) or a MatMulNBits from the file; Gemm and MatMul keep theirs. */
function needsBias(site: LayerSite): boolean {
  return !!site.spec.bias && (site.spec.type === 'conv' || site.core.opType === 'MatMulNBits');
}

function int8Layer(site: LayerSite, w: Int8Weights): LayerResult {
  const { g, core, spec } = site;
  const input = w.input!;
  const { dims, index, axis } = weightLayout(site, core.opType ?? '');
  const codes = new Int8Array(w.k * w.n);
  for (let k = 0; k < w.k; k++) for (let o = 0; o < w.n; o++) codes[index(o, k)] = w.q[k * w.n + o];
  const base = core.input?.[1] || core.name || site.out;
  const wq = g.addInitializer(tensorProto(g.fresh(`${base}_quantized`), DT.INT8, dims, codes));
  const ws = g.addInitializer(tensorProto(g.fresh(`${base}_scale`), DT.FLOAT, [w.n], w.scales));
  const wz = g.addInitializer(tensorProto(g.fresh(`${base}_zero_point`), DT.INT8, [w.n], new Int8Array(w.n)));
  const wdq = g.fresh(`${base}_dequantized`);
  const nodes: INode[] = [node('DequantizeLinear', [wq, ws, wz], [wdq], g.fresh(`${base}_DequantizeLinear`), [intAttr('axis', axis)])];
  const xq = site.quantizedInput(site.x, input.scale, input.zeroPoint);
  nodes.unshift(...xq.nodes);
  let bias: string | null = null;
  if (needsBias(site)) {
    // int32 codes at scale s_x * s_w: within half a step of the float bias lowbit adds
    const b = spec.bias!, scale = new Float32Array(w.n), q = new Int32Array(w.n);
    let fits = spec.type === 'conv';
    for (let o = 0; o < w.n && fits; o++) {
      scale[o] = Math.fround(input.scale * w.scales[o]);
      const v = roundHalfEven(b[o] / scale[o]);
      fits = Number.isFinite(v) && Math.abs(v) < 2 ** 31;
      q[o] = v;
    }
    if (fits) {
      const bq = g.addInitializer(tensorProto(g.fresh(`${base}_bias_quantized`), DT.INT32, [w.n], q));
      const bs = g.addInitializer(tensorProto(g.fresh(`${base}_bias_scale`), DT.FLOAT, [w.n], scale));
      bias = g.fresh(`${base}_bias_dequantized`);
      nodes.push(node('DequantizeLinear', [bq, bs], [bias], g.fresh(`${base}_bias_DequantizeLinear`), [intAttr('axis', 0)]));
    } else bias = g.addInitializer(tensorProto(g.fresh(`${base}_bias`), DT.FLOAT, [w.n], b));
  }
  nodes.push(...coreNode(site, xq.name, wdq, bias));
  // per-axis DequantizeLinear is opset 13
  return { nodes, as: 'QDQ int8', opset: 13 };
}

function matMulNBitsLayer(site: LayerSite, blocks: Int4Blocks): LayerResult {
  const { g, core, spec } = site;
  const m = toMatMulNBits(blocks);
  const nb = Math.ceil(m.K / m.blockSize);
  const base = core.input?.[1] || core.name || site.out;
  const inputs = [
    site.x,
    g.addInitializer(tensorProto(g.fresh(`${base}_int4`), DT.UINT8, [m.N, nb, m.blockSize / 2], m.B)),
    g.addInitializer(tensorProto(g.fresh(`${base}_int4_scales`), DT.FLOAT, [m.N * nb], m.scales as Float32Array)),
  ];
  if (m.zeroPoints) inputs.push(g.addInitializer(tensorProto(g.fresh(`${base}_int4_zero_points`), DT.UINT8, [m.zeroPoints.length], m.zeroPoints as Uint8Array)));
  const attrs = [intAttr('K', m.K), intAttr('N', m.N), intAttr('bits', 4), intAttr('block_size', m.blockSize)];
  // Gemm's C (times beta) and the file's MatMulNBits bias: an Add after it (bias inputs are newer than many onnxruntimes)
  const bias = spec.bias && (core.opType === 'Gemm' || core.opType === 'MatMulNBits') ? spec.bias : null;
  const y = bias ? g.fresh(`${site.out}_nobias`) : site.out;
  const nodes = [node('MatMulNBits', inputs, [y], g.fresh(`${core.name || base}_MatMulNBits`), attrs, 'com.microsoft')];
  if (bias) nodes.push(node('Add', [y, g.addInitializer(tensorProto(g.fresh(`${base}_bias`), DT.FLOAT, [m.N], bias))], [site.out], g.fresh(`${core.name || base}_bias`)));
  return { nodes, as: 'MatMulNBits', opset: 1, microsoft: true };
}

/** int4 codes [M, C, kh, kw] (two per byte, low nibble first) and DequantizeLinear with blocks along C. */
function int4ConvLayer(site: LayerSite, b: Int4Blocks): LayerResult {
  const { g, core, spec } = site;
  if (spec.type !== 'conv') throw new ModelError('exportOnnx: int4ConvLayer needs a convolution');
  const { dims, index } = weightLayout(site, core.opType ?? '');
  const geo = spec.geometry, taps = geo.kh * geo.kw, cb = geo.cin / b.blockSize, nb = Math.ceil(b.k / b.blockSize);
  // signed codes q - 8 without a zero point when symmetric; the unsigned codes and zero points otherwise
  const signed = !b.zeroPoints;
  const codes = new Uint8Array(Math.ceil(b.k * b.n / 2));
  for (let o = 0; o < b.n; o++) {
    for (let k = 0; k < b.k; k++) {
      const i = index(o, k), v = (signed ? b.q[o * b.k + k] - 8 : b.q[o * b.k + k]) & 15;
      codes[i >> 1] |= v << (i & 1 ? 4 : 0);
    }
  }
  // scale [M, C / bs, kh, kw]: lowbit's block of (o, k) is k / bs, with k = tap * C + c
  const sdims = [b.n, cb, ...dims.slice(2)], scales = new Float32Array(b.n * cb * taps), zps = signed ? null : new Uint8Array(Math.ceil(scales.length / 2));
  for (let o = 0; o < b.n; o++) {
    for (let c = 0; c < cb; c++) {
      for (let t = 0; t < taps; t++) {
        const at = (o * cb + c) * taps + t, from = o * nb + (t * geo.cin) / b.blockSize + c;
        scales[at] = b.scales[from];
        if (zps) zps[at >> 1] |= b.zeroPoints![from] << (at & 1 ? 4 : 0);
      }
    }
  }
  const base = core.input?.[1] || core.name || site.out;
  const ins = [
    g.addInitializer(tensorProto(g.fresh(`${base}_int4`), signed ? DT.INT4 : DT.UINT4, dims, codes)),
    g.addInitializer(tensorProto(g.fresh(`${base}_int4_scales`), DT.FLOAT, sdims, scales)),
  ];
  if (zps) ins.push(g.addInitializer(tensorProto(g.fresh(`${base}_int4_zero_points`), DT.UINT4, sdims, zps)));
  const w = g.fresh(`${base}_dequantized`);
  const nodes = [node('DequantizeLinear', ins, [w], g.fresh(`${base}_DequantizeLinear`), [intAttr('axis', 1), intAttr('block_size', b.blockSize)])];
  const bias = spec.bias ? g.addInitializer(tensorProto(g.fresh(`${base}_bias`), DT.FLOAT, [b.n], spec.bias)) : null;
  nodes.push(...coreNode(site, site.x, w, bias));
  return { nodes, as: 'int4 blocked DequantizeLinear', opset: INT4_QDQ_OPSET };
}

function floatLayer(site: LayerSite, rows: Float32Array): { nodes: INode[]; opset: number } {
  const { g, core, spec } = site;
  const { dims, index } = weightLayout(site, core.opType ?? '');
  const { n, k } = spec.type === 'conv' ? { n: spec.geometry.cout, k: rows.length / spec.geometry.cout } : spec;
  const data = new Float32Array(rows.length);
  for (let o = 0; o < n; o++) for (let t = 0; t < k; t++) data[index(o, t)] = rows[o * k + t];
  const base = core.input?.[1] || core.name || site.out;
  const w = g.addInitializer(tensorProto(g.fresh(`${base}_dequantized`), DT.FLOAT, dims, data));
  const bias = needsBias(site) ? g.addInitializer(tensorProto(g.fresh(`${base}_bias`), DT.FLOAT, [n], spec.bias!)) : null;
  return { nodes: coreNode(site, site.x, w, bias), opset: 1 };
}
