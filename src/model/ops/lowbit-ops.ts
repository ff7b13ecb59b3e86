// Nodes lowbit's own rewrites create (domain 'lowbit'): Activation (an activation recognised from
// an exporter's decomposition), FusedConv and FusedConvTranspose (Conv / ConvTranspose + activation +
// per-channel affine), FusedMatMul and Attention.

import { elementCount } from '../graph.js';
import { unary, type UnaryOp } from './elementwise.js';
import { CONV_TRANSPOSE_OPS } from './conv-transpose.js';
import { LINEAR_OPS } from './linear-ops.js';
import { logicalStrides } from './layout.js';
import { attr, fail, need, type HostValue, type OpContext, type OpDef } from './types.js';

/** y = act(x) on the host, as assembly/elementwise/f32-act.ts defines the activations. */
export function applyActivation(name: string, alpha: number, beta: number, x: ArrayLike<number>, y: { [i: number]: number }, n: number): void {
  if (name === 'swish' || name === 'sigmoid') {
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-alpha * x[i]));
      y[i] = name === 'swish' ? x[i] * s : s;
    }
    return;
  }
  if (name === 'leakyrelu') {
    // leaky relu with a floor (beta, -Infinity for none): a Max by a constant folded into it
    for (let i = 0; i < n; i++) y[i] = Math.max(x[i] < 0 ? alpha * x[i] : x[i], beta);
    return;
  }
  const op: Record<string, UnaryOp> = { relu: 'Relu', hardswish: 'HardSwish', hardsigmoid: 'HardSigmoid', clip: 'Clip', identity: 'Identity' };
  unary(op[name], x, y, n, name === 'clip' ? { min: alpha, max: beta } : { alpha, beta });
}

const activationDef: OpDef = {
  layout: 'any',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    return [{ type: x.type, dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const n = ctx.node;
    applyActivation(attr(n, 'activation', 'identity'), attr(n, 'alpha', 1), attr(n, 'beta', 0), ins[0]!.data, outs[0].data, ins[0]!.data.length);
  },
};

const conv = LINEAR_OPS.Conv;

const fusedConvDef: OpDef = {
  layout: 'aware',
  infer: (ctx: OpContext, ins) => conv.infer(ctx, ins.slice(0, 3)),
  outNhwc: () => true,
  compute: (ctx, ins, outs) => {
    conv.compute!(ctx, ins.slice(0, 3), outs);
    const y = outs[0], n = ctx.node;
    applyActivation(attr(n, 'activation', 'identity'), attr(n, 'alpha', 1), attr(n, 'beta', 0), y.data, y.data, y.data.length);
    postAffine(y, ins[3], ins[4]);
  },
};

function postAffine(y: HostValue, scale: HostValue | null, shift: HostValue | null): void {
  if (!scale || !shift) return;
  const c = y.dims[1], s = logicalStrides(y.dims, y.nhwc)[1];
  for (let i = 0; i < elementCount(y.dims); i++) {
    const ch = Math.floor(i / s) % c;
    y.data[i] = y.data[i] * scale.data[ch] + shift.data[ch];
  }
}

const convTranspose = CONV_TRANSPOSE_OPS.ConvTranspose;

/** ConvTranspose + activation + per-channel affine (src/model/fuse.ts); the host form for what no layer takes. */
const fusedConvTransposeDef: OpDef = {
  layout: 'nchw',
  infer: (ctx: OpContext, ins) => convTranspose.infer(ctx, ins.slice(0, 3)),
  compute: (ctx, ins, outs) => {
    convTranspose.compute!(ctx, ins.slice(0, 3), outs);
    const y = outs[0], n = ctx.node;
    applyActivation(attr(n, 'activation', 'identity'), attr(n, 'alpha', 1), attr(n, 'beta', 0), y.data, y.data, y.data.length);
    postAffine(y, ins[3], ins[4]);
  },
};

const matmul = LINEAR_OPS.MatMul;

/** MatMul by constant weights plus a bias over the last axis, then an optional activation. */
const fusedMatMulDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => matmul.infer(ctx, ins.slice(0, 2)),
  compute: (ctx, ins, outs) => {
    matmul.compute!(ctx, ins.slice(0, 2), outs);
    const y = outs[0].data, b = ins[2]!.data, n = b.length;
    for (let i = 0; i < y.length; i++) y[i] += b[i % n];
    const act = ctx.node.attrs.get('activation') as string | undefined;
    if (act) applyActivation(act, attr(ctx.node, 'alpha', 1), attr(ctx.node, 'beta', 0), y, y, y.length);
  },
};

/** softmax(scale · Q Kᵀ) V over the last axis; inputs Q [..., m, k], Kᵀ [..., k, n], V [..., n, dv]. */
const attentionDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const q = need(ctx, ins, 0, 'Q'), kt = need(ctx, ins, 1, 'K'), v = need(ctx, ins, 2, 'V');
    const r = q.dims.length;
    const axis = attr(ctx.node, 'softmax_axis', -1);
    if (r < 2 || kt.dims.length !== r || v.dims.length !== r || (axis < 0 ? axis + r : axis) !== r - 1) {
      fail(ctx, `fused attention needs Q, K, V of one rank with the softmax over the last axis (load with { fuse: false } otherwise); got [${q.dims}], [${kt.dims}], [${v.dims}], axis ${axis}`);
    }
    const [scores] = matmul.infer(ctx, [q, kt]);
    const [out] = matmul.infer(ctx, [{ type: 'float32', dims: scores.dims }, v]);
    return [out];
  },
  compute: (ctx, ins, outs) => {
    const q = ins[0]!, kt = ins[1]!, v = ins[2]!;
    const [sd] = matmul.infer(ctx, [{ type: 'float32', dims: [...q.dims] }, { type: 'float32', dims: [...kt.dims] }]);
    const scores: HostValue = { type: 'float32', dims: sd.dims, data: new Float32Array(elementCount(sd.dims)), nhwc: false };
    matmul.compute!(ctx, [q, kt], [scores]);
    const scale = attr(ctx.node, 'scale', 1), n = sd.dims[sd.dims.length - 1], s = scores.data;
    for (let o = 0; o < s.length; o += n) {
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, s[o + j] * scale);
      let sum = 0;
      for (let j = 0; j < n; j++) sum += s[o + j] = Math.exp(s[o + j] * scale - m);
      for (let j = 0; j < n; j++) s[o + j] /= sum;
    }
    matmul.compute!(ctx, [scores, v], outs);
  },
};

export const LOWBIT_OPS: Record<string, OpDef> = { Activation: activationDef, FusedConv: fusedConvDef, FusedConvTranspose: fusedConvTransposeDef, FusedMatMul: fusedMatMulDef, Attention: attentionDef };
