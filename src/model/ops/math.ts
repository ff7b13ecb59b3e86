// Elementwise operator definitions: unary activations, broadcasting binaries, Clip,
// BatchNormalization (when it could not be folded into a convolution).

import { DTypeError } from '../../errors.js';
import { elementCount, type ElemType } from '../graph.js';
import { binary, binarySame, broadcastDims, broadcastStrides, unary, type BinaryOp, type UnaryOp, type UnaryParams } from './elementwise.js';
import { logicalStrides, physicalOrder } from './layout.js';
import { attr, fail, need, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

function unaryParams(ctx: OpContext, op: UnaryOp, ins: (HostValue | null)[]): UnaryParams {
  const n = ctx.node;
  switch (op) {
    case 'Clip':
      if (ctx.opset < 11) return { min: attr(n, 'min', -3.4028234663852886e38), max: attr(n, 'max', 3.4028234663852886e38) };
      return { min: ins[1] ? ins[1].data[0] : -Infinity, max: ins[2] ? ins[2].data[0] : Infinity };
    case 'HardSigmoid':
      return { alpha: attr(n, 'alpha', 0.2), beta: attr(n, 'beta', 0.5) };
    case 'LeakyRelu':
      return { alpha: attr(n, 'alpha', 0.01) };
    case 'Gelu':
      return { approximate: attr(n, 'approximate', 'none') };
    case 'Elu':
    case 'Celu':
    case 'ThresholdedRelu':
      return { alpha: attr(n, 'alpha', 1) };
    case 'Selu':
      return { alpha: attr(n, 'alpha', 1.67326319217681884765625), gamma: attr(n, 'gamma', 1.05070102214813232421875) };
    case 'IsInf':
      return { negative: attr(n, 'detect_negative', 1) !== 0, positive: attr(n, 'detect_positive', 1) !== 0 };
    default:
      return {};
  }
}

/** The element types an operator's inputs may have, for its DTypeError. */
export const FLOAT: readonly ElemType[] = ['float32'];
export const NUMERIC: readonly ElemType[] = ['float32', 'int64', 'int32', 'int8', 'uint8'];
export const BOOL: readonly ElemType[] = ['bool'];

export function checkType(ctx: OpContext, v: ValueInfo, what: string, types: readonly ElemType[] | undefined): void {
  if (types && !types.includes(v.type)) fail(ctx, `${what} has element type ${v.type}, expected ${types.join(' or ')}`, DTypeError);
}

interface UnaryOptions {
  /** input element types (unchecked when absent) */
  types?: readonly ElemType[];
  /** output element type (default: the input's) */
  out?: ElemType;
  opsets?: [number, number];
}

export function unaryDef(op: UnaryOp, o: UnaryOptions = {}): OpDef {
  return {
    layout: 'any',
    opsets: o.opsets,
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'X');
      checkType(ctx, x, 'X', o.types);
      if (op === 'Clip' && ctx.opset >= 11) {
        // min and max are scalars (a runtime value too: melspectrogram clips at its max - 80 dB)
        for (const i of [1, 2]) if (ins[i] && ins[i]!.dims.length !== 0 && elementCount(ins[i]!.dims) !== 1) fail(ctx, `${i === 1 ? 'min' : 'max'} must be a scalar, got dims [${ins[i]!.dims}]`);
      }
      return [{ type: o.out ?? x.type, dims: [...x.dims] }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!;
      unary(op, x.data, outs[0].data, x.data.length, unaryParams(ctx, op, ins));
    },
  };
}

interface BinaryOptions {
  /** output element type (default: A's) */
  out?: ElemType;
  /** element types of A and B, which must then be equal (unchecked when absent: Pow's may differ) */
  types?: readonly ElemType[];
  /** Max/Min take 1…n inputs (opset 8+), folded left to right in place */
  variadic?: boolean;
  /** B broadcasts to A, the output has A's dims (PRelu) */
  unidirectional?: boolean;
  opsets?: [number, number];
}

export function binaryDef(op: BinaryOp | ((ctx: OpContext) => BinaryOp), o: BinaryOptions = {}): OpDef {
  return {
    layout: 'aware',
    opsets: o.opsets,
    infer: (ctx, ins) => {
      const a = need(ctx, ins, 0, 'A');
      let dims = a.dims;
      if (!o.variadic || ins.length > 1) need(ctx, ins, 1, 'B');
      for (let i = 1; i < ins.length; i++) {
        const b = need(ctx, ins, i, `input ${i}`);
        if (o.variadic) sameShapeBefore8(ctx, a.dims, b.dims, i);
        const d = broadcastDims(dims, b.dims);
        if (!d || (o.unidirectional && d.length !== dims.length) || (o.unidirectional && d.some((x, j) => x !== dims[j]))) {
          fail(ctx, `shapes [${dims}] and [${b.dims}] do not broadcast${o.unidirectional ? ' (B to A)' : ''}`);
        }
        dims = d;
      }
      if (o.types) {
        checkType(ctx, a, 'A', o.types);
        for (let i = 1; i < ins.length; i++) if (ins[i]!.type !== a.type) fail(ctx, `inputs have different element types: ${a.type} and ${ins[i]!.type}`, DTypeError);
      }
      return [{ type: o.out ?? a.type, dims: [...dims] }];
    },
    outNhwc: (ins, outDims) => outDims[0].length === 4 && ins.some((v) => v !== null && v.dims.length === 4 && v.nhwc),
    compute: (ctx, ins, outs) => {
      const out = outs[0], f = typeof op === 'string' ? op : op(ctx);
      if (ins.length === 2 && sameLayout(ins[0]!, out) && sameLayout(ins[1]!, out)) {
        binarySame(f, ins[0]!.data, ins[1]!.data, out.data, out.data.length);
        return;
      }
      const r = out.dims.length, order = physicalOrder(r, out.nhwc);
      const operand = (v: HostValue) => ({ data: v.data, strides: broadcastStrides(v.dims, logicalStrides(v.dims, v.nhwc), r) });
      binary(f, operand(ins[0]!), operand(ins[Math.min(1, ins.length - 1)]!), out.dims, order, out.data);
      const self = { data: out.data, strides: logicalStrides(out.dims, out.nhwc) };
      for (let i = 2; i < ins.length; i++) binary(f, self, operand(ins[i]!), out.dims, order, out.data);
    },
  };
}

/** whether v is laid out exactly as out (same dims; the same layout where it matters): elementwise needs no strides */
function sameLayout(v: HostValue, out: HostValue): boolean {
  if (v.dims.length !== out.dims.length || v.data.length !== out.data.length) return false;
  for (let i = 0; i < v.dims.length; i++) if (v.dims[i] !== out.dims[i]) return false;
  return v.dims.length !== 4 || !!v.nhwc === !!out.nhwc;
}

/**
 * Max, Min and Sum broadcast from opset 8; Max-6, Min-6 and Sum-6 take inputs of one shape
 * (onnxruntime refuses others: "All inputs must have the same shape").
 */
function sameShapeBefore8(ctx: OpContext, first: readonly number[], dims: readonly number[], i: number): void {
  if (ctx.opset < 8 && dims.join() !== first.join()) {
    fail(ctx, `input ${i} has shape [${dims}] and input 0 [${first}]: ${ctx.node.op} broadcasts from opset 8, before it (the model's opset is ${ctx.opset}) its inputs have one shape`);
  }
}

/** Sum: n-ary Add. */
const sumDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    let dims = need(ctx, ins, 0, 'data_0').dims;
    for (let i = 1; i < ins.length; i++) {
      const x = need(ctx, ins, i, `data_${i}`);
      sameShapeBefore8(ctx, ins[0]!.dims, x.dims, i);
      const d = broadcastDims(dims, x.dims);
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
  Max: binaryDef('Max', { variadic: true }),
  Min: binaryDef('Min', { variadic: true }),
  Sum: sumDef,
  BatchNormalization: batchNormDef,
};
