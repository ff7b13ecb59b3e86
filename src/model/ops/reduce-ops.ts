// Reductions and normalisations: ReduceMean/ReduceSum, Softmax, LayerNormalization, and the
// pooling operators (channels-last aware).

import { UnsupportedOperatorError } from '../../errors.js';
import { elementCount, nodeLabel } from '../graph.js';
import { logicalStrides } from './layout.js';
import { attr, constInts, fail, ints, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

function reduceAxes(ctx: OpContext, ins: (ValueInfo | null)[], r: number): number[] {
  const fromInput = ctx.opset >= 18 || (ctx.node.op === 'ReduceSum' && ctx.opset >= 13);
  const axes = fromInput ? constInts(ctx, ins, 1, 'axes') : ints(ctx.node, 'axes');
  if (!axes || axes.length === 0) {
    return attr(ctx.node, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: r }, (_, i) => i);
  }
  return [...new Set(axes.map((a) => normAxis(ctx, a, r)))].sort((a, b) => a - b);
}

function reduceDef(mean: boolean): OpDef {
  return {
    layout: 'nchw',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'data');
      const axes = new Set(reduceAxes(ctx, ins, x.dims.length));
      const keep = attr(ctx.node, 'keepdims', 1) === 1;
      const dims = x.dims.flatMap((d, i) => (axes.has(i) ? (keep ? [1] : []) : [d]));
      return [{ type: x.type, dims }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!;
      const axes = new Set(reduceAxes(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }), x.dims.length));
      const y = outs[0].data;
      y.fill(0);
      const r = x.dims.length, xs = logicalStrides(x.dims, false);
      // output strides over x's axes (0 on reduced axes)
      const keptDims = x.dims.map((d, i) => (axes.has(i) ? 1 : d));
      const ks = logicalStrides(keptDims, false).map((s, i) => (axes.has(i) ? 0 : s));
      let count = 1;
      for (const a of axes) count *= x.dims[a];
      // fast path: reducing the trailing axes only (LayerNorm-style mean over the last dim)
      const trailing = [...axes].every((a) => a >= r - axes.size);
      if (trailing) {
        const inner = count, outer = x.data.length / Math.max(inner, 1);
        for (let o = 0; o < outer; o++) {
          let s = 0;
          for (let i = 0; i < inner; i++) s += x.data[o * inner + i];
          y[o] = mean ? s / count : s;
        }
        return;
      }
      const idx = new Array<number>(r).fill(0);
      for (let i = 0; i < x.data.length; i++) {
        let o = 0;
        for (let a = 0; a < r; a++) o += idx[a] * ks[a];
        y[o] += x.data[i];
        for (let a = r - 1; a >= 0; a--) {
          if (++idx[a] < x.dims[a]) break;
          idx[a] = 0;
        }
      }
      void xs;
      if (mean) for (let i = 0; i < y.length; i++) y[i] /= count;
    },
  };
}

const softmaxDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'input');
    normAxis(ctx, attr(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), x.dims.length);
    return [{ type: x.type, dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, r = x.dims.length;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), r);
    // before opset 13 the input is coerced to 2-D at axis; from 13 only that axis is reduced
    const n = ctx.opset >= 13 ? x.dims[axis] : elementCount(x.dims.slice(axis));
    const inner = ctx.opset >= 13 ? elementCount(x.dims.slice(axis + 1)) : 1;
    const outer = x.data.length / Math.max(n * inner, 1);
    const y = outs[0].data, xd = x.data;
    for (let o = 0; o < outer; o++) {
      for (let t = 0; t < inner; t++) {
        const base = o * n * inner + t;
        let m = -Infinity;
        for (let i = 0; i < n; i++) m = Math.max(m, xd[base + i * inner]);
        let s = 0;
        for (let i = 0; i < n; i++) {
          const e = Math.exp(xd[base + i * inner] - m);
          y[base + i * inner] = e;
          s += e;
        }
        const inv = 1 / s;
        for (let i = 0; i < n; i++) y[base + i * inner] *= inv;
      }
    }
  },
};

const layerNormDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    const axis = normAxis(ctx, attr(ctx.node, 'axis', -1), x.dims.length);
    const inner = elementCount(x.dims.slice(axis));
    for (const i of [1, 2]) if (ins[i] && elementCount(ins[i]!.dims) !== inner) fail(ctx, `input ${i} must have ${inner} elements`);
    if (ctx.node.outputs.filter(Boolean).length > 1) fail(ctx, 'the Mean and InvStdDev outputs (training) are not supported');
    return [{ type: x.type, dims: [...x.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, g = ins[1]!.data, b = ins[2]?.data;
    const axis = normAxis(ctx, attr(ctx.node, 'axis', -1), x.dims.length);
    const eps = attr(ctx.node, 'epsilon', 1e-5);
    const n = elementCount(x.dims.slice(axis)), outer = x.data.length / Math.max(n, 1);
    layerNorm(x.data, outer, n, g, b ?? null, eps, outs[0].data);
  },
};

export function layerNorm(x: ArrayLike<number>, outer: number, n: number, g: ArrayLike<number>, b: ArrayLike<number> | null, eps: number, y: { [i: number]: number }): void {
  for (let o = 0; o < outer; o++) {
    const base = o * n;
    let s = 0;
    for (let i = 0; i < n; i++) s += x[base + i];
    const mean = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[base + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / n + eps);
    for (let i = 0; i < n; i++) y[base + i] = (x[base + i] - mean) * inv * g[i] + (b ? b[i] : 0);
  }
}

interface PoolSpec {
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; oh: number; ow: number;
}

function poolSpec(ctx: OpContext, x: ValueInfo): PoolSpec {
  if (x.dims.length !== 4) fail(ctx, `expected a 4-D input [N, C, H, W], got [${x.dims}]`);
  const [, , h, w] = x.dims;
  const k = ints(ctx.node, 'kernel_shape');
  if (!k || k.length !== 2) fail(ctx, 'kernel_shape must have 2 values (2-D pooling)');
  const s = ints(ctx.node, 'strides', [1, 1])!;
  const p = ints(ctx.node, 'pads', [0, 0, 0, 0])!;
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(ctx, `auto_pad ${autoPad} is not supported; export with explicit pads`);
  if (attr(ctx.node, 'ceil_mode', 0)) fail(ctx, 'ceil_mode=1 is not supported');
  if ((ints(ctx.node, 'dilations', [1, 1]) ?? [1, 1]).some((d) => d !== 1)) fail(ctx, 'dilated pooling is not supported');
  const oh = Math.floor((h + p[0] + p[2] - k[0]) / s[0]) + 1, ow = Math.floor((w + p[1] + p[3] - k[1]) / s[1]) + 1;
  if (oh < 1 || ow < 1) fail(ctx, `kernel [${k}] does not fit input [${h}, ${w}]`);
  return { kh: k[0], kw: k[1], sh: s[0], sw: s[1], pt: p[0], pl: p[1], pb: p[2], pr: p[3], oh, ow };
}

/** attribute values lowbit's pooling does not implement: refused at load, not when a plan is made */
function checkPool(ctx: OpContext): void {
  const no = (what: string) => {
    throw new UnsupportedOperatorError(`${nodeLabel(ctx.node)}: ${what} is not supported`);
  };
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') no(`auto_pad ${autoPad} (export with explicit pads)`);
  if (attr(ctx.node, 'ceil_mode', 0)) no('ceil_mode=1');
  if ((ints(ctx.node, 'dilations', [1, 1]) ?? [1, 1]).some((d) => d !== 1)) no('dilated pooling');
  if (ctx.node.outputs.filter(Boolean).length > 1) no('the Indices output');
}

function poolDef(kind: 'avg' | 'max'): OpDef {
  return {
    layout: 'aware',
    check: checkPool,
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'X');
      const sp = poolSpec(ctx, x);
      return [{ type: x.type, dims: [x.dims[0], x.dims[1], sp.oh, sp.ow] }];
    },
    outNhwc: (ins) => ins[0]!.nhwc,
    compute: (ctx, ins, outs) => {
      const x = ins[0]!, y = outs[0];
      const sp = poolSpec(ctx, { type: x.type, dims: [...x.dims] });
      const countPad = attr(ctx.node, 'count_include_pad', 0) === 1;
      const [n, c, h, w] = x.dims;
      const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
        for (let i = 0; i < sp.oh; i++) for (let j = 0; j < sp.ow; j++) {
          const h0 = i * sp.sh - sp.pt, w0 = j * sp.sw - sp.pl;
          let acc = kind === 'max' ? -Infinity : 0, cnt = 0;
          for (let u = Math.max(0, h0); u < Math.min(h, h0 + sp.kh); u++) {
            for (let v = Math.max(0, w0); v < Math.min(w, w0 + sp.kw); v++) {
              const val = x.data[b * xs[0] + ch * xs[1] + u * xs[2] + v * xs[3]];
              acc = kind === 'max' ? Math.max(acc, val) : acc + val;
              cnt++;
            }
          }
          if (kind === 'avg') {
            const hEnd = Math.min(h0 + sp.kh, h + sp.pb), wEnd = Math.min(w0 + sp.kw, w + sp.pr);
            const padded = (hEnd - h0) * (wEnd - w0);
            acc /= countPad ? padded : Math.max(cnt, 1);
          }
          y.data[b * ys[0] + ch * ys[1] + i * ys[2] + j * ys[3]] = acc;
        }
      }
    },
  };
}

const globalAvgDef: OpDef = {
  layout: 'aware',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    if (x.dims.length < 3) fail(ctx, `expected [N, C, spatial…], got [${x.dims}]`);
    return [{ type: x.type, dims: [x.dims[0], x.dims[1], ...x.dims.slice(2).map(() => 1)] }];
  },
  outNhwc: (ins) => ins[0]!.nhwc,
  compute: (_ctx, ins, outs) => {
    const x = ins[0]!, y = outs[0].data;
    const [n, c] = x.dims, hw = elementCount(x.dims.slice(2));
    y.fill(0);
    for (let b = 0; b < n; b++) {
      if (x.nhwc) {
        for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) y[b * c + ch] += x.data[(b * hw + p) * c + ch];
      } else {
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let p = 0; p < hw; p++) s += x.data[(b * c + ch) * hw + p];
          y[b * c + ch] = s;
        }
      }
      for (let ch = 0; ch < c; ch++) y[b * c + ch] /= hw;
    }
  },
};

export const REDUCE_OPS: Record<string, OpDef> = {
  ReduceMean: reduceDef(true),
  ReduceSum: reduceDef(false),
  Softmax: softmaxDef,
  LayerNormalization: layerNormDef,
  AveragePool: poolDef('avg'),
  MaxPool: poolDef('max'),
  GlobalAveragePool: globalAvgDef,
};
