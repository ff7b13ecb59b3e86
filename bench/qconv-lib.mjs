// What onnxruntime's quantize_dynamic (onnxruntime/python/tools/quantization, default options:
// int8 weights, per tensor, symmetric; uint8 activations) writes for a float model, in JavaScript,
// so real float models can be turned into dynamically quantized ones here (no Python onnxruntime):
// each Conv and MatMul whose weight is a float initializer becomes
//   DynamicQuantizeLinear(x) -> ConvInteger / MatMulInteger -> Cast(float) -> Mul(x_scale * w_scale)
//   [-> Reshape(bias, [1, -1, 1, 1]) -> Add]          (one DynamicQuantizeLinear per input tensor)

import onnxproto from 'onnx-proto';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;

function floats(t) {
  if (t.rawData && t.rawData.length) return new Float32Array(Uint8Array.from(t.rawData).buffer);
  return Float32Array.from(t.floatData);
}

/** int8 symmetric per-tensor weights: scale = max|w| / 127, zero point 0 (quantize_data with symmetric=True). */
function quantizeWeights(w) {
  let amax = 0;
  for (const v of w) amax = Math.max(amax, Math.abs(v));
  const scale = Math.fround(amax > 0 ? amax / 127 : 1);
  const q = Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
  return { q, scale };
}

/**
 * What onnxruntime's quant_pre_process does first and the quantizer needs: Constant nodes become
 * initializers, and a BatchNormalization right after a Conv folds into its weights and bias.
 */
function preprocess(g) {
  const consts = g.node.filter((n) => n.opType === 'Constant' && n.attribute.some((a) => a.name === 'value'));
  for (const n of consts) g.initializer.push({ ...n.attribute.find((a) => a.name === 'value').t, name: n.output[0] });
  g.node = g.node.filter((n) => !consts.includes(n));
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const readers = (v) => g.node.filter((n) => n.input.includes(v));
  const folded = new Set();
  for (const conv of g.node) {
    const bn = readers(conv.output[0]);
    const w = inits.get(conv.input[1]);
    if (conv.opType !== 'Conv' || !w || bn.length !== 1 || bn[0].opType !== 'BatchNormalization' || g.output.some((o) => o.name === conv.output[0])) continue;
    const p = bn[0].input.slice(1, 5).map((name) => inits.get(name));
    if (p.some((t) => !t || t.dataType !== T.FLOAT)) continue;
    const [scale, bias, mean, variance] = p.map(floats);
    const eps = bn[0].attribute.find((a) => a.name === 'epsilon')?.f ?? 1e-5;
    const m = scale.length, wf = floats(w), per = wf.length / m, b0 = conv.input[2] ? floats(inits.get(conv.input[2])) : new Float32Array(m);
    const s = scale.map((v, i) => v / Math.sqrt(variance[i] + eps));
    const wn = wf.map((v, i) => v * s[Math.floor(i / per)]), bn2 = b0.map((v, i) => (v - mean[i]) * s[i] + bias[i]);
    const name = `${conv.output[0]}_folded`;
    g.initializer.push({ name: `${name}.w`, dims: w.dims, dataType: T.FLOAT, rawData: new Uint8Array(wn.buffer) }, { name: `${name}.b`, dims: [m], dataType: T.FLOAT, rawData: new Uint8Array(bn2.buffer) });
    conv.input = [conv.input[0], `${name}.w`, `${name}.b`];
    conv.output = [bn[0].output[0]];
    folded.add(bn[0]);
  }
  g.node = g.node.filter((n) => !folded.has(n));
}

/** The model bytes with quantize_dynamic's rewrite applied; returns { bytes, convs, matmuls }. */
export function quantizeDynamic(bytes) {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  preprocess(g);
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const dql = new Map();
  const nodes = [];
  let convs = 0, matmuls = 0;
  const init = (name, dims, dataType, data) => {
    g.initializer.push({ name, dims, dataType, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
  };
  for (const n of g.node) {
    const w = inits.get(n.input[1]);
    const kind = (n.domain ?? '') === '' && w && w.dataType === T.FLOAT && ((n.opType === 'Conv' && w.dims.length === 4) || (n.opType === 'MatMul' && w.dims.length === 2)) ? n.opType : null;
    if (!kind) {
      nodes.push(n);
      continue;
    }
    const x = n.input[0], out = n.output[0], name = n.name || out;
    if (!dql.has(x)) {
      dql.set(x, [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`]);
      nodes.push({ opType: 'DynamicQuantizeLinear', name: `${x}_QuantizeLinear`, input: [x], output: dql.get(x) });
    }
    const [xq, xs, xz] = dql.get(x);
    const { q, scale } = quantizeWeights(floats(w));
    init(`${w.name}_quantized`, w.dims, T.INT8, q);
    init(`${w.name}_scale`, [], T.FLOAT, Float32Array.of(scale));
    init(`${w.name}_zero_point`, [], T.INT8, Int8Array.of(0));
    const intOut = `${out}_output_quantized`, scaled = n.input[2] ? `${out}quant_scaled_output` : out;
    nodes.push(
      { opType: kind === 'Conv' ? 'ConvInteger' : 'MatMulInteger', name: `${name}_quant`, input: [xq, `${w.name}_quantized`, xz, `${w.name}_zero_point`], output: [intOut], attribute: kind === 'Conv' ? n.attribute : [] },
      { opType: 'Cast', name: `${intOut}_cast`, input: [intOut], output: [`${intOut}_cast_output`], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }] },
      { opType: 'Mul', name: `${name}_quant_scales_mul`, input: [xs, `${w.name}_scale`], output: [`${name}_quant_scales_mul:0`] },
      { opType: 'Mul', name: `${name}_quant_output_scale_mul`, input: [`${intOut}_cast_output`, `${name}_quant_scales_mul:0`], output: [scaled] },
    );
    if (n.input[2]) {
      init(`${out}_bias_reshape_shape`, [4], T.INT64, BigInt64Array.of(1n, -1n, 1n, 1n));
      nodes.push(
        { opType: 'Reshape', name: `${out}_bias_reshape`, input: [n.input[2], `${out}_bias_reshape_shape`], output: [`${out}_bias_reshape_output`] },
        { opType: 'Add', name: `${out}_bias_add`, input: [scaled, `${out}_bias_reshape_output`], output: [out] },
      );
    }
    if (kind === 'Conv') convs++;
    else matmuls++;
  }
  // the float weights that only the rewritten nodes read go (as the tool removes them)
  const read = new Set(nodes.flatMap((n) => n.input));
  g.initializer = g.initializer.filter((t) => read.has(t.name) || !inits.has(t.name) || g.output.some((o) => o.name === t.name));
  g.node = nodes;
  for (const o of model.opsetImport) if (!o.domain && Number(o.version) < 11) o.version = 11;
  return { bytes: onnx.ModelProto.encode(model).finish(), convs, matmuls };
}
