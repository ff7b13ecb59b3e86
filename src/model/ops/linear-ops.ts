// MatMul, Gemm and Conv: shapes, and host implementations. With constant weights the planner
// turns them into layers (src/layers) that run the wasm kernels; the host code here runs
// MatMul between two activations (attention scores) and folds constant subgraphs. rt.ops runs
// MatMul and Gemm through run() (the float32 GEMM, src/model/ops/f32-matmul-run.ts).

import { broadcastDims } from './elementwise.js';
import { gemmF32, matMulF32 } from './f32-matmul-run.js';
import { logicalStrides } from './layout.js';
import { planMatMul } from './matmul-shape.js';
import { describe, ValueRangeError } from '../../errors.js';
import { attr, fail, ints, need, opLabel, type OpContext, type OpDef, type ValueInfo } from './types.js';

const matmulDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const a = need(ctx, ins, 0, 'A'), b = need(ctx, ins, 1, 'B');
    return [{ type: a.type, dims: planMatMul(a.dims, b.dims, 'A', 'B', opLabel(ctx)).outDims }];
  },
  compute: (ctx, ins, outs) => {
    const a = ins[0]!, b = ins[1]!;
    const p = planMatMul(a.dims, b.dims, 'A', 'B', opLabel(ctx));
    for (let t = 0; t < p.batch; t++) matmulBlock(a.data, p.aOffsets[t], b.data, p.bOffsets[t], outs[0].data, t * p.m * p.n, p.m, p.k, p.n);
  },
  run: async (rt, ctx, ins) => {
    const a = ins[0]!, b = ins[1]!;
    return [await matMulF32(rt, planMatMul(a.dims, b.dims, 'A', 'B', opLabel(ctx)), a.data as Float32Array, b.data as Float32Array)];
  },
};

/** C[m x n] = A[m x k] B[k x n], float64 accumulation (small dynamic products; not the hot path). */
export function matmulBlock(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, c: { [i: number]: number }, co: number, m: number, k: number, n: number): void {
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let t = 0; t < k; t++) {
      const av = a[ao + i * k + t];
      if (av === 0) continue;
      const bb = bo + t * n;
      for (let j = 0; j < n; j++) row[j] += av * b[bb + j];
    }
    for (let j = 0; j < n; j++) c[co + i * n + j] = row[j];
  }
}

const gemmDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const a = need(ctx, ins, 0, 'A'), b = need(ctx, ins, 1, 'B');
    if (a.dims.length !== 2 || b.dims.length !== 2) fail(ctx, `A and B must be 2-D, got [${a.dims}] and [${b.dims}]`);
    const ta = attr(ctx.node, 'transA', 0), tb = attr(ctx.node, 'transB', 0);
    const [m, k] = ta ? [a.dims[1], a.dims[0]] : a.dims;
    const [k2, n] = tb ? [b.dims[1], b.dims[0]] : b.dims;
    if (k !== k2) fail(ctx, `inner dims differ: A [${a.dims}]${ta ? 'ᵀ' : ''} x B [${b.dims}]${tb ? 'ᵀ' : ''}`);
    const c = ins[2];
    if (c && !broadcastDims(c.dims, [m, n])?.every((d, i) => d === [m, n][i])) fail(ctx, `C [${c.dims}] does not broadcast to [${m}, ${n}]`);
    return [{ type: 'float32', dims: [m, n] }];
  },
  compute: (ctx, ins, outs) => {
    const a = ins[0]!, b = ins[1]!, c = ins[2];
    const ta = attr(ctx.node, 'transA', 0), tb = attr(ctx.node, 'transB', 0);
    const alpha = attr(ctx.node, 'alpha', 1), beta = attr(ctx.node, 'beta', 1);
    const [m, n] = outs[0].dims;
    const k = ta ? a.dims[0] : a.dims[1];
    const y = outs[0].data;
    const cs = c ? c.dims.length === 2 ? [c.dims[0] === 1 ? 0 : c.dims[1] === 1 ? 1 : n, c.dims[1] === 1 ? 0 : 1] : c.dims.length === 1 ? [0, c.dims[0] === 1 ? 0 : 1] : [0, 0] : [0, 0];
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a.data[ta ? t * m + i : i * k + t] * b.data[tb ? j * k + t : t * n + j];
      y[i * n + j] = alpha * s + (c ? beta * c.data[i * cs[0] + j * cs[1]] : 0);
    }
  },
  run: async (rt, ctx, ins, outs) => {
    const a = ins[0]!, b = ins[1]!, c = ins[2];
    const transA = attr(ctx.node, 'transA', 0) !== 0, transB = attr(ctx.node, 'transB', 0) !== 0;
    const [m, n] = outs[0].dims;
    const g = { m, n, k: transA ? a.dims[0] : a.dims[1], transA, transB, alpha: attr(ctx.node, 'alpha', 1), beta: attr(ctx.node, 'beta', 1) };
    return [await gemmF32(rt, g, a.data as Float32Array, b.data as Float32Array, c)];
  },
};

export interface ConvSpec {
  n: number; cin: number; h: number; w: number; cout: number; group: number;
  kh: number; kw: number; sh: number; sw: number; dh: number; dw: number;
  pt: number; pl: number; pb: number; pr: number; oh: number; ow: number;
}

/**
 * Conv's attributes, checked when the model loads (as onnxruntime's checker does): strides,
 * dilations and kernel_shape >= 1, pads >= 0, group >= 1, a known auto_pad. Their lengths against
 * the input's rank are convSpec's.
 */
function checkConvAttributes(ctx: OpContext): void {
  const node = ctx.node;
  for (const [name, least] of [['strides', 1], ['dilations', 1], ['kernel_shape', 1], ['pads', 0]] as const) {
    const v = node.attrs.get(name);
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((e) => Number.isInteger(e) && e >= least)) fail(ctx, `attribute ${name} is ${describe(v)}; expected integers >= ${least}`, ValueRangeError);
  }
  const group = node.attrs.get('group');
  if (group !== undefined && !(Number.isInteger(group) && (group as number) >= 1)) fail(ctx, `attribute group is ${describe(group)}; expected an integer >= 1`, ValueRangeError);
  const autoPad = attr(node, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) fail(ctx, `attribute auto_pad is '${autoPad}'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID`, ValueRangeError);
}

export function convSpec(ctx: OpContext, x: ValueInfo, wt: ValueInfo): ConvSpec {
  checkConvAttributes(ctx);
  if (x.dims.length !== 4) fail(ctx, `only 2-D convolution is supported: X must be [N, C, H, W], got [${x.dims}]`);
  if (wt.dims.length !== 4) fail(ctx, `W must be [M, C/group, kH, kW], got [${wt.dims}]`);
  const [n, cin, h, w] = x.dims;
  const [cout, cpg, kh, kw] = wt.dims;
  if (cout < 1 || kh < 1 || kw < 1) fail(ctx, `W [${wt.dims.join(', ')}] has an empty output channel or kernel dimension`);
  const group = attr(ctx.node, 'group', 1);
  if (cin % group !== 0 || cout % group !== 0 || cin / group !== cpg) fail(ctx, `attribute group ${group} does not fit X channels ${cin} and W [${wt.dims.join(', ')}] (W must be [M, C/group, kH, kW] with M divisible by group)`);
  const k = ints(ctx.node, 'kernel_shape');
  if (k && (k.length !== 2 || k[0] !== kh || k[1] !== kw)) fail(ctx, `attribute kernel_shape [${k.join(', ')}] differs from W's [${kh}, ${kw}]`);
  const s = ints(ctx.node, 'strides', [1, 1])!, d = ints(ctx.node, 'dilations', [1, 1])!;
  let p = ints(ctx.node, 'pads', [0, 0, 0, 0])!;
  if (s.length !== 2) fail(ctx, `attribute strides [${s.join(', ')}] needs 2 values for a 2-D convolution`);
  if (d.length !== 2) fail(ctx, `attribute dilations [${d.join(', ')}] needs 2 values for a 2-D convolution`);
  if (p.length !== 4) fail(ctx, `attribute pads [${p.join(', ')}] needs 4 values for a 2-D convolution`);
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const pad = (size: number, st: number, kk: number, dd: number) => Math.max(0, (Math.ceil(size / st) - 1) * st + (kk - 1) * dd + 1 - size);
    const ph = pad(h, s[0], kh, d[0]), pw = pad(w, s[1], kw, d[1]);
    const lo = (t: number) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2));
    p = [lo(ph), lo(pw), ph - lo(ph), pw - lo(pw)];
  } else if (autoPad !== 'NOTSET' && autoPad !== 'VALID') fail(ctx, `auto_pad ${autoPad} is not supported`);
  const oh = Math.floor((h + p[0] + p[2] - (kh - 1) * d[0] - 1) / s[0]) + 1;
  const ow = Math.floor((w + p[1] + p[3] - (kw - 1) * d[1] - 1) / s[1]) + 1;
  if (oh < 1 || ow < 1) fail(ctx, `kernel [${kh}, ${kw}] does not fit input [${h}, ${w}] with pads [${p}]`);
  return { n, cin, h, w, cout, group, kh, kw, sh: s[0], sw: s[1], dh: d[0], dw: d[1], pt: p[0], pl: p[1], pb: p[2], pr: p[3], oh, ow };
}

const convDef: OpDef = {
  layout: 'aware',
  check: checkConvAttributes,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X'), wt = need(ctx, ins, 1, 'W');
    const sp = convSpec(ctx, x, wt);
    const b = ins[2];
    if (b && (b.dims.length !== 1 || b.dims[0] !== sp.cout)) fail(ctx, `B must be [${sp.cout}], got [${b.dims}]`);
    return [{ type: 'float32', dims: [sp.n, sp.cout, sp.oh, sp.ow] }];
  },
  outNhwc: () => true,
  compute: (ctx, ins, outs) => {
    // direct convolution, float64 accumulation: folding and reference use only
    const x = ins[0]!, wt = ins[1]!, b = ins[2];
    const sp = convSpec(ctx, { type: x.type, dims: [...x.dims] }, { type: wt.type, dims: [...wt.dims] });
    const xs = logicalStrides(x.dims, x.nhwc), y = outs[0], ys = logicalStrides(y.dims, y.nhwc);
    const cpg = sp.cin / sp.group, opg = sp.cout / sp.group;
    for (let nb = 0; nb < sp.n; nb++) for (let co = 0; co < sp.cout; co++) {
      const g = Math.floor(co / opg);
      for (let i = 0; i < sp.oh; i++) for (let j = 0; j < sp.ow; j++) {
        let s = b ? b.data[co] : 0;
        for (let ci = 0; ci < cpg; ci++) for (let u = 0; u < sp.kh; u++) {
          const hh = i * sp.sh - sp.pt + u * sp.dh;
          if (hh < 0 || hh >= sp.h) continue;
          for (let v = 0; v < sp.kw; v++) {
            const ww = j * sp.sw - sp.pl + v * sp.dw;
            if (ww < 0 || ww >= sp.w) continue;
            s += x.data[nb * xs[0] + (g * cpg + ci) * xs[1] + hh * xs[2] + ww * xs[3]] * wt.data[((co * cpg + ci) * sp.kh + u) * sp.kw + v];
          }
        }
        y.data[nb * ys[0] + co * ys[1] + i * ys[2] + j * ys[3]] = s;
      }
    }
  },
};

export const LINEAR_OPS: Record<string, OpDef> = { MatMul: matmulDef, Gemm: gemmDef, Conv: convDef };
