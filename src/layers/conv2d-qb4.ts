// Conv2d (group 1) and linear layers with 4-bit block-quantized weights and int8 activations
// quantized on the fly per row (W4A8, src/kernels/qb4.ts) for models:
//   x (float32, channels-last) -> [im2col] -> qb4 GEMM -> [copy rows out of padded panels]
//   -> activation pass
// Weights: round-to-nearest per block of 32 along K (16 when K < 32), symmetric, with the
// per-block clip search (src/quant/int4.ts).

import { ArgumentError } from '../errors.js';
import { packQb4, qb4Gemm, type Qb4Weights } from '../kernels/qb4.js';
import { quantizeInt4Rtn } from '../quant/int4.js';
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import { convOutSize, convPath, type ConvGeometry } from './conv2d.js';

/** y[M, N] = W4A8(x[M, K]) + bias, then the activation. */
export class Qb4Matmul {
  private readonly w: Qb4Weights;
  private readonly biasPtr: number;
  readonly act: ChannelActivation;

  /** wnk: weights [N, K] row-major (output channel rows) */
  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, wnk: Float32Array, bias: Float32Array | null, activation: ConvActivation | null, blockSize = k >= 32 ? 32 : 16) {
    if (bias && bias.length !== n) throw new ArgumentError(`int4 layer: bias has ${bias.length} values, expected ${n}`);
    this.w = packQb4(rt, quantizeInt4Rtn(wnk, n, k, { blockSize, clipSearch: true }));
    this.biasPtr = rt.alloc(this.w.np * 4);
    const bv = rt.view(Float32Array, this.biasPtr, this.w.np);
    bv.fill(0);
    if (bias) bv.set(bias);
    this.act = new ChannelActivation(rt, n, activation, false);
  }

  get weightBytes(): number {
    return this.w.bytes + this.n * 4;
  }

  /** scratch for M rows: the int8/int16 activations, their block metadata, and padded output rows */
  scratchBytes(m: number): number {
    const { kp, np, blockSize } = this.w;
    return m * kp * 2 + m * (kp / blockSize) * 8 + (np !== this.n || m === 1 ? m * np * 4 : 0) + 256;
  }

  async run(m: number, x: number, y: number, scratch: number): Promise<void> {
    const rt = this.rt, { np } = this.w, n = this.n;
    // rows are written panel-padded: straight into y when N is a multiple of 8 (M > 1)
    const direct = np === n && m > 1;
    const padded = direct ? y : scratch;
    let used = direct ? 0 : m * np * 4 + 64;
    // the GEMM's own scratch (int8 activations, block metadata) comes from ours
    const alloc = (bytes: number) => {
      const p = scratch + used;
      used += Math.ceil(bytes / 64) * 64;
      return p;
    };
    await qb4Gemm(rt, alloc, { m, x, w: this.w, bias: this.biasPtr, out: padded });
    if (!direct) {
      const src = rt.view(Float32Array, padded, m * np), dst = rt.view(Float32Array, y, m * n);
      if (m === 1) dst.set(src.subarray(0, n));
      else for (let i = 0; i < m; i++) dst.set(src.subarray(i * np, i * np + n), i * n);
    }
    await this.act.apply(y, m);
  }

  dispose(): void {
    this.w.dispose();
    this.rt.free(this.biasPtr);
    this.act.dispose();
  }
}

export class Conv2dQb4 {
  readonly mm: Qb4Matmul;
  readonly im2col: boolean;

  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, activation: ConvActivation | null = null) {
    const g = geometry;
    if (g.group !== 1) throw new ArgumentError(`Conv2dQb4: group ${g.group} convolutions stay float (depthwise/grouped)`);
    const taps = g.kh * g.kw, k = taps * g.cin;
    if (weight.length !== g.cout * k) throw new ArgumentError(`Conv2dQb4: weight has ${weight.length} values, expected [${g.cout}, ${g.cin}, ${g.kh}, ${g.kw}]`);
    // rows of K in im2col order (tap-major, channel-minor)
    const wnk = new Float32Array(g.cout * k);
    for (let o = 0; o < g.cout; o++) for (let ci = 0; ci < g.cin; ci++) for (let t = 0; t < taps; t++) wnk[o * k + t * g.cin + ci] = weight[(o * g.cin + ci) * taps + t];
    this.mm = new Qb4Matmul(rt, k, g.cout, wnk, bias, activation);
    this.im2col = convPath(g) !== 'pointwise';
  }

  get weightBytes(): number {
    return this.mm.weightBytes;
  }

  scratchBytes(h: number, w: number): number {
    const [oh, ow] = convOutSize(this.geometry, h, w);
    const m = oh * ow;
    return (this.im2col ? m * this.mm.k * 4 + 64 : 0) + this.mm.scratchBytes(m);
  }

  async run(n: number, h: number, w: number, x: number, y: number, scratch: number): Promise<void> {
    const g = this.geometry;
    const [oh, ow] = convOutSize(g, h, w);
    const m = oh * ow;
    const rest = scratch + (this.im2col ? Math.ceil((m * this.mm.k * 4) / 64) * 64 : 0);
    for (let b = 0; b < n; b++) {
      const xb = x + b * h * w * g.cin * 4, yb = y + b * m * g.cout * 4;
      let a = xb;
      if (this.im2col) {
        this.rt.invoke(['f32_im2col_nhwc', [h, w, g.cin, g.cin, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, 0, oh, ow, xb, scratch]]);
        a = scratch;
      }
      await this.mm.run(m, a, yb, rest);
    }
  }

  dispose(): void {
    this.mm.dispose();
  }
}
