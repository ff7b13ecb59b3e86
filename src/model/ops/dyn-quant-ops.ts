// lowbit.DynamicQuantConv and lowbit.DynamicQuantMatMul: what onnxruntime's quantize_dynamic writes
// for a Conv or a MatMul, as one node (src/model/fuse-dyn-quant.ts makes them):
//   DynamicQuantizeLinear(x) -> ConvInteger / MatMulInteger (constant w, w_zero_point) -> Cast(float)
//   -> Mul(x_scale * w_scale) [-> Add(bias)] [-> an activation, as lowbit.FusedConv has them]
// Inputs: x (float32), w, w_zero_point, w_scale (float32: a scalar, or one per column for MatMul),
// bias ('' when none); attributes activation, alpha, beta (none: identity); a conv keeps Conv's. compute() is that chain
// step by step, each float32 step rounded as the separate nodes round; with constant weights the
// planner runs an int8 layer instead (src/model/dyn-quant-layer.ts), which gives the same values.

import { hostArray, type HostData } from '../graph.js';
import { INT_MATMUL_OPS } from './int-matmul-ops.js';
import { QDQ_OPS } from './qdq-ops.js';
import { QCONV_OPS } from './qconv-ops.js';
import { applyActivation } from './lowbit-ops.js';
import { attr, need, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** DynamicQuantizeLinear(x): q (uint8), its scale and zero point, as the operator computes them. */
export function dynamicQuantize(ctx: OpContext, x: HostValue): { q: HostValue; scale: number; zeroPoint: number } {
  const q: HostValue = { type: 'uint8', dims: x.dims, data: new Uint8Array(x.data.length), nhwc: false };
  const s: HostValue = { type: 'float32', dims: [], data: new Float32Array(1), nhwc: false };
  const z: HostValue = { type: 'uint8', dims: [], data: new Uint8Array(1), nhwc: false };
  QDQ_OPS.DynamicQuantizeLinear.compute!(ctx, [x], [q, s, z]);
  return { q, scale: s.data[0], zeroPoint: z.data[0] };
}

/**
 * The integer node's inputs and output info: [q, w, z, w_zero_point]. `ints` is the node the chain
 * starts from (ConvInteger or MatMulInteger), which checks shapes and types.
 */
function integerIns(ins: (ValueInfo | null)[], x: ValueInfo): (ValueInfo | null)[] {
  return [{ type: 'uint8', dims: x.dims }, ins[1], { type: 'uint8', dims: [] }, ins[2]];
}

/** y = float32(acc) * float32(x_scale * w_scale[col]) (+ bias[col]), each step rounded to float32. */
function scaleOutput(acc: HostData, y: HostData, colOf: (i: number) => number, xScale: number, wScale: HostData, bias: HostData | undefined): void {
  const mult = Float32Array.from(wScale, (s) => xScale * s);
  for (let i = 0; i < acc.length; i++) {
    const c = colOf(i);
    let v = Math.fround(Math.fround(acc[i]) * mult[wScale.length === 1 ? 0 : c]);
    if (bias) v = Math.fround(v + bias[c]);
    y[i] = v;
  }
}

function chainDef(op: 'ConvInteger' | 'MatMulInteger'): OpDef {
  const inner = op === 'ConvInteger' ? QCONV_OPS.ConvInteger : INT_MATMUL_OPS.MatMulInteger;
  return {
    layout: 'nchw',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'x');
      const [out] = inner.infer(ctx, integerIns(ins, x));
      return [{ type: 'float32', dims: out.dims }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!, w = ins[1]!;
      const { q, scale, zeroPoint } = dynamicQuantize(ctx, x);
      const acc: HostValue = { type: 'int32', dims: outs[0].dims, data: hostArray('int32', outs[0].data.length), nhwc: false };
      const z: HostValue = { type: 'uint8', dims: [], data: Uint8Array.of(zeroPoint), nhwc: false };
      inner.compute!(ctx, [q, w, z, ins[2]], [acc]);
      const n = op === 'ConvInteger' ? w.dims[0] : w.dims[w.dims.length - 1];
      const plane = op === 'ConvInteger' ? outs[0].dims.slice(2).reduce((a, b) => a * b, 1) : 1;
      const colOf = (i: number) => Math.floor(i / plane) % n;
      const y = outs[0].data, nd = ctx.node;
      scaleOutput(acc.data, y, colOf, scale, ins[3]!.data, ins[4]?.data);
      applyActivation(attr(nd, 'activation', 'identity'), attr(nd, 'alpha', 1), attr(nd, 'beta', 0), y, y, y.length);
    },
  };
}

export const DYN_QUANT_OPS: Record<string, OpDef> = { DynamicQuantConv: chainDef('ConvInteger'), DynamicQuantMatMul: chainDef('MatMulInteger') };
