// InstanceNormalization (opsets 6–22) and GroupNormalization (18: scale and bias per group;
// 21: per channel, statistics in float32 or wider by stash_type): normalise each (sample, channel)
// or (sample, group) over its elements, float64 statistics. Layout-aware: channels-last values
// stay channels-last.

import { elementCount } from '../graph.js';
import { logicalStrides } from './layout.js';
import { attr, fail, need, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** Element offsets of every position of the axes after C, for a value stored with these strides. */
function spatialOffsets(dims: readonly number[], strides: readonly number[]): Int32Array {
  const sp = dims.slice(2);
  const out = new Int32Array(elementCount(sp));
  for (let p = 0; p < out.length; p++) {
    let o = 0;
    for (let a = sp.length - 1, q = p; a >= 0; a--) {
      o += (q % sp[a]) * strides[a + 2];
      q = Math.floor(q / sp[a]);
    }
    out[p] = o;
  }
  return out;
}

function checkInput(ctx: OpContext, x: ValueInfo): void {
  if (x.type !== 'float32') fail(ctx, `X must be float32, got ${x.type}`);
  if (x.dims.length < 3) fail(ctx, `X must be [N, C, D1 …], got [${x.dims}]`);
}

function checkVector(ctx: OpContext, v: ValueInfo, name: string, n: number, per: string): void {
  if (v.dims.length !== 1 || v.dims[0] !== n) fail(ctx, `${name} must be [${n}] (one per ${per}), got [${v.dims}]`);
}

/**
 * Normalises x in blocks of `cpb` consecutive channels (1: instance norm; C/G: group norm), then
 * y = x̂ * scale[c] + bias[c] with per-channel scale and bias.
 */
function normalize(x: HostValue, y: HostValue, cpb: number, eps: number, scale: (c: number) => number, bias: (c: number) => number): void {
  const [n, c] = x.dims;
  const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
  const xo = spatialOffsets(x.dims, xs), yo = spatialOffsets(y.dims, ys);
  const hw = xo.length, count = hw * cpb;
  for (let b = 0; b < n; b++) for (let c0 = 0; c0 < c; c0 += cpb) {
    let sum = 0;
    for (let ch = c0; ch < c0 + cpb; ch++) {
      const base = b * xs[0] + ch * xs[1];
      for (let p = 0; p < hw; p++) sum += x.data[base + xo[p]];
    }
    const mean = count ? sum / count : 0;
    let sq = 0;
    for (let ch = c0; ch < c0 + cpb; ch++) {
      const base = b * xs[0] + ch * xs[1];
      for (let p = 0; p < hw; p++) {
        const d = x.data[base + xo[p]] - mean;
        sq += d * d;
      }
    }
    const inv = 1 / Math.sqrt((count ? sq / count : 0) + eps);
    for (let ch = c0; ch < c0 + cpb; ch++) {
      const xb = b * xs[0] + ch * xs[1], yb = b * ys[0] + ch * ys[1];
      const s = scale(ch) * inv, t = bias(ch) - mean * s;
      for (let p = 0; p < hw; p++) y.data[yb + yo[p]] = x.data[xb + xo[p]] * s + t;
    }
  }
}

const instanceNormDef: OpDef = {
  layout: 'aware',
  opsets: [6, 22],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input'), s = need(ctx, ins, 1, 'scale'), b = need(ctx, ins, 2, 'B');
    checkInput(ctx, x);
    checkVector(ctx, s, 'scale', x.dims[1], 'channel');
    checkVector(ctx, b, 'B', x.dims[1], 'channel');
    return [{ type: 'float32', dims: [...x.dims] }];
  },
  outNhwc: (ins) => !!ins[0]?.nhwc,
  compute: (ctx, ins, outs) => {
    const s = ins[1]!.data, b = ins[2]!.data;
    normalize(ins[0]!, outs[0], 1, attr(ctx.node, 'epsilon', 1e-5), (c) => s[c], (c) => b[c]);
  },
};

function groups(ctx: OpContext, c: number): number {
  const g = attr(ctx.node, 'num_groups', 0);
  if (!Number.isInteger(g) || g < 1 || c % g !== 0) fail(ctx, `num_groups ${g} must be a positive divisor of the ${c} channels`);
  return g;
}

const groupNormDef: OpDef = {
  layout: 'aware',
  opsets: [18, 22],
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X'), s = need(ctx, ins, 1, 'scale'), b = need(ctx, ins, 2, 'bias');
    checkInput(ctx, x);
    const g = groups(ctx, x.dims[1]);
    // opset 18 scales per group; 21 per channel
    const [n, per] = ctx.opset >= 21 ? [x.dims[1], 'channel'] : [g, 'group'];
    checkVector(ctx, s, 'scale', n, per);
    checkVector(ctx, b, 'bias', n, per);
    return [{ type: 'float32', dims: [...x.dims] }];
  },
  outNhwc: (ins) => !!ins[0]?.nhwc,
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, s = ins[1]!.data, b = ins[2]!.data;
    const g = groups(ctx, x.dims[1]), cpg = x.dims[1] / g;
    const at = (c: number) => (ctx.opset >= 21 ? c : Math.floor(c / cpg));
    normalize(x, outs[0], cpg, attr(ctx.node, 'epsilon', 1e-5), (c) => s[at(c)], (c) => b[at(c)]);
  },
};

export const NORM_OPS: Record<string, OpDef> = { InstanceNormalization: instanceNormDef, GroupNormalization: groupNormDef };
