// Conv2d (group 1) and linear layers with 4-bit weights and int8 activations quantized on the fly
// per row, for models:
//   x (float32, channels-last) -> [im2col] -> 4-bit GEMM -> [copy rows out of padded panels]
//   -> activation pass
// Two weight formats share the layer:
//   'int4' (src/kernels/qb4.ts): round-to-nearest per block of 32 along K (16 when K < 32),
//          symmetric, with the per-block clip search (src/quant/int4.ts);
//   'ant4' (src/kernels/lut4.ts): ANT's adaptive type (int4, flint4 or PoT4 chosen per tensor by
//          error, one scale per output channel with ANT's clip search; src/quant/ant.ts), decoded by
//          table lookup.

import { ArgumentError } from '../errors.js';
import { lut4FromAnt, lut4Gemm, packLut4 } from '../kernels/lut4.js';
import { packQb4, qb4Gemm } from '../kernels/qb4.js';
import { selectAntType } from '../quant/ant.js';
import { quantizeInt4Rtn } from '../quant/int4.js';

export type FourBitFormat = 'int4' | 'ant4';

/** Packed 4-bit weights of either format, as the layer uses them. */
interface FourBitWeights {
  readonly kp: number;
  readonly np: number;
  readonly blockSize: number;
  readonly bytes: number;
  /** for ant4: the type chosen for the tensor */
  readonly type: string;
  gemm(alloc: (bytes: number) => number, call: { m: number; x: number; bias: number; out: number }): Promise<void>;
  dispose(): void;
}

function packFourBit(rt: Runtime, format: FourBitFormat, wnk: Float32Array, n: number, k: number, blockSize: number): FourBitWeights {
  if (format === 'int4') {
    const w = packQb4(rt, quantizeInt4Rtn(wnk, n, k, { blockSize, clipSearch: true }));
    return { kp: w.kp, np: w.np, blockSize: w.blockSize, bytes: w.bytes, type: 'int4', gemm: (alloc, c) => qb4Gemm(rt, alloc, { ...c, w }), dispose: () => w.dispose() };
  }
  const sel = selectAntType(wnk, { channels: n });
  const w = packLut4(rt, lut4FromAnt(sel.quantized));
  return { kp: w.kp, np: w.np, blockSize: w.blockSize, bytes: w.bytes, type: sel.typeNames[0], gemm: (alloc, c) => lut4Gemm(rt, alloc, { ...c, w }), dispose: () => w.dispose() };
}
import type { Runtime } from '../runtime/runtime.js';
import { ChannelActivation, type ConvActivation } from './activation.js';
import { convOutSize, convPath, type ConvGeometry } from './conv2d.js';

/** y[M, N] = W4A8(x[M, K]) + bias, then the activation. */
export class Qb4Matmul {
  private readonly w: FourBitWeights;
  private readonly biasPtr: number;
  readonly act: ChannelActivation;

  /** wnk: weights [N, K] row-major (output channel rows) */
  constructor(private readonly rt: Runtime, readonly k: number, readonly n: number, wnk: Float32Array, bias: Float32Array | null, activation: ConvActivation | null, readonly format: FourBitFormat = 'int4', blockSize = k >= 32 ? 32 : 16) {
    if (bias && bias.length !== n) throw new ArgumentError(`${format} layer: bias has ${bias.length} values, expected ${n}`);
    this.w = packFourBit(rt, format, wnk, n, k, blockSize);
    this.biasPtr = rt.alloc(this.w.np * 4);
    const bv = rt.view(Float32Array, this.biasPtr, this.w.np);
    bv.fill(0);
    if (bias) bv.set(bias);
    this.act = new ChannelActivation(rt, n, activation, false);
  }

  get weightBytes(): number {
    return this.w.bytes + this.n * 4;
  }

  /** the 4-bit type of the weights ('int4', or ANT's pick: 'int4', 'flint4', 'pot4') */
  get type(): string {
    return this.w.type;
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
    await this.w.gemm(alloc, { m, x, bias: this.biasPtr, out: padded });
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

  constructor(private readonly rt: Runtime, readonly geometry: ConvGeometry, weight: Float32Array, bias: Float32Array | null, activation: ConvActivation | null = null, format: FourBitFormat = 'int4') {
    const g = geometry;
    if (g.group !== 1) throw new ArgumentError(`Conv2dQb4: group ${g.group} convolutions stay float (depthwise/grouped)`);
    const taps = g.kh * g.kw, k = taps * g.cin;
    if (weight.length !== g.cout * k) throw new ArgumentError(`Conv2dQb4: weight has ${weight.length} values, expected [${g.cout}, ${g.cin}, ${g.kh}, ${g.kw}]`);
    // rows of K in im2col order (tap-major, channel-minor)
    const wnk = new Float32Array(g.cout * k);
    for (let o = 0; o < g.cout; o++) for (let ci = 0; ci < g.cin; ci++) for (let t = 0; t < taps; t++) wnk[o * k + t * g.cin + ci] = weight[(o * g.cin + ci) * taps + t];
    this.mm = new Qb4Matmul(rt, k, g.cout, wnk, bias, activation, format);
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
