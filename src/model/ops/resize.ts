// Resize (opsets 10–19): nearest, N-linear and cubic interpolation over any axes, every
// coordinate_transformation_mode, scales or sizes (with axes and keep_aspect_ratio_policy from 18).
// Coordinates are computed in float32 the way onnxruntime does, so nearest-neighbour ties fall the
// same way. Resizing H and W of [N, C, H, W] (the common case: FPN and segmentation upsampling) is
// one pass in either layout, a channels-last nearest resize copying whole pixels; anything else is
// separable, one pass per resized axis (float64 in between).

import { DTypeError, ShapeError, UnsupportedOperatorError } from '../../errors.js';
import { elementCount } from '../graph.js';
import { logicalStrides, stridedCopy } from './layout.js';
import { attr, constInts, fail, ints, need, normAxis, opLabel, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

const f = Math.fround;

const MODES = ['nearest', 'linear', 'cubic'];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const POLICIES = ['stretch', 'not_larger', 'not_smaller'];

function transforms(opset: number): string[] {
  const t = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize'];
  if (opset < 13) t.push('tf_half_pixel_for_nn');
  if (opset >= 19) t.push('half_pixel_symmetric');
  return t;
}

interface Attrs {
  mode: string;
  transform: string;
  nearest: string;
  a: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
}

function readAttrs(ctx: OpContext): Attrs {
  const n = ctx.node;
  const opset10 = ctx.opset < 11;
  return {
    mode: attr(n, 'mode', 'nearest'),
    // opset 10 has no attribute: its coordinates are asymmetric
    transform: opset10 ? 'asymmetric' : attr(n, 'coordinate_transformation_mode', 'half_pixel'),
    nearest: opset10 ? 'simple' : attr(n, 'nearest_mode', 'round_prefer_floor'),
    a: attr(n, 'cubic_coeff_a', -0.75),
    excludeOutside: attr(n, 'exclude_outside', 0) !== 0,
    extrapolation: attr(n, 'extrapolation_value', 0),
    antialias: ctx.opset >= 18 && attr(n, 'antialias', 0) !== 0,
  };
}

function check(ctx: OpContext): void {
  const n = ctx.node;
  const bad = (what: string, v: unknown, allowed: string[]) => fail(ctx, `${what} '${v}' is not one of ${allowed.join(', ')}`, UnsupportedOperatorError);
  const at = readAttrs(ctx);
  if (!MODES.includes(at.mode)) bad('mode', at.mode, MODES);
  if (ctx.opset >= 11) {
    if (!transforms(ctx.opset).includes(at.transform)) bad('coordinate_transformation_mode', at.transform, transforms(ctx.opset));
    if (!NEAREST_MODES.includes(at.nearest)) bad('nearest_mode', at.nearest, NEAREST_MODES);
  } else if (at.mode === 'cubic') bad('mode (opset 10)', at.mode, ['nearest', 'linear']);
  if (ctx.opset >= 18) {
    const aa = attr(n, 'antialias', 0);
    if (aa !== 0 && aa !== 1) fail(ctx, `antialias ${aa} must be 0 or 1`, UnsupportedOperatorError);
    const p = attr(n, 'keep_aspect_ratio_policy', 'stretch');
    if (!POLICIES.includes(p)) bad('keep_aspect_ratio_policy', p, POLICIES);
  }
}

/** A given optional input: present and not empty. */
const given = (v: ValueInfo | null | undefined): v is ValueInfo => !!v && elementCount(v.dims) > 0;

export interface ResizePlan {
  outDims: number[];
  /** per axis: the float32 scale the coordinates use */
  scales: number[];
  /** per axis: roi start and end (tf_crop_and_resize) */
  roi: [number, number][];
}

export function resizePlan(ctx: OpContext, ins: (ValueInfo | null)[]): ResizePlan {
  const x = need(ctx, ins, 0, 'X');
  const r = x.dims.length;
  const opset10 = ctx.opset < 11;
  const [roiIn, scalesIn, sizesIn] = opset10 ? [null, ins[1], null] : [ins[1], ins[2], ins[3]];
  if (opset10 && !given(scalesIn)) fail(ctx, 'input 1 (scales) is required');
  if (given(scalesIn) === given(sizesIn)) fail(ctx, 'exactly one of scales and sizes must be given');
  const axesAttr = ctx.opset >= 18 ? ints(ctx.node, 'axes') : null;
  const axes = axesAttr ? axesAttr.map((a) => normAxis(ctx, a, r)) : Array.from({ length: r }, (_, i) => i);
  if (new Set(axes).size !== axes.length) fail(ctx, `axes [${axesAttr}] repeat an axis`);

  const scales = new Array<number>(r).fill(1);
  const outDims = [...x.dims];
  if (given(scalesIn)) {
    const s = constInts(ctx, ins, opset10 ? 1 : 2, 'scales')!;
    if (s.length !== axes.length) fail(ctx, `scales has ${s.length} values, expected ${axes.length} (one per ${axesAttr ? 'listed axis' : 'axis of X'})`);
    axes.forEach((a, i) => {
      if (!(s[i] > 0) || !Number.isFinite(s[i])) fail(ctx, `scales[${i}] = ${s[i]}, expected a positive number`);
      scales[a] = f(s[i]);
      outDims[a] = Math.floor(f(scales[a] * x.dims[a]));
      // a scale near float32's max makes the size overflow to Infinity (the fuzzer's corpus has one)
      if (!Number.isSafeInteger(outDims[a])) fail(ctx, `scales[${i}] = ${s[i]} makes axis ${a} of size ${x.dims[a]} ${outDims[a]} long`);
    });
  } else {
    const s = constInts(ctx, ins, 3, 'sizes')!;
    if (s.length !== axes.length) fail(ctx, `sizes has ${s.length} values, expected ${axes.length} (one per ${axesAttr ? 'listed axis' : 'axis of X'})`);
    s.forEach((v, i) => {
      if (!Number.isSafeInteger(v) || v < 0) fail(ctx, `sizes[${i}] = ${v}, expected a non-negative integer`);
      if (v > 0 && x.dims[axes[i]] === 0) fail(ctx, `sizes[${i}] = ${v} cannot be interpolated from an empty axis ${axes[i]}`);
    });
    const policy = ctx.opset >= 18 ? attr(ctx.node, 'keep_aspect_ratio_policy', 'stretch') : 'stretch';
    if (policy === 'stretch') {
      axes.forEach((a, i) => {
        scales[a] = f(s[i] / x.dims[a]);
        outDims[a] = s[i];
      });
    } else {
      const ratios = axes.map((a, i) => f(s[i] / x.dims[a]));
      const one = policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const a of axes) {
        scales[a] = one;
        outDims[a] = Math.round(f(one * x.dims[a]));
      }
    }
  }

  const roi: [number, number][] = Array.from({ length: r }, () => [0, 1]);
  if (!opset10 && attr(ctx.node, 'coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') {
    if (!given(roiIn)) fail(ctx, 'input 1 (roi) is required by tf_crop_and_resize');
    const v = constInts(ctx, ins, 1, 'roi')!;
    if (v.length !== 2 * axes.length) fail(ctx, `roi has ${v.length} values, expected ${2 * axes.length} (starts then ends)`);
    axes.forEach((a, i) => (roi[a] = [f(v[i]), f(v[i + axes.length])]));
  }
  return { outDims, scales, roi };
}

/** Where output coordinate o lies in the input, in float32 as onnxruntime computes it. */
function original(transform: string, o: number, s: number, lenOut: number, lenIn: number, roi: [number, number]): number {
  switch (transform) {
    case 'half_pixel':
      return f(f(f(o + 0.5) / s) - 0.5);
    case 'half_pixel_symmetric': {
      const adjustment = f(lenOut / f(s * lenIn));
      const offset = f(f(lenIn / 2) * f(1 - adjustment));
      return f(f(offset + f(f(o + 0.5) / s)) - 0.5);
    }
    case 'pytorch_half_pixel':
      return lenOut > 1 ? f(f(f(o + 0.5) / s) - 0.5) : 0;
    case 'align_corners':
      return lenOut === 1 ? 0 : f(f(o * (lenIn - 1)) / (lenOut - 1));
    case 'tf_half_pixel_for_nn':
      return f(f(o + 0.5) / s);
    case 'tf_crop_and_resize': {
      const [a, b] = roi;
      return lenOut > 1 ? f(f(a * (lenIn - 1)) + f(f(f(o * f(b - a)) * (lenIn - 1)) / (lenOut - 1))) : f(0.5 * f(a + b) * (lenIn - 1));
    }
    default: // asymmetric
      return f(o / s);
  }
}

function nearestIndex(mode: string, x: number, downsampling: boolean): number {
  switch (mode) {
    case 'round_prefer_floor':
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.round(x);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    default: // opset 10 (onnxruntime's rule)
      return downsampling ? Math.ceil(x) : Math.trunc(x);
  }
}

function cubicCoeffs(t: number, a: number): number[] {
  const u = 1 - t;
  return [
    ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
    ((a + 2) * t - (a + 3)) * t * t + 1,
    ((a + 2) * u - (a + 3)) * u * u + 1,
    ((a * (u + 1) - 5 * a) * (u + 1) + 8 * a) * (u + 1) - 4 * a,
  ];
}

/** One axis's interpolation: for each output coordinate, `taps` input indices and weights. */
interface AxisTable {
  taps: number;
  idx: Int32Array;
  w: Float64Array;
  /** output coordinates outside the input (tf_crop_and_resize extrapolates there) */
  outside: Uint8Array | null;
  identity: boolean;
}

/** The interpolation filter at distance x, antialiasing (a triangle for linear, Keys' cubic) */
function filter(mode: string, a: number, x: number): number {
  x = Math.abs(x);
  if (mode === 'linear') return x < 1 ? 1 - x : 0;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  return x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0;
}

/**
 * Antialiased linear/cubic (opset 18): when downsampling by s the filter is stretched by 1/s, so
 * each output averages every input it covers; weights are normalised to sum to 1 (taps outside the
 * input fall on the edge pixel, or are dropped with exclude_outside), as onnxruntime does.
 */
function antialiasTable(at: Attrs, s: number, lenOut: number, lenIn: number, roi: [number, number]): AxisTable {
  const base = at.mode === 'linear' ? 1 : 2;
  const support = s < 1 ? f(base / s) : base, inv = s < 1 ? s : 1;
  const taps = Math.ceil(support) * 2 + 1;
  const idx = new Int32Array(lenOut * taps), w = new Float64Array(lenOut * taps);
  const outside = at.transform === 'tf_crop_and_resize' ? new Uint8Array(lenOut) : null;
  for (let o = 0; o < lenOut; o++) {
    const x = original(at.transform, o, s, lenOut, lenIn, roi);
    if (outside && (x < 0 || x > lenIn - 1)) outside[o] = 1;
    const center = f(x + 0.5);
    let lo = Math.floor(f(f(center - support) + 0.5)), hi = Math.floor(f(f(center + support) + 0.5));
    if (at.excludeOutside) [lo, hi] = [Math.max(lo, 0), Math.min(hi, lenIn)];
    let total = 0;
    for (let i = lo, k = o * taps; i < hi; i++, k++) {
      idx[k] = Math.min(lenIn - 1, Math.max(0, i));
      w[k] = filter(at.mode, at.a, (i - center + 0.5) * inv);
      total += w[k];
    }
    // unused taps (weight 0) point at a pixel of the window, so an infinity there stays one
    for (let k = o * taps + Math.max(0, hi - lo); k < (o + 1) * taps; k++) idx[k] = idx[o * taps];
    if (total !== 0) for (let k = o * taps; k < (o + 1) * taps; k++) w[k] /= total;
  }
  return { taps, idx, w, outside, identity: false };
}

function axisTable(at: Attrs, s: number, lenOut: number, lenIn: number, roi: [number, number]): AxisTable {
  if (at.antialias && at.mode !== 'nearest') return antialiasTable(at, s, lenOut, lenIn, roi);
  const taps = at.mode === 'nearest' ? 1 : at.mode === 'linear' ? 2 : 4;
  const idx = new Int32Array(lenOut * taps), w = new Float64Array(lenOut * taps);
  const extrapolate = at.transform === 'tf_crop_and_resize';
  const outside = extrapolate ? new Uint8Array(lenOut) : null;
  const clamp = (i: number) => Math.min(lenIn - 1, Math.max(0, i));
  for (let o = 0; o < lenOut; o++) {
    const x = original(at.transform, o, s, lenOut, lenIn, roi);
    if (outside && (x < 0 || x > lenIn - 1)) outside[o] = 1;
    const k = o * taps;
    if (at.mode === 'nearest') {
      idx[k] = clamp(nearestIndex(at.nearest, x, s < 1));
      w[k] = 1;
    } else if (at.mode === 'linear') {
      const xc = Math.min(lenIn - 1, Math.max(0, x));
      const i0 = Math.min(Math.trunc(xc), lenIn - 1), i1 = Math.min(i0 + 1, lenIn - 1);
      // at the last index both taps are the same pixel: weight it once
      const t = i0 === i1 ? 0 : xc - i0;
      idx[k] = i0;
      idx[k + 1] = i1;
      w[k] = 1 - t;
      w[k + 1] = t;
    } else {
      const x0 = Math.floor(x);
      const c = cubicCoeffs(x - x0, at.a);
      let sum = 0;
      for (let j = 0; j < 4; j++) {
        const i = x0 - 1 + j;
        if (at.excludeOutside && (i < 0 || i >= lenIn)) c[j] = 0;
        sum += c[j];
      }
      for (let j = 0; j < 4; j++) {
        idx[k + j] = clamp(x0 - 1 + j);
        w[k + j] = at.excludeOutside ? c[j] / sum : c[j];
      }
    }
  }
  let identity = lenOut === lenIn && !outside?.some((v) => v);
  for (let o = 0; identity && o < lenOut; o++) {
    for (let j = 0; j < taps; j++) if (w[o * taps + j] !== 0 && (idx[o * taps + j] !== o || w[o * taps + j] !== 1)) identity = false;
  }
  return { taps, idx, w, outside, identity };
}

type Store = { [i: number]: number };

/** Visits every index of `dims` except `skip` (-1: none), calling fn with the two offsets. */
function forEachRow(dims: readonly number[], skip: number, sa: readonly number[], sb: readonly number[], fn: (a: number, b: number) => void): void {
  const axes = dims.map((_, i) => i).filter((i) => i !== skip);
  const total = axes.reduce((p, a) => p * dims[a], 1);
  const at = new Array<number>(axes.length).fill(0);
  for (let t = 0; t < total; t++) {
    let a = 0, b = 0;
    for (let j = 0; j < axes.length; j++) {
      a += at[j] * sa[axes[j]];
      b += at[j] * sb[axes[j]];
    }
    fn(a, b);
    for (let j = axes.length - 1; j >= 0; j--) {
      if (++at[j] < dims[axes[j]]) break;
      at[j] = 0;
    }
  }
}

/** One separable pass: resample `axis` of src (dims, strides) into dst (strides). */
function resamplePass(src: ArrayLike<number>, srcStrides: number[], dims: number[], axis: number, t: AxisTable, dst: Store, dstStrides: number[], nearest: boolean): void {
  const lenOut = t.idx.length / t.taps;
  const ss = srcStrides[axis], ds = dstStrides[axis], taps = t.taps, idx = t.idx, w = t.w;
  forEachRow(dims, axis, srcStrides, dstStrides, (so, dof) => {
    for (let o = 0; o < lenOut; o++) {
      if (nearest) {
        dst[dof + o * ds] = src[so + idx[o] * ss];
        continue;
      }
      let s = 0;
      for (let j = 0; j < taps; j++) s += w[o * taps + j] * src[so + idx[o * taps + j] * ss];
      dst[dof + o * ds] = s;
    }
  });
}

/**
 * [N, C, H, W] resized on H and W only (N and C identity), either layout. Nearest copies (whole
 * pixels when channels-last); linear and cubic sum their taps separably, rows then pixels.
 */
function resize2d(x: HostValue, y: HostValue, th: AxisTable, tw: AxisTable, nearest: boolean, bilinear: boolean): void {
  if (nearest) nearest2d(x, y, th, tw);
  else if (bilinear) bilinear2d(x, y, th, tw);
  else if (x.nhwc && y.nhwc) taps2dNhwc(x.data as Float32Array, y.data as Float32Array, x.dims, y.dims, th, tw);
  else taps2d(x, y, th, tw);
}

function nearest2d(x: HostValue, y: HostValue, th: AxisTable, tw: AxisTable): void {
  const [n, c, h, w] = x.dims;
  const [, , oh, ow] = y.dims;
  const src = x.data, dst = y.data;
  if (x.nhwc && y.nhwc) {
    const row = ow * c;
    for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) {
      const out = (b * oh + i) * row;
      if (i > 0 && th.idx[i] === th.idx[i - 1]) {
        dst.copyWithin(out, out - row, out);
        continue;
      }
      const inRow = (b * h + th.idx[i]) * w * c;
      for (let j = 0; j < ow; j++) dst.set(src.subarray(inRow + tw.idx[j] * c, inRow + tw.idx[j] * c + c), out + j * c);
    }
    return;
  }
  const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < oh; i++) {
    const xr = b * xs[0] + ch * xs[1] + th.idx[i] * xs[2], yr = b * ys[0] + ch * ys[1] + i * ys[2];
    for (let j = 0; j < ow; j++) dst[yr + j * ys[3]] = src[xr + tw.idx[j] * xs[3]];
  }
}

/**
 * Channels-last, separably: for each output row, the weighted sum of its input rows (whole rows of
 * C-vectors), then for each output pixel the weighted sum of that row's pixels.
 */
function taps2dNhwc(src: Float32Array, dst: Float32Array, xd: readonly number[], yd: readonly number[], th: AxisTable, tw: AxisTable): void {
  const [n, c, h, w] = xd;
  const [, , oh, ow] = yd;
  const nt = th.taps, mt = tw.taps, rowLen = w * c;
  const tmp = new Float64Array(rowLen);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) {
    tmp.fill(0);
    for (let a = 0; a < nt; a++) {
      const wy = th.w[i * nt + a];
      if (wy === 0) continue;
      const from = (b * h + th.idx[i * nt + a]) * rowLen;
      for (let q = 0; q < rowLen; q++) tmp[q] += wy * src[from + q];
    }
    const out = (b * oh + i) * ow * c;
    for (let j = 0; j < ow; j++) {
      const o = out + j * c;
      const f0 = tw.idx[j * mt] * c, w0 = tw.w[j * mt];
      for (let ch = 0; ch < c; ch++) dst[o + ch] = w0 * tmp[f0 + ch];
      for (let e = 1; e < mt; e++) {
        const f = tw.idx[j * mt + e] * c, wx = tw.w[j * mt + e];
        if (wx === 0) continue;
        for (let ch = 0; ch < c; ch++) dst[o + ch] += wx * tmp[f + ch];
      }
    }
  }
}

/**
 * Bilinear (linear, no antialias) in float32, in onnxruntime's order: the four corner weights
 * (x weight times y weight), then ((w11 x11 + w21 x21) + w12 x12) + w22 x22, each step rounded. The
 * bits then equal onnxruntime's, which matters to what follows: a DynamicQuantizeLinear after an
 * upsample (ISNet's decoder) rounds a value one ulp off to another integer now and then.
 */
function bilinear2d(x: HostValue, y: HostValue, th: AxisTable, tw: AxisTable): void {
  const [n, c] = x.dims;
  const [, , oh, ow] = y.dims;
  const src = x.data, dst = y.data;
  const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
  for (let i = 0; i < oh; i++) {
    const r1 = th.idx[2 * i] * xs[2], r2 = th.idx[2 * i + 1] * xs[2];
    // both taps one pixel (the last row): onnxruntime weighs each 0.5, and the rounding can differ from 1 and 0
    const edgeY = th.idx[2 * i] === th.idx[2 * i + 1];
    const dy2 = edgeY ? 0.5 : f(th.w[2 * i]), dy1 = edgeY ? 0.5 : f(th.w[2 * i + 1]);
    for (let j = 0; j < ow; j++) {
      const c1 = tw.idx[2 * j] * xs[3], c2 = tw.idx[2 * j + 1] * xs[3];
      const edgeX = tw.idx[2 * j] === tw.idx[2 * j + 1];
      const dx2 = edgeX ? 0.5 : f(tw.w[2 * j]), dx1 = edgeX ? 0.5 : f(tw.w[2 * j + 1]);
      const w11 = f(dx2 * dy2), w21 = f(dx1 * dy2), w12 = f(dx2 * dy1), w22 = f(dx1 * dy1);
      for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
        const base = b * xs[0] + ch * xs[1];
        const v = f(f(f(f(w11 * src[base + r1 + c1]) + f(w21 * src[base + r1 + c2])) + f(w12 * src[base + r2 + c1])) + f(w22 * src[base + r2 + c2]));
        dst[b * ys[0] + ch * ys[1] + i * ys[2] + j * ys[3]] = v;
      }
    }
  }
}

/** Any layout (the standard one in practice), separably per channel plane: rows, then pixels. */
function taps2d(x: HostValue, y: HostValue, th: AxisTable, tw: AxisTable): void {
  const [n, c, , w] = x.dims;
  const [, , oh, ow] = y.dims;
  const src = x.data as Float32Array, dst = y.data as Float32Array;
  const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
  const nt = th.taps, mt = tw.taps;
  const tmp = new Float64Array(w);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) {
    const xb = b * xs[0] + ch * xs[1], yb = b * ys[0] + ch * ys[1];
    for (let i = 0; i < oh; i++) {
      tmp.fill(0);
      for (let a = 0; a < nt; a++) {
        const wy = th.w[i * nt + a], xr = xb + th.idx[i * nt + a] * xs[2];
        if (wy !== 0) for (let q = 0; q < w; q++) tmp[q] += wy * src[xr + q * xs[3]];
      }
      const yr = yb + i * ys[2];
      for (let j = 0; j < ow; j++) {
        let sum = 0;
        for (let e = 0; e < mt; e++) sum += tw.w[j * mt + e] * tmp[tw.idx[j * mt + e]];
        dst[yr + j * ys[3]] = sum;
      }
    }
  }
}

function compute(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[]): void {
  const x = ins[0]!, y = outs[0];
  // scales, sizes and roi were constants when the plan was made: read them again from the inputs
  const p = resizePlan(ctx, ins.map((v, i) => (v ? { type: v.type, dims: [...v.dims], value: i > 0 ? v : undefined } : null)));
  if (elementCount(y.dims) === 0) return;
  const at = readAttrs(ctx);
  const r = x.dims.length;
  const tables = x.dims.map((d, a) => axisTable(at, p.scales[a], p.outDims[a], d, p.roi[a]));
  const work = tables.map((t, a) => (t.identity ? -1 : a)).filter((a) => a >= 0);
  const xs = logicalStrides(x.dims, x.nhwc), ys = logicalStrides(y.dims, y.nhwc);
  const nearest = at.mode === 'nearest';

  if (work.length === 0) stridedCopy(x.data, 0, xs, x.dims, y.data, 0, ys);
  else if (r === 4 && tables[0].identity && tables[1].identity) resize2d(x, y, tables[2], tables[3], nearest, at.mode === 'linear' && !at.antialias);
  else {
    // one pass per resized axis; intermediates in float64, standard layout
    let src: ArrayLike<number> = x.data, srcStrides = xs;
    const dims = [...x.dims];
    work.forEach((a, k) => {
      const last = k === work.length - 1;
      const next = [...dims];
      next[a] = p.outDims[a];
      const dst = last ? y.data : new Float64Array(elementCount(next));
      const dstStrides = last ? ys : logicalStrides(next, false);
      resamplePass(src, srcStrides, dims, a, tables[a], dst, dstStrides, nearest);
      dims[a] = next[a];
      src = dst;
      srcStrides = dstStrides;
    });
    if (work.length > 0 && dims.some((d, i) => d !== y.dims[i])) fail(ctx, 'internal: resize passes ended with the wrong dims');
  }

  // tf_crop_and_resize: an output element with any coordinate outside the input is extrapolated
  if (tables.some((t) => t.outside?.some((v) => v))) {
    forEachRow(y.dims, -1, ys, ys, (o) => {
      for (let a = 0; a < r; a++) {
        // the layout's strides are a permutation: recover each coordinate from the offset
        const c = Math.floor(o / ys[a]) % y.dims[a];
        if (tables[a].outside![c]) {
          y.data[o] = at.extrapolation;
          return;
        }
      }
    });
  }
}

export const resizeDef: OpDef = {
  layout: 'aware',
  opsets: [10, 19],
  check,
  infer: (ctx, ins) => {
    const x = need(ctx, ins, 0, 'X');
    const mode = attr(ctx.node, 'mode', 'nearest');
    if (mode !== 'nearest' && x.type !== 'float32') throw new DTypeError(`${opLabel(ctx)}: ${mode} Resize takes float32 X in lowbit, got ${x.type}`);
    if (x.dims.length === 0) throw new ShapeError(`${opLabel(ctx)}: X must have at least one axis`);
    return [{ type: x.type, dims: resizePlan(ctx, ins).outDims }];
  },
  outNhwc: (ins, outDims) => !!ins[0]?.nhwc && outDims[0].length === 4,
  compute,
};

export const RESIZE_OPS: Record<string, OpDef> = { Resize: resizeDef };
