// The quantized ONNX operators as graph nodes: QuantizeLinear / DequantizeLinear (QDQ models),
// DynamicQuantizeLinear, MatMulInteger, and com.microsoft MatMulNBits (4-bit weights). Host code
// with ONNX's arithmetic (float32 division, round half to even, saturation); constant inputs fold
// at plan time, so a QDQ model's DequantizeLinear of int8 weights becomes float32 weights that the
// layers then pack (and, in a quantized scheme, requantize).

import { roundHalfEven } from '../../quant/rounding.js';
import { dequantizeInt4, fromMatMulNBits } from '../../quant/int4.js';
import type { ElemType } from '../graph.js';
import { elementCount } from '../graph.js';
import { attr, fail, need, normAxis, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';
import { LINEAR_OPS } from './linear-ops.js';

const RANGE: Partial<Record<ElemType, [number, number]>> = { uint8: [0, 255], int8: [-128, 127], int32: [-2147483648, 2147483647] };

/** Scale/zero-point index for element i: per tensor, or per slice along `axis`. */
function paramIndex(ctx: OpContext, x: { dims: readonly number[] }, scale: { dims: readonly number[] }): (i: number) => number {
  if (elementCount(scale.dims) === 1) return () => 0;
  const axis = normAxis(ctx, attr(ctx.node, 'axis', 1), x.dims.length);
  if (scale.dims.length !== 1 || scale.dims[0] !== x.dims[axis]) fail(ctx, `per-axis scale must be 1-D of length ${x.dims[axis]} (axis ${axis}), got [${scale.dims}] (blocked quantization is not supported)`);
  const inner = elementCount(x.dims.slice(axis + 1)), c = x.dims[axis];
  return (i) => Math.floor(i / inner) % c;
}

const quantizeLinearDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    if (attr(ctx.node, 'block_size', 0) !== 0) fail(ctx, 'blocked QuantizeLinear (block_size) is not supported');
    const t = attr(ctx.node, 'output_dtype', 0);
    if (t !== 0 && t !== 2 && t !== 3) fail(ctx, `output_dtype ${t} is not supported (uint8 and int8 are)`);
  },
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    need(ctx, ins, 1, 'y_scale');
    const zp = ins[2];
    const t = attr(ctx.node, 'output_dtype', 0);
    const type: ElemType = zp ? zp.type : t === 3 ? 'int8' : 'uint8';
    if (type !== 'uint8' && type !== 'int8') fail(ctx, `output type ${type} is not supported (uint8 and int8 are)`);
    return [{ type, dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, s = ins[1]!, z = ins[2];
    const [lo, hi] = RANGE[outs[0].type]!;
    const at = paramIndex(ctx, x, s);
    const y = outs[0].data;
    for (let i = 0; i < x.data.length; i++) {
      const p = at(i);
      const v = roundHalfEven(Math.fround(x.data[i] / s.data[p])) + (z ? z.data[p] : 0);
      y[i] = v < lo ? lo : v > hi ? hi : Number.isNaN(v) ? 0 : v;
    }
  },
};

const dequantizeLinearDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    if (attr(ctx.node, 'block_size', 0) !== 0) fail(ctx, 'blocked DequantizeLinear (block_size) is not supported');
  },
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    need(ctx, ins, 1, 'x_scale');
    if (!RANGE[x.type]) fail(ctx, `input type ${x.type} is not supported (uint8, int8, int32 are)`);
    return [{ type: 'float32', dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, s = ins[1]!, z = ins[2];
    const at = paramIndex(ctx, x, s);
    const y = outs[0].data;
    for (let i = 0; i < x.data.length; i++) {
      const p = at(i);
      y[i] = Math.fround((x.data[i] - (z ? z.data[p] : 0)) * s.data[p]);
    }
  },
};

const dynamicQuantizeLinearDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'x');
    return [{ type: 'uint8', dims: [...x.dims] }, { type: 'float32', dims: [] }, { type: 'uint8', dims: [] }];
  },
  compute: (_ctx, ins, outs) => {
    const x = ins[0]!.data;
    let lo = 0, hi = 0;
    for (let i = 0; i < x.length; i++) {
      if (x[i] < lo) lo = x[i];
      if (x[i] > hi) hi = x[i];
    }
    const scale = Math.fround(Math.fround(hi - lo) / 255);
    const zp = scale === 0 ? 0 : Math.min(255, Math.max(0, roundHalfEven(Math.fround(0 - Math.fround(lo / scale)))));
    const y = outs[0].data;
    for (let i = 0; i < x.length; i++) y[i] = scale === 0 ? zp : Math.min(255, Math.max(0, roundHalfEven(Math.fround(x[i] / scale)) + zp));
    outs[1].data[0] = scale;
    outs[2].data[0] = zp;
  },
};

const matMulIntegerDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const [out] = LINEAR_OPS.MatMul.infer(ctx, ins.slice(0, 2));
    return [{ type: 'int32', dims: out.dims }];
  },
  compute: (ctx, ins, outs) => {
    const a = ins[0]!, b = ins[1]!;
    const za = ins[2] ? ins[2].data[0] : 0;
    const zb = ins[3];
    const n = b.dims[b.dims.length - 1];
    const centre = (v: HostValue, z: (i: number) => number): HostValue => ({ ...v, type: 'float32', data: Float64Array.from(v.data, (x, i) => x - z(i)) });
    const ac = centre(a, () => za);
    const bc = centre(b, (i) => (zb ? (elementCount(zb.dims) === 1 ? zb.data[0] : zb.data[i % n]) : 0));
    // exact: integer products and sums stay below 2^53 for K < 2^37
    LINEAR_OPS.MatMul.compute!(ctx, [ac, bc], outs);
    const y = outs[0].data;
    for (let i = 0; i < y.length; i++) y[i] = y[i] | 0;
  },
};

/** com.microsoft MatMulNBits (bits = 4): Y = A · dequantize(B)ᵀ (+ bias). */
const matMulNBitsDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    if (attr(ctx.node, 'bits', 4) !== 4) fail(ctx, `bits ${attr(ctx.node, 'bits', 4)} is not supported (4 is)`);
  },
  infer: (ctx, ins) => {
    const a = need(ctx, ins, 0, 'A');
    const k = attr(ctx.node, 'K', 0), n = attr(ctx.node, 'N', 0);
    if (a.dims[a.dims.length - 1] !== k) fail(ctx, `A's last dim ${a.dims[a.dims.length - 1]} differs from K = ${k}`);
    for (const i of [1, 2, 3]) if (ins[i] && !ins[i]!.value) fail(ctx, `input ${i} (weights, scales, zero points) must be constant`);
    if (ins[4] && ins[4].value) fail(ctx, 'g_idx is not supported');
    if (ins[5] && elementCount(ins[5].dims) !== n) fail(ctx, `bias must have N = ${n} values`);
    return [{ type: 'float32', dims: [...a.dims.slice(0, -1), n] }];
  },
  compute: (ctx, ins, outs) => {
    const w = matMulNBitsWeights(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }));
    const { k, n } = w;
    const a = ins[0]!, bias = ins[5];
    const rows = a.data.length / k, y = outs[0].data;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a.data[r * k + t] * w.wnk[j * k + t];
        y[r * n + j] = s + (bias ? bias.data[j] : 0);
      }
    }
  },
};

/** MatMulNBits' constant inputs as canonical 4-bit blocks, and dequantized rows [N][K]. */
export function matMulNBitsWeights(ctx: OpContext, ins: (ValueInfo | null)[]) {
  const k = attr(ctx.node, 'K', 0), n = attr(ctx.node, 'N', 0), bs = attr(ctx.node, 'block_size', 0);
  const zp = ins[3]?.value;
  const blocks = fromMatMulNBits({
    B: ins[1]!.value!.data as Uint8Array, scales: Float32Array.from(ins[2]!.value!.data), K: k, N: n, blockSize: bs,
    zeroPoints: zp ? (zp.type === 'uint8' ? (zp.data as Uint8Array) : Float32Array.from(zp.data)) : null,
  });
  return { k, n, blocks, wnk: dequantizeInt4(blocks) };
}

export const QUANT_OPS: Record<string, OpDef> = {
  QuantizeLinear: quantizeLinearDef,
  DequantizeLinear: dequantizeLinearDef,
  DynamicQuantizeLinear: dynamicQuantizeLinearDef,
  MatMulInteger: matMulIntegerDef,
};

export const MICROSOFT_OPS: Record<string, OpDef> = { MatMulNBits: matMulNBitsDef };
