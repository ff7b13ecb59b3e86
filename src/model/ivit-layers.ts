// quantizeModel's `integerOnly` option (I-ViT): the Softmax, GELU/Swish and LayerNorm between a
// transformer block's quantized matmuls run on the integer-only kernels (src/kernels/ivit.ts) with
// static scales: lowbit.Attention's softmax becomes Shiftmax, LayerNormalization becomes
// I-LayerNorm, and a linear layer's x·sigmoid(αx) epilogue (Swish, GELU's sigmoid form) becomes
// ShiftGELU after the int8 GEMM. Each layer first observes (runs in float and records the ranges it
// sees on the calibration inputs), then freezes its scales into the ops' integer parameters.
// The matmuls around them still hand over float32 (the int8 GEMM dequantizes its int32 sums), so
// each op's input is requantized to int8 here and its int8/uint8 output dequantized: numerically the
// I-ViT pipeline (an int32 GEMM output requantized to int8, as I-ViT does), not yet its memory traffic.

import { layerNormRows, shiftGelu, shiftmaxRows } from '../kernels/ivit.js';
import { matmulRows } from '../kernels/f32.js';
import { softmaxRows } from '../kernels/elementwise.js';
import { layerNormParams, shiftGeluParams, shiftmaxParams, type LayerNormParams, type ShiftGeluParams, type ShiftmaxParams } from '../quant/ivit.js';
import type { Runtime } from '../runtime/runtime.js';
import type { GraphNode } from './graph.js';
import type { LayerIO, ModelLayer } from './layers.js';
import { ACTIVATIONS } from './fuse.js';
import { attentionDims } from './kernel-layers.js';
import type { LayerSpec } from './model.js';
import { layerNorm } from './ops/reduce-ops.js';
import type { ValueInfo } from './ops/types.js';

const count = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

function absMax(x: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** x / scale rounded to int8 (saturating) at address p: the requantization an int32 GEMM output gets */
function toInt8(rt: Runtime, x: Float32Array, scale: number, p: number): void {
  const q = rt.view(Int8Array, p, x.length), inv = 1 / scale;
  for (let i = 0; i < x.length; i++) q[i] = Math.max(-128, Math.min(127, Math.round(x[i] * inv)));
}

/** An integer-only op's static scales: what a saved model keeps to rebuild its integer parameters. */
export interface IvitScales {
  inScale: number;
  /** absent for Shiftmax (its output scale is 2^-bits) */
  outScale?: number;
}

/** The op names saved records carry. */
export type IvitOp = 'I-LayerNorm' | 'Shiftmax' | 'ShiftGELU';

export abstract class IvitLayer implements ModelLayer {
  scheme = 'int8-integer-only';
  weightBytes = 0;
  abstract readonly kind: string;
  abstract readonly op: IvitOp;
  /** until freeze(): run in float and record ranges */
  observing = true;
  protected inAbs = 0;
  protected outAbs = 0;
  /** the frozen scales (set by freeze() from the observed ranges, or by freezeAt() from a saved file) */
  scales: IvitScales | null = null;
  constructor(protected readonly rt: Runtime) {}
  macs(_dims: readonly number[]): number {
    return 0;
  }
  scratchBytes(_dims: readonly number[]): number {
    return 0;
  }
  abstract run(io: LayerIO): Promise<void>;
  /** the scales observed on the calibration inputs, frozen */
  freeze(): void {
    this.freezeAt(this.op === 'Shiftmax' ? { inScale: scaleOf(this.inAbs) } : { inScale: scaleOf(this.inAbs), outScale: scaleOf(this.outAbs) });
  }
  /** integer parameters from given scales (throws the parameter functions' ValueRangeError) */
  abstract freezeAt(scales: IvitScales): void;
  dispose(): void {}
  /** int8 in, one kernel, int8/uint8 out dequantized with outScale into y (n values) */
  protected async integer(x: number, y: number, n: number, inScale: number, outScale: number, signed: boolean, op: (px: number, py: number) => Promise<void>): Promise<void> {
    const rt = this.rt;
    await rt.scoped(async (alloc) => {
      const px = alloc(n + 16), py = alloc(n + 16);
      toInt8(rt, rt.view(Float32Array, x, n), inScale, px);
      await op(px, py);
      const q = signed ? rt.view(Int8Array, py, n) : rt.view(Uint8Array, py, n), out = rt.view(Float32Array, y, n);
      for (let i = 0; i < n; i++) out[i] = q[i] * outScale;
    });
  }
}

const scaleOf = (abs: number) => (abs > 0 ? abs / 127 : 1);

/** LayerNormalization over the last axis -> I-LayerNorm (eps is below int8's resolution: dropped). */
export class IvitLayerNormLayer extends IvitLayer {
  readonly kind = 'I-LayerNorm';
  readonly op = 'I-LayerNorm';
  private p: LayerNormParams | null = null;
  private gb = [0, 0];
  constructor(rt: Runtime, private readonly gamma: Float32Array, private readonly beta: Float32Array | null, private readonly eps: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const n = io.dims[io.dims.length - 1], total = count(io.dims), rows = total / Math.max(n, 1);
    if (this.observing) {
      const x = this.rt.view(Float32Array, io.x, total), y = this.rt.view(Float32Array, io.y, total);
      this.inAbs = Math.max(this.inAbs, absMax(x));
      layerNorm(x, rows, n, this.gamma, this.beta, this.eps, y);
      this.outAbs = Math.max(this.outAbs, absMax(y));
      return;
    }
    const p = this.p!;
    await this.integer(io.x, io.y, total, this.scales!.inScale, this.scales!.outScale!, true, (px, py) => layerNormRows(this.rt, px, py, rows, n, this.gb[0], this.gb[1], p));
  }
  freezeAt(scales: IvitScales): void {
    const p = layerNormParams(scales.outScale!, this.gamma, this.beta);
    this.dispose();
    this.p = p;
    this.gb = [this.rt.put(p.gam), this.rt.put(p.bet)];
    this.scales = scales;
    this.observing = false;
  }
  dispose(): void {
    if (this.p) for (const p of this.gb) this.rt.free(p);
    this.p = null;
  }
}

/** lowbit.Attention: softmax(scale · Q Kᵀ) V with Shiftmax on int8 scores (uint8 probabilities, scale 1/256). */
export class IvitAttentionLayer extends IvitLayer {
  readonly kind = 'Attention (Shiftmax)';
  readonly op = 'Shiftmax';
  readonly inputs = 3;
  private p: ShiftmaxParams | null = null;
  constructor(rt: Runtime, private readonly scale: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const { heads, m, k, n, dv } = attentionDims(io);
    const total = heads * m * n;
    const rt = this.rt;
    await rt.scoped(async (alloc) => {
      const s = alloc(total * 4 + 16);
      await matmulRows(rt, io.xs[0], io.xs[1], s, heads, m, k, n);
      const sv = rt.view(Float32Array, s, total);
      for (let i = 0; i < total; i++) sv[i] *= this.scale;
      if (this.observing) {
        this.inAbs = Math.max(this.inAbs, absMax(sv));
        await softmaxRows(rt, s, s, heads * m, n);
      } else {
        const p = this.p!;
        await this.integer(s, s, total, this.scales!.inScale, 2 ** -p.bits, false, (px, py) => shiftmaxRows(rt, px, py, heads * m, n, p));
      }
      await matmulRows(rt, s, io.xs[2], io.y, heads, m, n, dv);
    });
  }
  freezeAt(scales: IvitScales): void {
    this.p = shiftmaxParams(scales.inScale);
    this.scales = scales;
    this.observing = false;
  }
}

/** A linear layer built without its x·sigmoid(αx) epilogue, then ShiftGELU on its requantized output. */
export class IvitActLinearLayer extends IvitLayer {
  readonly kind: string;
  readonly op = 'ShiftGELU';
  private p: ShiftGeluParams | null = null;
  constructor(rt: Runtime, readonly inner: ModelLayer, private readonly alpha: number) {
    super(rt);
    this.kind = `${inner.kind} + ShiftGELU`;
    this.scheme = inner.scheme;
    this.weightBytes = inner.weightBytes;
  }
  get layout() {
    return this.inner.layout;
  }
  get inputs() {
    return this.inner.inputs;
  }
  macs(dims: readonly number[]): number {
    return this.inner.macs(dims);
  }
  scratchBytes(dims: readonly number[]): number {
    return this.inner.scratchBytes(dims);
  }
  async run(io: LayerIO): Promise<void> {
    await this.inner.run(io);
    const n = count(io.dims.slice(0, -1)) * this.cols; // io.dims: the input [..., K]; the output rows have cols values
    if (this.observing) {
      const y = this.rt.view(Float32Array, io.y, n);
      this.inAbs = Math.max(this.inAbs, absMax(y));
      for (let i = 0; i < n; i++) y[i] = y[i] / (1 + Math.exp(-this.alpha * y[i]));
      this.outAbs = Math.max(this.outAbs, absMax(y));
      return;
    }
    const p = this.p!;
    await this.integer(io.y, io.y, n, this.scales!.inScale, this.scales!.outScale!, true, (px, py) => shiftGelu(this.rt, px, py, n, p));
  }
  /** the output row length (the layer's N) */
  cols = 0;
  freezeAt(scales: IvitScales): void {
    this.p = shiftGeluParams(scales.inScale, scales.outScale!, this.alpha);
    this.scales = scales;
    this.observing = false;
  }
  dispose(): void {
    this.inner.dispose();
  }
}

/** α of a linear layer's x·sigmoid(αx) epilogue with an identity affine after it (what runs as ShiftGELU), else null */
export function shiftGeluAlpha(spec: LayerSpec): number | null {
  const act = spec.type === 'linear' ? spec.activation : null;
  return act && act.kind === ACTIVATIONS.swish && act.scale.every((v) => v === 1) && act.shift.every((v) => v === 0) ? act.alpha : null;
}

/** The integer-only layers of one quantized model: built by its hooks, frozen after calibration. */
export class IvitLayers {
  readonly layers: IvitLayer[] = [];

  /** `restore`: a loaded model's hook that freezes each new layer at its saved scales (src/model/ivit-saved.ts) */
  constructor(private readonly restore?: (node: GraphNode, layer: IvitLayer) => void) {}

  private add<L extends IvitLayer>(node: GraphNode, layer: L): L {
    this.restore?.(node, layer);
    this.layers.push(layer);
    return layer;
  }

  /** the weightless nodes that run integer-only: LayerNormalization (last axis), lowbit.Attention */
  opLayer = (rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[]): ModelLayer | null => {
    const x = ins[0];
    if (!x || x.type !== 'float32' || x.value) return null;
    let layer: IvitLayer | null = null;
    if (node.domain === '' && node.op === 'LayerNormalization') {
      const axis = (node.attrs.get('axis') as number | undefined) ?? -1, g = ins[1]?.value, b = ins[2]?.value;
      if ((axis !== -1 && axis !== x.dims.length - 1) || !g || (ins[2] && !b) || g.data.length !== x.dims[x.dims.length - 1]) return null;
      layer = new IvitLayerNormLayer(rt, Float32Array.from(g.data), b ? Float32Array.from(b.data) : null, (node.attrs.get('epsilon') as number | undefined) ?? 1e-5);
    } else if (node.domain === 'lowbit' && node.op === 'Attention' && ins.slice(0, 3).every((v) => v && v.type === 'float32' && !v.value)) {
      const axis = node.attrs.get('softmax_axis') as number | undefined;
      if (axis !== undefined && axis !== -1 && axis !== x.dims.length - 1) return null;
      layer = new IvitAttentionLayer(rt, (node.attrs.get('scale') as number | undefined) ?? 1);
    }
    return layer && this.add(node, layer);
  };

  /** a linear layer's x·sigmoid(αx) epilogue as ShiftGELU: wraps `inner` (built without it) */
  actLinear(rt: Runtime, node: GraphNode, inner: ModelLayer, alpha: number, cols: number): ModelLayer {
    const layer = new IvitActLinearLayer(rt, inner, alpha);
    layer.cols = cols;
    return this.add(node, layer);
  }

  freeze(): void {
    for (const l of this.layers) if (l.observing) l.freeze();
  }
}
