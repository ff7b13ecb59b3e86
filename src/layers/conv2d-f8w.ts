// Conv2d (group 1) and linear layers with FP8 weights (E4M3FN, one scale per output channel) and
// float32 activations, for models: x (channels-last) -> [im2col] -> f8w GEMM (src/kernels/f8w.ts,
// weights decoded in registers) -> activation pass. No activation quantization: the only error
// is the weights' rounding to FP8.

import { ArgumentError } from '../errors.js';
import { f8wGemm, packF8w, type F8wWeights } from '../kernels/f8w.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import { convOutSize, convPath, type ConvGeometry } from './conv2d.js';

/** y[M, N] = x[M, K] · fp8(W)[K, N] + bias, then the activation. */
export class F8wMatmul {
  private readonly w: F8wWeights;
  private readonly biasPtr: number;
  readonly act: ChannelActivation;

  /** wkn: weights [K, N] row-major */
  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, wkn: Float32Array, bias: Float32Array | null, activation: ConvActivation | null) {
    if (bias && bias.length !== n) throw new ArgumentError(`fp8 layer: bias has ${bias.length} values, expected ${n}`);
    this.w = packF8w(rt, wkn, k, n, { format: 'e4m3fn' });
    this.biasPtr = bias ? rt.put(bias) : 0;
    this.act = new ChannelActivation(rt, n, activation);
  }

  get weightBytes(): number {
    return this.w.bytes;
  }

  async run(m: number, x: number, y: number): Promise<void> {
    const [lo, hi] = this.act.clamp;
    await f8wGemm(this.rt, { m, x, w: this.w, out: y, outStride: this.n * 4, bias: this.biasPtr || null, lo, hi });
    await this.act.apply(y, m);
  }

  dispose(): void {
    this.w.dispose();
    if (this.biasPtr) this.rt.free(this.biasPtr);
    this.act.dispose();
  }
}

export class Conv2dF8w {
  readonly mm: F8wMatmul;
  readonly im2col: boolean;

  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, activation: ConvActivation | null = null) {
    const g = geometry;
    if (g.group !== 1) throw new ArgumentError(`Conv2dF8w: group ${g.group} convolutions stay float (depthwise/grouped)`);
    const taps = g.kh * g.kw, k = taps * g.cin;
    if (weight.length !== g.cout * k) throw new ArgumentError(`Conv2dF8w: weight has ${weight.length} values, expected [${g.cout}, ${g.cin}, ${g.kh}, ${g.kw}]`);
    const wkn = new Float32Array(k * g.cout);
    for (let o = 0; o < g.cout; o++) for (let ci = 0; ci < g.cin; ci++) for (let t = 0; t < taps; t++) wkn[(t * g.cin + ci) * g.cout + o] = weight[(o * g.cin + ci) * taps + t];
    this.mm = new F8wMatmul(rt, k, g.cout, wkn, bias, activation);
    this.im2col = convPath(g) !== 'pointwise';
  }

  get weightBytes(): number {
    return this.mm.weightBytes;
  }

  scratchBytes(h: number, w: number): number {
    const [oh, ow] = convOutSize(this.geometry, h, w);
    return this.im2col ? oh * ow * this.mm.k * 4 : 0;
  }

  async run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void> {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, h, w);
    const m = oh * ow;
    for (let b = 0; b < n; b++) {
      const xb = x + b * h * w * g.cin * 4, yb = y + b * m * g.cout * 4;
      let a = xb;
      if (this.im2col) {
        this.rt.invoke(['f32_im2col_nhwc', [h, w, g.cin, g.cin, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, 0, oh, ow, xb, scratch]]);
        a = scratch;
      }
      await this.mm.run(m, a, yb);
    }
  }

  dispose(): void {
    this.mm.dispose();
  }
}
