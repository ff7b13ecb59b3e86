// onnxruntime's contrib normalisations: com.microsoft SkipLayerNormalization and
// SkipSimplifiedLayerNormalization (residual add + LayerNorm / RMSNorm, as transformer exports fuse
// them), and SimplifiedLayerNormalization (RMSNorm), which onnxruntime registers in the default ONNX
// domain, version 1. As onnxruntime's CPU kernels do: the sum x + skip + bias rounds to float32, its
// statistics accumulate in float64 (mean of squares minus squared mean).

import { UnsupportedOperatorError } from '../../errors.js';
import { elementCount } from '../graph.js';
import { checkType, FLOAT } from './math.js';
import { attr, fail, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

/**
 * Normalises each row of n values of s (in place into y): y = (s - mean) * inv * g + b, or for RMS
 * y = s * inv * g. mean and inv get one value per row when given.
 */
function normRows(s: ArrayLike<number>, n: number, rms: boolean, eps: number, g: ArrayLike<number>, b: ArrayLike<number> | null, y: { [i: number]: number }, mean?: { [i: number]: number }, inv?: { [i: number]: number }): void {
  const rows = n ? s.length / n : 0;
  for (let r = 0, o = 0; r < rows; r++, o += n) {
    let sum = 0, sq = 0;
    for (let i = 0; i < n; i++) {
      sum += s[o + i];
      sq += s[o + i] * s[o + i];
    }
    const m = rms ? 0 : sum / n;
    const inverse = 1 / Math.sqrt(sq / n - m * m + eps);
    for (let i = 0; i < n; i++) y[o + i] = (s[o + i] - m) * inverse * g[i] + (b ? b[i] : 0);
    if (mean) mean[r] = m;
    if (inv) inv[r] = inverse;
  }
}

function checkVector(ctx: OpContext, v: ValueInfo | null, name: string, n: number): void {
  if (!v) return;
  checkType(ctx, v, name, FLOAT);
  if (v.dims.length !== 1 || v.dims[0] !== n) fail(ctx, `${name} must be 1-D [${n}] (hidden_size), got [${v.dims}]`);
}

/** An output the node asks for (a name), which lowbit does not produce. */
function refuseOutput(ctx: OpContext, i: number, name: string, why: string): void {
  if (ctx.node.outputs[i]) fail(ctx, `output ${i} (${name}) is not supported: ${why}`, UnsupportedOperatorError);
}

/**
 * SkipLayerNormalization (inputs input, skip, gamma, beta?, bias?) and SkipSimplifiedLayerNormalization
 * (input, skip, gamma, bias?); outputs output, mean?, inv_std_var?, input_skip_bias_sum?.
 */
function skipNormDef(rms: boolean): OpDef {
  const biasAt = rms ? 3 : 4;
  return {
    layout: 'nchw',
    check: (ctx) => {
      if (rms) refuseOutput(ctx, 1, 'mean', 'RMS normalisation has no mean (onnxruntime leaves it unspecified)');
    },
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'input'), skip = need(ctx, ins, 1, 'skip'), gamma = need(ctx, ins, 2, 'gamma');
      checkType(ctx, x, 'input', FLOAT);
      checkType(ctx, skip, 'skip', FLOAT);
      const r = x.dims.length;
      if (r !== 2 && r !== 3) fail(ctx, `input must be 3-D (batch, sequence, hidden) or 2-D (tokens, hidden), got [${x.dims}]`);
      const h = x.dims[r - 1];
      // skip: as input, or (1, S, H) / (S, H) for a 3-D input, added to every batch
      const sd = skip.dims, sr = sd.length;
      const lastTwo = sr >= 2 && sd[sr - 1] === h && sd[sr - 2] === x.dims[r - 2];
      if (!((sr === 2 || sr === 3) && sr <= r && lastTwo && (sr === 2 || sd[0] === x.dims[0] || sd[0] === 1))) {
        fail(ctx, `skip must have input's shape [${x.dims}]${r === 3 ? `, [1, ${x.dims[1]}, ${h}] or [${x.dims[1]}, ${h}]` : ''}, got [${sd}]`);
      }
      checkVector(ctx, gamma, 'gamma', h);
      if (!rms) checkVector(ctx, ins[3], 'beta', h);
      checkVector(ctx, ins[biasAt], 'bias', h);
      const stats = [...x.dims.slice(0, -1), 1];
      return [[...x.dims], stats, stats, [...x.dims]].slice(0, ctx.node.outputs.length).map((dims) => ({ type: 'float32', dims }));
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!.data, skip = ins[1]!.data, bias = ins[biasAt]?.data;
      const h = ins[0]!.dims[ins[0]!.dims.length - 1];
      // the residual sum in float32, as the kernel stores it before its statistics
      const s = outs[3]?.data instanceof Float32Array && ctx.node.outputs[3] ? outs[3].data : new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) s[i] = x[i] + skip[i % skip.length] + (bias ? bias[i % h] : 0);
      const want = (i: number) => (ctx.node.outputs[i] && outs[i] ? outs[i].data : undefined);
      normRows(s, h, rms, attr(ctx.node, 'epsilon', 1e-12), ins[2]!.data, rms ? null : ins[3]?.data ?? null, outs[0].data, want(1), want(2));
    },
  };
}

/** SimplifiedLayerNormalization (default domain, onnxruntime's): RMSNorm over the axes from `axis` on. */
const simplifiedLayerNormDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X'), scale = need(ctx, ins, 1, 'scale');
    checkType(ctx, x, 'X', FLOAT);
    checkType(ctx, scale, 'scale', FLOAT);
    const axis = normAxis(ctx, attr(ctx.node, 'axis', -1), x.dims.length);
    const n = elementCount(x.dims.slice(axis));
    if (elementCount(scale.dims) !== n) fail(ctx, `scale must have ${n} elements (the normalised axes [${x.dims.slice(axis)}]), got [${scale.dims}]`);
    return [[...x.dims], x.dims.map((d, i) => (i < axis ? d : 1))].slice(0, ctx.node.outputs.length).map((dims) => ({ type: 'float32', dims }));
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', -1), x.dims.length);
    const inv = ctx.node.outputs[1] && outs[1] ? outs[1].data : undefined;
    normRows(x.data, elementCount(x.dims.slice(axis)), true, attr(ctx.node, 'epsilon', 1e-5), ins[1]!.data, null, outs[0].data, undefined, inv);
  },
};

export const MS_NORM_OPS: Record<string, OpDef> = {
  SkipLayerNormalization: skipNormDef(false),
  SkipSimplifiedLayerNormalization: skipNormDef(true),
};

/** onnxruntime's contrib operators in the default domain. */
export const ORT_DEFAULT_DOMAIN_OPS: Record<string, OpDef> = { SimplifiedLayerNormalization: simplifiedLayerNormDef };
