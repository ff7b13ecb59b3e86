// ConvTranspose (opsets 1–22; 1-, 2- and 3-D): shapes, and a host implementation that scatters
// each input pixel times the kernel into the output (float64 accumulation). With constant weights
// on a 2-D channels-last input the planner runs it as a layer instead (a float32 GEMM, then
// col2im: src/model/conv-transpose-layer.ts).

import { elementCount } from '../graph.js';
import { attr, fail, ints, need, type OpContext, type OpDef, type ValueInfo } from './types.js';

export interface ConvTransposeSpec {
  n: number; cin: number; cout: number; group: number;
  /** per spatial axis: input size, kernel, stride, dilation, pad at the start and end, output size */
  in: number[]; k: number[]; s: number[]; d: number[]; pb: number[]; pe: number[]; out: number[];
}

export function convTransposeSpec(ctx: OpContext, x: ValueInfo, wt: ValueInfo): ConvTransposeSpec {
  const r = x.dims.length - 2;
  if (r < 1 || r > 3) fail(ctx, `X must be [N, C, D1 … Dn] with 1 to 3 spatial axes, got [${x.dims}]`);
  if (wt.dims.length !== r + 2) fail(ctx, `W must be [C, M/group, k1 … k${r}] (rank ${r + 2}), got [${wt.dims}]`);
  const [n, cin] = x.dims;
  const group = attr(ctx.node, 'group', 1);
  if (!Number.isInteger(group) || group < 1 || cin % group !== 0) fail(ctx, `group ${group} does not divide X's ${cin} channels`);
  if (wt.dims[0] !== cin) fail(ctx, `W [${wt.dims}] has ${wt.dims[0]} input channels, X has ${cin}`);
  const cout = wt.dims[1] * group;
  const k = wt.dims.slice(2);
  const list = (name: string, fallback: number): number[] => {
    const v = ints(ctx.node, name, new Array(r).fill(fallback))!;
    if (v.length !== r) fail(ctx, `${name} [${v}] needs ${r} values`);
    return v;
  };
  const ks = ints(ctx.node, 'kernel_shape');
  if (ks && (ks.length !== r || ks.some((v, i) => v !== k[i]))) fail(ctx, `kernel_shape [${ks}] differs from W's [${k}]`);
  const s = list('strides', 1), d = list('dilations', 1), op = list('output_padding', 0);
  if (s.some((v) => v < 1) || d.some((v) => v < 1)) fail(ctx, `strides [${s}] and dilations [${d}] must be positive`);
  op.forEach((v, i) => {
    if (v < 0 || (v >= s[i] && v >= d[i])) fail(ctx, `output_padding [${op}] must be less than the stride or the dilation on each axis`);
  });
  const pads = ints(ctx.node, 'pads', new Array(2 * r).fill(0))!;
  if (pads.length !== 2 * r || pads.some((v) => v < 0)) fail(ctx, `pads [${pads}] needs ${2 * r} non-negative values`);
  const autoPad = attr(ctx.node, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) fail(ctx, `auto_pad ${autoPad} is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const shape = ints(ctx.node, 'output_shape');
  if (shape && shape.length !== r) fail(ctx, `output_shape [${shape}] needs ${r} values (the spatial dims)`);

  const inSz = x.dims.slice(2);
  const full = inSz.map((h, i) => s[i] * (h - 1) + op[i] + (k[i] - 1) * d[i] + 1);
  const pb = pads.slice(0, r), pe = pads.slice(r);
  // output_shape or SAME_*: the total padding follows from the output size; SAME_UPPER puts the
  // odd pixel at the end, as the spec says (a target of input x stride for SAME_*)
  const target = shape ?? (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? inSz.map((h, i) => h * s[i]) : null);
  if (target) {
    target.forEach((o, i) => {
      if (!Number.isSafeInteger(o) || o < 0) fail(ctx, `output_shape [${target}] must be non-negative integers`);
      // SAME_* never pads negatively (the output is then what the convolution gives, as in
      // onnxruntime); a larger output_shape is extended at the end (bias only there)
      const total = shape ? full[i] - o : Math.max(0, full[i] - o);
      const small = Math.floor(total / 2);
      [pb[i], pe[i]] = total < 0 ? [0, total] : autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
    });
  } else if (autoPad === 'VALID') pb.fill(0), pe.fill(0);
  const out = full.map((v, i) => v - pb[i] - pe[i]);
  if (out.some((v) => v < 0)) fail(ctx, `pads [${pb}, ${pe}] are larger than the output [${full}]`);
  return { n, cin, cout, group, in: inSz, k, s, d, pb, pe, out };
}

const convTransposeDef: OpDef = {
  layout: 'nchw',
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X'), wt = need(ctx, ins, 1, 'W');
    if (x.type !== 'float32' || wt.type !== 'float32') fail(ctx, `X and W must be float32, got ${x.type} and ${wt.type}`);
    const sp = convTransposeSpec(ctx, x, wt);
    const b = ins[2];
    if (b && (b.dims.length !== 1 || b.dims[0] !== sp.cout)) fail(ctx, `B must be [${sp.cout}], got [${b.dims}]`);
    return [{ type: 'float32', dims: [sp.n, sp.cout, ...sp.out] }];
  },
  compute: (ctx, ins, outs) => {
    const x = ins[0]!, wt = ins[1]!, b = ins[2];
    const sp = convTransposeSpec(ctx, { type: x.type, dims: [...x.dims] }, { type: wt.type, dims: [...wt.dims] });
    const inPix = elementCount(sp.in), outPix = elementCount(sp.out), taps = elementCount(sp.k);
    // every (input pixel, kernel tap) pair that lands inside the output, as flat indices
    const pairs: number[] = [];
    const r = sp.in.length;
    const pos = new Array<number>(r), tap = new Array<number>(r);
    for (let p = 0; p < inPix; p++) {
      for (let a = r - 1, q = p; a >= 0; a--) pos[a] = q % sp.in[a], (q = Math.floor(q / sp.in[a]));
      for (let t = 0; t < taps; t++) {
        for (let a = r - 1, q = t; a >= 0; a--) tap[a] = q % sp.k[a], (q = Math.floor(q / sp.k[a]));
        let o = 0, inside = true;
        for (let a = 0; a < r; a++) {
          const c = pos[a] * sp.s[a] - sp.pb[a] + tap[a] * sp.d[a];
          if (c < 0 || c >= sp.out[a]) inside = false;
          o = o * sp.out[a] + c;
        }
        if (inside) pairs.push(p, t, o);
      }
    }
    const cpg = sp.cin / sp.group, opg = sp.cout / sp.group;
    const acc = new Float64Array(outPix);
    const y = outs[0].data;
    for (let nb = 0; nb < sp.n; nb++) for (let co = 0; co < sp.cout; co++) {
      acc.fill(b ? b.data[co] : 0);
      const g = Math.floor(co / opg), m = co % opg;
      for (let ci = g * cpg; ci < (g + 1) * cpg; ci++) {
        const xo = (nb * sp.cin + ci) * inPix, wo = (ci * opg + m) * taps;
        for (let i = 0; i < pairs.length; i += 3) acc[pairs[i + 2]] += x.data[xo + pairs[i]] * wt.data[wo + pairs[i + 1]];
      }
      y.set(acc, (nb * sp.cout + co) * outPix);
    }
  },
};

export const CONV_TRANSPOSE_OPS: Record<string, OpDef> = { ConvTranspose: convTransposeDef };
