// qs8-conv-direct: the int8 convolution reading the qs8 GEMM's staged image in place (wraps
// assembly/conv/qs8-conv-direct.ts; its header draws the panel layout). The weights are re-laid
// from the GEMM's own packed c2 / c4 panels, so the column terms the GEMM's params block folds
// (bias, zero points, the c4 offsets) hold unchanged and the epilogue is shared: the same output bits
// as q_im2col_nhwc + the GEMM. Output rows split across threads.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';
import { checkSizes } from './check.js';
import type { ConvWindow } from './conv.js';
import { PackedWeights } from './packed.js';
import type { Qs8Weights } from './qs8.js';

/** Byte offset of GEMM element (k, j) in c2 / c4 panels of kp rows (assembly/gemm/qs8.ts). */
function panelOffset(c4: boolean, kp: number, k: number, j: number): number {
  const c = j & 7, p = (j >> 3) * kp * 8;
  return c4 ? p + (k >> 2) * 32 + (c >> 2) * 16 + (c & 3) * 4 + (k & 3) : p + (k >> 1) * 16 + c * 2 + (k & 1);
}

export class Qs8ConvDirectWeights extends PackedWeights {
  constructor(
    host: KernelHost,
    readonly layout: 'c2' | 'c4',
    readonly kh: number,
    readonly kw: number,
    readonly c: number,
    /** 2: each run read twice (the split c4 layout's halves, stacked along the GEMM's K) */
    readonly copies: 1 | 2,
    /** bytes of staged A' per run (kw * c values rounded up to whole k-groups) */
    readonly segBytes: number,
    readonly n: number,
    readonly ptr: number,
    /** bytes these weights own: 0 when they are the GEMM's own panels (source) */
    readonly bytes: number,
    /** the GEMM weights whose panels these are, when shared (runs need no rounding) */
    readonly source: Qs8Weights | null,
  ) {
    super(host, source ? [] : [ptr]);
  }

  /** disposed, or sharing GEMM weights that were */
  get unusable(): boolean {
    return this.disposed || !!this.source?.disposed;
  }
}

/**
 * The GEMM's packed weights (K = copies * kh * kw * c, tap-major as im2col lays rows out) as the
 * direct kernel's panels for a kh x kw window over c channels.
 */
export function packQs8ConvDirect(rt: KernelHost, w: Qs8Weights, kh: number, kw: number, c: number, copies: 1 | 2): Qs8ConvDirectWeights {
  checkSizes('packQs8ConvDirect', { kh, kw, c }, 1);
  if (w.disposed) throw new ArgumentError('packQs8ConvDirect: the GEMM weights were disposed');
  if (w.layout === 'w16') throw new ArgumentError('packQs8ConvDirect: w must be packed c2 or c4, got w16');
  const taps = kh * kw * c;
  if (w.k !== copies * taps) throw new ArgumentError(`packQs8ConvDirect: the GEMM has K = ${w.k}, a ${kh}x${kw} window over ${c} channels read ${copies}x needs ${copies * taps}`);
  const c4 = w.layout === 'c4', eb = c4 ? 1 : 2, run = kw * c;
  const segBytes = Math.ceil((run * eb) / 4) * 4, segElems = segBytes / eb;
  const kd = kh * copies * segElems, panel = kd * 8, bytes = panel * w.np;
  // whole k-groups per run (or a single run): the GEMM's panels are already in this order
  if ((segElems === run || copies * kh === 1) && kd === w.kp) return new Qs8ConvDirectWeights(rt, w.layout, kh, kw, c, copies, segBytes, w.n, w.ptr, 0, w);
  const src = rt.read(Int8Array, w.ptr, w.kp * w.np);
  const out = new Int8Array(bytes);
  for (let cp = 0; cp < copies; cp++) {
    for (let u = 0; u < kh; u++) {
      const d0 = (cp * kh + u) * segElems, k0 = cp * taps + u * run;
      for (let e = 0; e < run; e++) for (let j = 0; j < w.n; j++) out[panelOffset(c4, kd, d0 + e, j)] = src[panelOffset(c4, w.kp, k0 + e, j)];
    }
  }
  const ptr = rt.alloc(bytes + 16);
  rt.view(Int8Array, ptr, bytes).set(out);
  return new Qs8ConvDirectWeights(rt, w.layout, kh, kw, c, copies, segBytes, w.n, ptr, bytes, null);
}

/** One image: the staged, bordered image and pixel sums, and where the output goes. */
export interface Qs8ConvDirectCall {
  /** staged pixels [hp][wp][c] (the GEMM's stager, bordered with the staged zero pixel), readable 16 bytes past the end */
  xp: number;
  /** int32 sums of those pixels [hp][wp] */
  ps: number;
  hp: number; wp: number;
  w: Qs8ConvDirectWeights;
  /** the GEMM's params block (assembly/params.ts) with its row sums' address: oh * ow int32 the kernel fills when it needs them */
  prm: number;
  y: number; oh: number; ow: number;
  /** bytes between output pixels */
  outStride: number;
}

/** y[oh*ow][n] = the convolution of the staged image (pt, pl already in its border), rows split across threads. */
export function qs8ConvDirect(rt: KernelHost, g: ConvWindow, call: Qs8ConvDirectCall): Promise<void> {
  const { xp, ps, hp, wp, w, prm, y, oh, ow, outStride } = call;
  checkSizes('qs8ConvDirect', { hp, wp, oh, ow, outStride });
  checkSizes('qs8ConvDirect', { sh: g.sh, sw: g.sw, dh: g.dh }, 1);
  if (w.unusable) throw new ArgumentError('qs8ConvDirect: the packed weights were disposed');
  if (g.kh !== w.kh || g.kw !== w.kw) throw new ArgumentError(`qs8ConvDirect: weights are for a ${w.kh}x${w.kw} window, got ${g.kh}x${g.kw}`);
  if (g.dw !== 1 && g.kw !== 1) throw new ArgumentError(`qs8ConvDirect: a window dilated across (dw = ${g.dw}) has no contiguous runs`);
  if (oh > 0 && ((oh - 1) * g.sh + (g.kh - 1) * g.dh >= hp || (ow - 1) * g.sw + g.kw > wp)) throw new ArgumentError(`qs8ConvDirect: a ${hp}x${wp} bordered image does not cover ${oh}x${ow} outputs of this window`);
  const eb = w.layout === 'c4' ? 1 : 2, pix = w.c * eb;
  const fn = w.layout === 'c4' ? 'qs8_conv_direct_4x8c4_relaxed' : 'qs8_conv_direct_4x8c2';
  return rt.parallelColumns(oh, 1, (r0, r1) => [fn, [r0, r1, ow, 0, w.n, g.kh, g.kw, g.sh, g.sw, g.dh, w.copies, w.segBytes, wp * pix, g.sw * pix, xp, ps, wp, w.ptr, prm, y, outStride]], 1, oh * ow * w.copies * g.kh * g.kw * w.c * w.n);
}
