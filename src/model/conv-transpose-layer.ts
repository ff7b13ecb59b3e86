// 2-D ConvTranspose with constant float32 weights as a model layer, channels-last. Each input
// pixel times W[C_in, (kh, kw, M)] is one row of a float32 GEMM; then
//   stride = kernel, no dilation, no padding, group 1 (the PP-OCR detector's 2x2/2 upsampling):
//     the taps of one kernel row never overlap, so for each input row and kernel row u one GEMM
//     writes its kw*M columns straight into output row i*s+u (a pixel shuffle for free), bias
//     included;
//   anything else: per group, the GEMM writes [H*W, kh*kw*M/group] into scratch and col2im adds
//     each tap into its output pixel (the output starts as the bias).
// A fused activation (lowbit.FusedConvTranspose) runs in the epilogue: relu and clip as the GEMM's
// clamp on the shuffle path, anything else as a pass over each finished band of output rows while
// it is cache-hot (src/layers/activation.ts); after col2im, one pass over the output.

import { F32_NR, f32Gemm, packF32, type F32Weights } from '../kernels/f32.js';
import { ChannelActivation, type ConvActivation } from '../layers/activation.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LayerIO, ModelLayer } from './layers.js';
import type { ConvTransposeSpec } from './ops/conv-transpose.js';

export class ConvTransposeLayerF32 implements ModelLayer {
  readonly scheme = 'float32';
  readonly layout = 'nhwc';
  private readonly rowWeights: F32Weights[] = [];
  private readonly groupWeights: F32Weights[] = [];
  private rowBias = 0;
  private readonly cin: number;
  private readonly opg: number;
  private readonly kh: number;
  private readonly kw: number;
  /** the fused activation passes, by whether the GEMM's epilogue may clamp (shuffle path) or not (col2im) and channels */
  private readonly acts = new Map<string, ChannelActivation>();

  /**
   * weight [C_in, M/group, kh, kw] as ONNX has it; `spec` gives the geometry for input dims (the
   * plan checked it); `activation` (with `actName` for the kind) is applied to the output.
   */
  constructor(private readonly rt: Runtime, private readonly spec: (dims: readonly number[]) => ConvTransposeSpec, private readonly weight: Float32Array, private readonly bias: Float32Array | null, private readonly group: number, dims: readonly number[], private readonly activation: ConvActivation | null = null, private readonly actName = '') {
    [this.cin, this.opg, this.kh, this.kw] = dims;
  }

  get kind(): string {
    return `ConvTranspose ${this.kh}x${this.kw}${this.actName ? ` + ${this.actName}` : ''}`;
  }

  /**
   * The activation pass over `channels` channels (the output's, or 4 or 1 when the output is taken as
   * flat), built on first use.
   */
  private act(epilogueClamp: boolean, channels = this.opg * this.group): ChannelActivation {
    const key = `${epilogueClamp} ${channels}`;
    let a = this.acts.get(key);
    if (!a) {
      const t = this.activation;
      const f = t && channels !== this.opg * this.group ? { ...t, scale: new Float32Array(channels).fill(t.scale[0]), shift: new Float32Array(channels).fill(t.shift[0]) } : t;
      this.acts.set(key, (a = new ChannelActivation(this.rt, channels, f, epilogueClamp)));
    }
    return a;
  }

  /**
   * One scale and one shift for every channel (and channels not whole vectors): the activation pass
   * takes the output as flat, four floats at a time (whole vectors even for PP-OCR's one-channel map).
   */
  private get flat(): boolean {
    const a = this.activation;
    return !!a && a.scale.every((v) => v === a.scale[0]) && a.shift.every((v) => v === a.shift[0]) && (this.opg * this.group) % 4 !== 0;
  }

  /** the activation over `pixels` output pixels at y (a no-op when the GEMM's clamp did it) */
  private async activate(epilogueClamp: boolean, y: number, pixels: number): Promise<void> {
    if (!this.flat) return this.act(epilogueClamp).apply(y, pixels);
    const floats = pixels * this.opg * this.group, whole = floats >> 2;
    await this.act(epilogueClamp, 4).apply(y, whole);
    if (floats & 3) await this.act(epilogueClamp, 1).apply(y + whole * 16, floats & 3);
  }

  get weightBytes(): number {
    return [...this.rowWeights, ...this.groupWeights].reduce((s, w) => s + w.bytes, 0);
  }

  macs(dims: readonly number[]): number {
    return dims[0] * dims[2] * dims[3] * this.cin * this.opg * this.kh * this.kw;
  }

  /** the shuffle form applies: every output pixel gets exactly one tap */
  private shuffles(sp: ConvTransposeSpec): boolean {
    return this.group === 1 && sp.s[0] === this.kh && sp.s[1] === this.kw && sp.d[0] === 1 && sp.d[1] === 1
      && sp.pb[0] === 0 && sp.pb[1] === 0 && sp.out[0] === sp.in[0] * sp.s[0] && sp.out[1] === sp.in[1] * sp.s[1];
  }

  scratchBytes(dims: readonly number[]): number {
    const sp = this.spec(dims);
    return this.shuffles(sp) ? 0 : dims[2] * dims[3] * this.kh * this.kw * this.opg * 4;
  }

  /** W value for input channel ci, output channel m (within its group), tap (u, v) */
  private w(ci: number, m: number, u: number, v: number): number {
    return this.weight[((ci * this.opg + m) * this.kh + u) * this.kw + v];
  }

  private packRows(): void {
    const { cin, opg: cout, kh, kw } = this;
    const n = kw * cout;
    for (let u = 0; u < kh; u++) {
      const b = new Float32Array(cin * n);
      for (let ci = 0; ci < cin; ci++) for (let v = 0; v < kw; v++) for (let m = 0; m < cout; m++) b[ci * n + v * cout + m] = this.w(ci, m, u, v);
      this.rowWeights.push(packF32(this.rt, b, cin, n));
    }
    if (this.bias) {
      const np = Math.ceil(n / F32_NR) * F32_NR;
      this.rowBias = this.rt.alloc(np * 4);
      const view = this.rt.view(Float32Array, this.rowBias, np);
      view.fill(0);
      for (let v = 0; v < kw; v++) view.set(this.bias, v * cout);
    }
  }

  private packGroups(): void {
    const { opg, kh, kw } = this;
    const cpg = this.cin / this.group, n = kh * kw * opg;
    for (let g = 0; g < this.group; g++) {
      const b = new Float32Array(cpg * n);
      for (let c = 0; c < cpg; c++) for (let u = 0; u < kh; u++) for (let v = 0; v < kw; v++) for (let m = 0; m < opg; m++) {
        b[c * n + (u * kw + v) * opg + m] = this.w(g * cpg + c, m, u, v);
      }
      this.groupWeights.push(packF32(this.rt, b, cpg, n));
    }
  }

  async run(io: LayerIO): Promise<void> {
    const sp = this.spec(io.dims);
    const [n, cin, h, w] = io.dims;
    const [oh, ow] = sp.out;
    const cout = sp.cout;
    if (this.shuffles(sp)) {
      if (!this.rowWeights.length) this.packRows();
      const { kh, kw } = this;
      const [lo, hi] = this.act(true).clamp;
      for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) {
        const band = io.y + (b * oh + i * kh) * ow * cout * 4;
        for (let u = 0; u < kh; u++) {
          const a = io.x + (b * h + i) * w * cin * 4;
          await f32Gemm(this.rt, { m: w, a, aStride: cin * 4, w: this.rowWeights[u], c: band + u * ow * cout * 4, cStride: kw * cout * 4, bias: this.rowBias, lo, hi });
        }
        // output rows i*kh … i*kh+kh-1 are done
        await this.activate(true, band, kh * ow);
      }
      return;
    }
    if (!this.groupWeights.length) this.packGroups();
    const { kh, kw, opg } = this;
    const cpg = cin / this.group, taps = kh * kw, cols = taps * opg, hw = h * w;
    const y = this.rt.view(Float32Array, io.y, n * oh * ow * cout);
    const bias = this.bias;
    for (let p = 0; p < n * oh * ow; p++) {
      if (bias) y.set(bias, p * cout);
      else y.fill(0, p * cout, (p + 1) * cout);
    }
    // where each (input coordinate, tap) lands on each axis; -1 outside the output
    const land = (len: number, k: number, s: number, d: number, pad: number, out: number) => {
      const t = new Int32Array(len * k);
      for (let i = 0; i < len; i++) for (let u = 0; u < k; u++) {
        const o = i * s - pad + u * d;
        t[i * k + u] = o >= 0 && o < out ? o : -1;
      }
      return t;
    };
    const rows = land(h, kh, sp.s[0], sp.d[0], sp.pb[0], oh), colsAt = land(w, kw, sp.s[1], sp.d[1], sp.pb[1], ow);
    for (let b = 0; b < n; b++) for (let g = 0; g < this.group; g++) {
      const a = io.x + (b * hw * cin + g * cpg) * 4;
      await f32Gemm(this.rt, { m: hw, a, aStride: cin * 4, w: this.groupWeights[g], c: io.scratch, cStride: cols * 4, bias: 0, lo: -Infinity, hi: Infinity });
      const col = this.rt.view(Float32Array, io.scratch, hw * cols);
      const yv = this.rt.view(Float32Array, io.y, n * oh * ow * cout);
      for (let i = 0; i < h; i++) for (let u = 0; u < kh; u++) {
        const oy = rows[i * kh + u];
        if (oy < 0) continue;
        for (let j = 0; j < w; j++) for (let v = 0; v < kw; v++) {
          const ox = colsAt[j * kw + v];
          if (ox < 0) continue;
          const src = (i * w + j) * cols + (u * kw + v) * opg, dst = ((b * oh + oy) * ow + ox) * cout + g * opg;
          for (let m = 0; m < opg; m++) yv[dst + m] += col[src + m];
        }
      }
    }
    await this.activate(false, io.y, n * oh * ow);
  }

  dispose(): void {
    for (const w of [...this.rowWeights, ...this.groupWeights]) w.dispose();
    this.rowWeights.length = 0;
    for (const a of this.acts.values()) a.dispose();
    this.acts.clear();
    this.groupWeights.length = 0;
    if (this.rowBias) this.rt.free(this.rowBias);
    this.rowBias = 0;
  }
}
