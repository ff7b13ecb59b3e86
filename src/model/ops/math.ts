// Elementwise operator definitions: unary activations, broadcasting binaries, Clip,
// BatchNormalization (when it could not be folded into a convolution).

import type { ElemType } from '../graph.js';
import { binary, broadcastDims, broadcastStrides, unary, type BinaryOp, type UnaryOp, type UnaryParams } from './elementwise.js';
import { logicalStrides, physicalOrder } from './layout.js';
import { attr, fail, need, type HostValue, type OpContext, type OpDef } from './types.js';

function unaryParams(ctx: OpContext, op: UnaryOp, ins: (HostValue | null)[]): UnaryParams {
  const n = ctx.node;
  if (op === 'Clip') {
    if (ctx.opset < 11) return { min: attr(n, 'min', -3.4028234663852886e38), max: attr(n, 'max', 3.4028234663852886e38) };
    return { min: ins[1] ? ins[1].data[0] : -Infinity, max: ins[2] ? ins[2].data[0] : Infinity };
  }
  if (op === 'HardSigmoid') return { alpha: attr(n, 'alpha', 0.2), beta: attr(n, 'beta', 0.5) };
  if (op === 'LeakyRelu') return { alpha: attr(n, 'alpha', 0.01) };
  if (op === 'Gelu') return { approximate: attr(n, 'approximate', 'none') };
  return {};
}

function unaryDef(op: UnaryOp): OpDef {
  return {
    layout: 'any',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'X');
      if (op === 'Clip' && ctx.opset >= 11) {
        for (const i of [1, 2]) if (ins[i] && !ins[i]!.value) fail(ctx, `Clip's ${i === 1 ? 'min' : 'max'} must be a constant`);
      }
      return [{ type: x.type, dims: [...x.dims] }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!;
      unary(op, x.data, outs[0].data, x.data.length, unaryParams(ctx, op, ins));
    },
  };
}

/** variadic: Max/Min take 1…n inputs (opset 8+), folded left to right in place */
function binaryDef(op: BinaryOp, outType?: ElemType, variadic = false): OpDef {
  return {
    layout: 'aware',
    infer: (ctx, ins) => {
      let dims = need(ctx, ins, 0, 'A').dims;
      if (!variadic || ins.length > 1) need(ctx, ins, 1, 'B');
      for (let i = 1; i < ins.length; i++) {
        const d = broadcastDims(dims, need(ctx, ins, i, `input ${i}`).dims);
        if (!d) fail(ctx, `shapes [${dims}] and [${ins[i]!.dims}] do not broadcast`);
        dims = d;
      }
      return [{ type: outType ?? ins[0]!.type, dims: [...dims] }];
    },
    outNhwc: (ins, outDims) => outDims[0].length === 4 && ins.some((v) => v !== null && v.dims.length === 4 && v.nhwc),
    compute: (_ctx, ins, outs) => {
      const out = outs[0];
      const r = out.dims.length, order = physicalOrder(r, out.nhwc);
      const operand = (v: HostValue) => ({ data: v.data, strides: broadcastStrides(v.dims, logicalStrides(v.dims, v.nhwc), r) });
      binary(op, operand(ins[0]!), operand(ins[Math.min(1, ins.length - 1)]!), out.dims, order, out.data);
      const self = { data: out.data, strides: logicalStrides(out.dims, out.nhwc) };
      for (let i = 2; i < ins.length; i++) binary(op, self, operand(ins[i]!), out.dims, order, out.data);
    },
  };
}

/** Sum: n-ary Add. */
const sumDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    let dims = need(ctx, ins, 0, 'data_0').dims;
    for (let i = 1; i < ins.length; i++) {
      const d = broadcastDims(dims, need(ctx, ins, i, `data_${i}`).dims);
      if (!d) fail(ctx, 'inputs do not broadcast');
      dims = d;
    }
    return [{ type: ins[0]!.type, dims: [...dims] }];
  },
  compute: (ctx, ins, outs) => {
    const out = outs[0];
    const r = out.dims.length;
    out.data.fill(0);
    for (const x of ins) {
      binary('Add', { data: out.data, strides: logicalStrides(out.dims, false) }, { data: x!.data, strides: broadcastStrides(x!.dims, logicalStrides(x!.dims, false), r) }, out.dims, physicalOrder(r, false), out.data);
    }
  },
};

/** y = (x - mean) / sqrt(var + eps) * scale + B, per channel (axis 1). */
const batchNormDef: OpDef = {
  layout: 'aware',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    for (let i = 1; i < 5; i++) {
      const p = need(ctx, ins, i, ['', 'scale', 'B', 'input_mean', 'input_var'][i]);
      if (p.dims.length !== 1 || p.dims[0] !== x.dims[1]) fail(ctx, `input ${i} must have shape [${x.dims[1]}], got [${p.dims}]`);
    }
    return [{ type: 'float32', dims: [...x.dims] }];
  },
  outNhwc: (ins) => ins[0]!.nhwc,
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, c = x.dims[1];
    const { scale, shift } = batchNormAffine(ins.slice(1, 5).map((v) => v!.data) as ArrayLike<number>[], attr(ctx.node, 'epsilon', 1e-5));
    const s = logicalStrides(x.dims, x.nhwc)[1];
    const y = outs[0].data, xd = x.data;
    for (let i = 0; i < xd.length; i++) {
      const ch = Math.floor(i / s) % c;
      y[i] = xd[i] * scale[ch] + shift[ch];
    }
  },
};

/** Per-channel affine form of an inference-mode batch norm (what folding multiplies in). */
export function batchNormAffine([gamma, beta, mean, variance]: ArrayLike<number>[], eps: number): { scale: Float32Array; shift: Float32Array } {
  const c = gamma.length;
  const scale = new Float32Array(c), shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma[i] / Math.sqrt(variance[i] + eps);
    shift[i] = beta[i] - mean[i] * scale[i];
  }
  return { scale, shift };
}

export const MATH_OPS: Record<string, OpDef> = {
  Relu: unaryDef('Relu'),
  LeakyRelu: unaryDef('LeakyRelu'),
  Sigmoid: unaryDef('Sigmoid'),
  HardSigmoid: unaryDef('HardSigmoid'),
  HardSwish: unaryDef('HardSwish'),
  Clip: unaryDef('Clip'),
  Sqrt: unaryDef('Sqrt'),
  Tanh: unaryDef('Tanh'),
  Erf: unaryDef('Erf'),
  Gelu: unaryDef('Gelu'),
  Neg: unaryDef('Neg'),
  Abs: unaryDef('Abs'),
  Exp: unaryDef('Exp'),
  Reciprocal: unaryDef('Reciprocal'),
  Identity: unaryDef('Identity'),
  Add: binaryDef('Add'),
  Sub: binaryDef('Sub'),
  Mul: binaryDef('Mul'),
  Div: binaryDef('Div'),
  Pow: binaryDef('Pow'),
  Max: binaryDef('Max', undefined, true),
  Min: binaryDef('Min', undefined, true),
  Equal: binaryDef('Equal', 'bool'),
  Less: binaryDef('Less', 'bool'),
  Greater: binaryDef('Greater', 'bool'),
  Sum: sumDef,
  BatchNormalization: batchNormDef,
};
