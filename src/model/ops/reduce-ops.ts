// Reductions and normalisations: the Reduce* family, Softmax, LayerNormalization, and the
// pooling operators (channels-last aware).

import { ModelError, UnsupportedOperatorError } from '../../errors.js';
import { elementCount, nodeLabel } from '../graph.js';
import { logicalStrides, stridedCopy } from './layout.js';
import { attr, constInts, fail, ints, need, normAxis, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** axes: the attribute before opset 18 (ReduceSum: 13), the optional constant input from then on */
function reduceAxes(ctx: OpContext, ins: (ValueInfo | null)[], r: number): number[] {
  const fromInput = ctx.opset >= 18 || (ctx.node.op === 'ReduceSum' && ctx.opset >= 13);
  const axes = fromInput ? constInts(ctx, ins, 1, 'axes') : ints(ctx.node, 'axes');
  if (!axes || axes.length === 0) {
    return attr(ctx.node, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: r }, (_, i) => i);
  }
  return [...new Set(axes.map((a) => normAxis(ctx, a, r)))].sort((a, b) => a - b);
}

/** How a reduction folds one row of values: an accumulation, then an optional final map. */
type Reducer = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'sumSquare' | 'logSum' | 'logSumExp';

/** y[o] = reduce(x[o * n … o * n + n - 1]) for each of y's rows. */
function reduceRows(kind: Reducer, x: ArrayLike<number>, n: number, y: { [i: number]: number; length: number }): void {
  for (let o = 0, b = 0; o < y.length; o++, b += n) {
    let s = 0;
    switch (kind) {
      case 'sum':
      case 'mean':
      case 'logSum':
        for (let i = 0; i < n; i++) s += x[b + i];
        // the mean of nothing is 0 in onnxruntime (not 0/0)
        s = kind === 'mean' ? (n > 0 ? s / n : 0) : kind === 'logSum' ? Math.log(s) : s;
        break;
      case 'max':
        s = -Infinity;
        for (let i = 0; i < n; i++) s = Math.max(s, x[b + i]);
        break;
      case 'min':
        s = Infinity;
        for (let i = 0; i < n; i++) s = Math.min(s, x[b + i]);
        break;
      case 'prod':
        s = 1;
        for (let i = 0; i < n; i++) s *= x[b + i];
        break;
      case 'l1':
        for (let i = 0; i < n; i++) s += Math.abs(x[b + i]);
        break;
      case 'l2':
      case 'sumSquare':
        for (let i = 0; i < n; i++) s += x[b + i] * x[b + i];
        if (kind === 'l2') s = Math.sqrt(s);
        break;
      case 'logSumExp': {
        // shifted by the row's max so exp does not overflow
        let m = -Infinity;
        for (let i = 0; i < n; i++) m = Math.max(m, x[b + i]);
        if (!Number.isFinite(m)) m = 0;
        for (let i = 0; i < n; i++) s += Math.exp(x[b + i] - m);
        s = Math.log(s) + m;
        break;
      }
    }
    y[o] = s;
  }
}

function reduceDef(kind: Reducer): OpDef {
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
      const x = ins[0]!, r = x.dims.length;
      const axes = new Set(reduceAxes(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }), r));
      // the reduced axes last: each output element then folds one contiguous row (a copy unless
      // they are trailing already, as in LayerNorm-style means over the last dim)
      const kept = x.dims.map((_, i) => i).filter((i) => !axes.has(i));
      const perm = [...kept, ...[...axes]];
      let rows: ArrayLike<number> = x.data;
      if (perm.some((a, i) => a !== i)) {
        const t = new Float64Array(x.data.length), xs = logicalStrides(x.dims, false);
        stridedCopy(x.data, 0, perm.map((a) => xs[a]), perm.map((a) => x.dims[a]), t, 0, logicalStrides(perm.map((a) => x.dims[a]), false));
        rows = t;
      }
      let n = 1;
      for (const a of axes) n *= x.dims[a];
      const y = outs[0].data;
      reduceRows(kind, rows, n, y);
      // integer outputs of Mean, L2, LogSum…: truncated, as onnxruntime's integer kernels do
      if (y instanceof Float64Array) for (let i = 0; i < y.length; i++) y[i] = Math.trunc(y[i]);
    },
  };
}

/**
 * Softmax, LogSoftmax and Hardmax share their axis rule: before opset 13 the input is coerced to 2-D
 * at axis (default 1), from 13 only that axis is reduced (default -1).
 */
function softmaxDef(kind: 'softmax' | 'log' | 'hard'): OpDef {
  return {
    layout: 'nchw',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'input');
      normAxis(ctx, attr(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), x.dims.length);
      return [{ type: x.type, dims: [...x.dims] }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!, r = x.dims.length;
      const axis = normAxis(ctx, attr(ctx.node, 'axis', ctx.opset >= 13 ? -1 : 1), r);
      const n = ctx.opset >= 13 ? x.dims[axis] : elementCount(x.dims.slice(axis));
      const inner = ctx.opset >= 13 ? elementCount(x.dims.slice(axis + 1)) : 1;
      const outer = x.data.length / Math.max(n * inner, 1);
      const y = outs[0].data, xd = x.data;
      for (let o = 0; o < outer; o++) {
        for (let t = 0; t < inner; t++) {
          const base = o * n * inner + t;
          let m = -Infinity, arg = 0;
          for (let i = 0; i < n; i++) {
            const v = xd[base + i * inner];
            if (v > m) { m = v; arg = i; }
          }
          if (kind === 'hard') {
            // 1 at the first maximum (onnxruntime), 0 elsewhere
            for (let i = 0; i < n; i++) y[base + i * inner] = i === arg ? 1 : 0;
            continue;
          }
          let s = 0;
          for (let i = 0; i < n; i++) {
            const e = Math.exp(xd[base + i * inner] - m);
            if (kind === 'softmax') y[base + i * inner] = e;
            s += e;
          }
          if (kind === 'log') {
            const ls = Math.log(s);
            for (let i = 0; i < n; i++) y[base + i * inner] = xd[base + i * inner] - m - ls;
          } else {
            const inv = 1 / s;
            for (let i = 0; i < n; i++) y[base + i * inner] *= inv;
          }
        }
      }
    },
  };
}

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

export interface PoolSpec {
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; oh: number; ow: number;
}

/** One spatial axis: the output size and the pads (explicit, or from auto_pad SAME_*), with ceil_mode. */
function poolAxis(size: number, k: number, s: number, head: number, tail: number, autoPad: string, ceil: boolean): [number, number, number] {
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = Math.ceil(size / s), total = Math.max(0, (out - 1) * s + k - size);
    const h = autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
    return [out, h, total - h];
  }
  if (autoPad === 'VALID') head = tail = 0;
  const span = size + head + tail - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // ceil_mode: a window that would start in the right padding is dropped (ONNX since onnx/onnx#5741, as onnxruntime)
  if (ceil && (out - 1) * s >= size + head) out--;
  return [out, head, tail];
}

export function poolSpec(ctx: OpContext, x: { dims: readonly number[] }): PoolSpec {
  if (x.dims.length !== 4) fail(ctx, `expected a 4-D input [N, C, H, W], got [${x.dims}]`);
  const [, , h, w] = x.dims;
  const k = ints(ctx.node, 'kernel_shape');
  if (!k || k.length !== 2) fail(ctx, 'kernel_shape must have 2 values (2-D pooling)');
  const s = ints(ctx.node, 'strides', [1, 1])!;
  const p = ints(ctx.node, 'pads', [0, 0, 0, 0])!;
  if (s.length !== 2) fail(ctx, `strides must have 2 values, got [${s}]`);
  if (p.length !== 4) fail(ctx, `pads must have 4 values, got [${p}]`);
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) fail(ctx, `auto_pad ${autoPad} is not an ONNX value`);
  const ceil = attr(ctx.node, 'ceil_mode', 0) === 1;
  if ((ints(ctx.node, 'dilations', [1, 1]) ?? [1, 1]).some((d) => d !== 1)) fail(ctx, 'dilated pooling is not supported');
  const [oh, pt, pb] = poolAxis(h, k[0], s[0], p[0], p[2], autoPad, ceil);
  const [ow, pl, pr] = poolAxis(w, k[1], s[1], p[1], p[3], autoPad, ceil);
  if (oh < 1 || ow < 1) fail(ctx, `kernel [${k}] does not fit input [${h}, ${w}]`);
  return { kh: k[0], kw: k[1], sh: s[0], sw: s[1], pt, pl, pb, pr, oh, ow };
}

/**
 * At load: attribute values outside ONNX's domain (a 0 kernel gave -Inf/NaN, a 0 stride a bad
 * arena size), then values lowbit's pooling does not implement, rather than when a plan is made.
 */
function checkPool(ctx: OpContext): void {
  const bad = (name: string, v: readonly number[] | null, min: number, what: string) => {
    if (v && v.some((x) => !Number.isInteger(x) || x < min)) throw new ModelError(`${nodeLabel(ctx.node)}: attribute '${name}' is [${v}], ${what}`);
  };
  const k = ints(ctx.node, 'kernel_shape');
  if (!k) throw new ModelError(`${nodeLabel(ctx.node)}: attribute 'kernel_shape' is required`);
  bad('kernel_shape', k, 1, 'its entries must be >= 1');
  bad('strides', ints(ctx.node, 'strides'), 1, 'its entries must be >= 1');
  bad('dilations', ints(ctx.node, 'dilations'), 1, 'its entries must be >= 1');
  const pads = ints(ctx.node, 'pads');
  bad('pads', pads, 0, 'its entries must be >= 0');
  // a window wholly in the padding has no value to take (onnxruntime refuses these too)
  if (pads && pads.some((p, i) => p >= k[i % k.length])) throw new ModelError(`${nodeLabel(ctx.node)}: attribute 'pads' is [${pads}], each must be smaller than the kernel [${k}]`);
  const no = (what: string) => {
    throw new UnsupportedOperatorError(`${nodeLabel(ctx.node)}: ${what} is not supported`);
  };
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw new ModelError(`${nodeLabel(ctx.node)}: attribute 'auto_pad' is '${autoPad}', not an ONNX value`);
  const ceil = attr(ctx.node, 'ceil_mode', 0);
  if (ceil !== 0 && ceil !== 1) throw new ModelError(`${nodeLabel(ctx.node)}: attribute 'ceil_mode' is ${ceil}, must be 0 or 1`);
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
      const sp = poolSpec(ctx, x);
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

/** GlobalAveragePool and GlobalMaxPool: every spatial axis reduced to 1 (any rank from 3). */
function globalPoolDef(kind: 'avg' | 'max'): OpDef {
  return {
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
      // NaN wins a max; the max starts at float32's lowest finite value, as onnxruntime's (all -Infinity gives it)
      const add = kind === 'avg' ? (a: number, v: number) => a + v : (a: number, v: number) => (v > a || Number.isNaN(v) ? v : a);
      y.fill(kind === 'avg' ? 0 : -3.4028234663852886e38);
      for (let b = 0; b < n; b++) {
        if (x.nhwc) {
          for (let p = 0; p < hw; p++) for (let ch = 0; ch < c; ch++) y[b * c + ch] = add(y[b * c + ch], x.data[(b * hw + p) * c + ch]);
        } else {
          for (let ch = 0; ch < c; ch++) {
            let s = y[b * c + ch];
            for (let p = 0; p < hw; p++) s = add(s, x.data[(b * c + ch) * hw + p]);
            y[b * c + ch] = s;
          }
        }
        if (kind === 'avg') for (let ch = 0; ch < c; ch++) y[b * c + ch] /= hw;
      }
    },
  };
}

export const REDUCE_OPS: Record<string, OpDef> = {
  ReduceMean: reduceDef('mean'),
  ReduceSum: reduceDef('sum'),
  ReduceMax: reduceDef('max'),
  ReduceMin: reduceDef('min'),
  ReduceProd: reduceDef('prod'),
  ReduceL1: reduceDef('l1'),
  ReduceL2: reduceDef('l2'),
  ReduceSumSquare: reduceDef('sumSquare'),
  ReduceLogSum: reduceDef('logSum'),
  ReduceLogSumExp: reduceDef('logSumExp'),
  Softmax: softmaxDef('softmax'),
  LogSoftmax: softmaxDef('log'),
  Hardmax: softmaxDef('hard'),
  LayerNormalization: layerNormDef,
  AveragePool: poolDef('avg'),
  MaxPool: poolDef('max'),
  GlobalAveragePool: globalPoolDef('avg'),
  GlobalMaxPool: globalPoolDef('max'),
};
