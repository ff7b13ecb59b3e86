// Conv2d in float32, channels-last, on buffers the caller placed in linear memory.
// Three ways, picked from the geometry at build time:
//   depthwise (group = C_in = C_out)    -> f32_dwconv_nhwc (vectorised over channels)
//   1x1, stride 1, no padding, group 1  -> the input already is the GEMM's A [N*H*W, C_in]
//   group 1, taps adjacent across       -> the image zero-bordered once, then the f32 GEMM's tile
//                                          reading each pixel's row in place (f32_conv_direct_4x8)
//   anything else                       -> f32_im2col_nhwc per group, then the f32 GEMM
// The direct way gives the im2col way's bits (the same sums in the same order) without writing
// kh*kw copies of the image: 3x3 convolutions on large maps spent a fifth of their time there.
// Weights arrive as ONNX has them, [C_out, C_in/group, kH, kW], and are packed once.

import { ArgumentError } from '../errors.js';
import { convDirectNhwc, depthwiseConvNhwc, im2colNhwc, padNhwc } from '../kernels/conv.js';
import { F32_NR, f32Gemm, packF32, type F32Weights } from '../kernels/f32.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';

export type { ConvActivation } from './activation.js';

export interface ConvGeometry {
  cin: number;
  cout: number;
  group: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
  pb: number;
  pr: number;
}

export type ConvPath = 'depthwise' | 'pointwise' | 'im2col';

export function convPath(g: ConvGeometry): ConvPath {
  if (g.group === g.cin && g.group === g.cout && g.group > 1) return 'depthwise';
  if (g.group === 1 && g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt + g.pl + g.pb + g.pr === 0) return 'pointwise';
  return 'im2col';
}

export function convOutSize(g: ConvGeometry, h: number, w: number): [number, number] {
  return [
    Math.floor((h + g.pt + g.pb - (g.kh - 1) * g.dh - 1) / g.sh) + 1,
    Math.floor((w + g.pl + g.pr - (g.kw - 1) * g.dw - 1) / g.sw) + 1,
  ];
}

/** the padded image the direct way reads: rows and columns covering every window, and the image */
export function paddedSize(g: ConvGeometry, h: number, w: number): [number, number] {
  const [oh, ow] = convOutSize(g, h, w);
  return [Math.max(h + g.pt, (oh - 1) * g.sh + (g.kh - 1) * g.dh + 1), Math.max(w + g.pl, (ow - 1) * g.sw + (g.kw - 1) * g.dw + 1)];
}

export class Conv2dF32 {
  readonly path: ConvPath;
  /** an im2col-path convolution that runs on the padded image instead (group 1, dilation 1 across) */
  readonly direct: boolean;
  private packed: F32Weights[] = [];
  private dwPtr = 0;
  private biasPtr = 0;
  private disposed = false;
  private readonly act: ChannelActivation;

  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, readonly activation: ConvActivation | null = null, direct = true) {
    const g = geometry;
    const cpg = g.cin / g.group, opg = g.cout / g.group, taps = g.kh * g.kw;
    if (weight.length !== g.cout * cpg * taps) throw new ArgumentError(`Conv2d: weight has ${weight.length} values, expected [${g.cout}, ${cpg}, ${g.kh}, ${g.kw}]`);
    if (bias && bias.length !== g.cout) throw new ArgumentError(`Conv2d: bias has ${bias.length} values, expected ${g.cout}`);
    this.path = convPath(g);
    this.direct = direct && this.path === 'im2col' && g.group === 1 && (g.dw === 1 || g.kw === 1);
    this.act = new ChannelActivation(rt, g.cout, activation);
    if (this.path === 'depthwise') {
      const cp = Math.ceil(g.cout / 4) * 4;
      this.dwPtr = rt.alloc((taps + 1) * cp * 4);
      const v = rt.view(Float32Array, this.dwPtr, (taps + 1) * cp);
      v.fill(0);
      for (let c = 0; c < g.cout; c++) {
        for (let t = 0; t < taps; t++) v[t * cp + c] = weight[c * taps + t];
        v[taps * cp + c] = bias ? bias[c] : 0;
      }
      return;
    }
    // GEMM weights per group: K = taps * cpg (tap-major, channel-minor, as im2col lays rows out), N = opg
    for (let gi = 0; gi < g.group; gi++) {
      const k = taps * cpg;
      const wkn = new Float32Array(k * opg);
      for (let o = 0; o < opg; o++) {
        const co = gi * opg + o;
        for (let ci = 0; ci < cpg; ci++) for (let t = 0; t < taps; t++) wkn[(t * cpg + ci) * opg + o] = weight[(co * cpg + ci) * taps + t];
      }
      this.packed.push(packF32(rt, wkn, k, opg));
    }
    const np = Math.ceil(opg / F32_NR) * F32_NR;
    this.biasPtr = rt.alloc(g.group * np * 4);
    const bv = rt.view(Float32Array, this.biasPtr, g.group * np);
    bv.fill(0);
    if (bias) for (let gi = 0; gi < g.group; gi++) for (let o = 0; o < opg; o++) bv[gi * np + o] = bias[gi * opg + o];
  }

  get weightBytes(): number {
    const g = this.geometry;
    return this.path === 'depthwise' ? (g.kh * g.kw + 1) * Math.ceil(g.cout / 4) * 16 : this.packed.reduce((s, p) => s + p.bytes, 0);
  }

  /** Bytes of scratch run() needs for an input of h x w (the im2col matrix of one image and group). */
  scratchBytes(h: number, w: number): number {
    if (this.path !== 'im2col') return 0;
    const g = this.geometry;
    if (this.direct) {
      const [hp, wp] = paddedSize(g, h, w);
      return hp * wp * g.cin * 4;
    }
    const [oh, ow] = convOutSize(g, h, w);
    return oh * ow * g.kh * g.kw * (g.cin / g.group) * 4;
  }

  /** y[n][oh][ow][cout] = conv(x[n][h][w][cin]); x, y, scratch are byte addresses in linear memory. */
  async run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void> {
    if (this.disposed) throw new ArgumentError('Conv2d: used after dispose()');
    const g = this.geometry, rt = this.rt;
    const [oh, ow] = convOutSize(g, h, w);
    const [lo, hi] = this.act.clamp;
    const inImage = h * w * g.cin * 4, outImage = oh * ow * g.cout * 4;
    for (let b = 0; b < n; b++) {
      const xb = x + b * inImage, yb = y + b * outImage;
      if (this.path === 'depthwise') {
        await depthwiseConvNhwc(rt, g, { x: xb, weights: this.dwPtr, y: yb, h, w, c: g.cin, oh, ow, lo, hi });
        await this.activate(yb, oh * ow);
        continue;
      }
      if (this.direct) {
        const [hp, wp] = paddedSize(g, h, w);
        await padNhwc(rt, xb, scratch, h, w, g.cin, g.pt, g.pl, hp, wp);
        await convDirectNhwc(rt, g, { xp: scratch, wp, c: g.cin, w: this.packed[0], y: yb, oh, ow, bias: this.biasPtr, lo, hi });
        await this.activate(yb, oh * ow);
        continue;
      }
      const cpg = g.cin / g.group, opg = g.cout / g.group, np = Math.ceil(opg / F32_NR) * F32_NR;
      const m = oh * ow, k = g.kh * g.kw * cpg;
      for (let gi = 0; gi < g.group; gi++) {
        let a = xb, aStride = g.cin * 4;
        if (this.path === 'im2col') {
          await im2colNhwc(rt, g, { x: xb + gi * cpg * 4, out: scratch, h, w, c: cpg, xc: g.cin, oh, ow });
          a = scratch;
          aStride = k * 4;
        }
        const wts = this.packed[gi];
        const c = yb + gi * opg * 4, bias = this.biasPtr + gi * np * 4;
        await f32Gemm(rt, { m, a, aStride, w: wts, c, cStride: g.cout * 4, bias, lo, hi });
      }
      await this.activate(yb, m);
    }
  }

  private activate(y: number, pixels: number): Promise<void> | void {
    return this.act.apply(y, pixels);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.packed) p.dispose();
    if (this.dwPtr) this.rt.free(this.dwPtr);
    if (this.biasPtr) this.rt.free(this.biasPtr);
    this.act.dispose();
  }
}
