// The layers of lowbit.DynamicQuantConv and DynamicQuantMatMul (quantize_dynamic's chains, made by
// src/model/fuse-dyn-quant.ts) on the int8 GEMM (src/layers/gemm-qs8-dynamic.ts): per run, x's range (f32_minmax) gives
// DynamicQuantizeLinear's scale and zero point; x is quantized while staged (qs8_stage_f32_c2: x /
// scale rounded half to even, as QuantizeLinear does); the GEMM's integer sums are exact, and its
// float32 epilogue is the Cast, the Mul by x_scale * w_scale, the bias Add and the activation, each
// rounded as those nodes round. So the layer's output equals the chain's (dyn-quant-ops.ts compute();
// activations other than relu, clip and leaky relu within their wasm approximation).
// Grouped convolutions take the float32 conv, whose sums of these integers are exact (see
// DynamicQuantGroupConvLayer). Group-1 convolutions: 2-D, through Conv2dGemm (src/layers/conv2d-gemm.ts):
// pixels staged once and read in place (qs8-conv-direct) or gathered, or (under 8 channels) a float32
// im2col; its zero padding quantizes to the zero point and so adds nothing, as ConvInteger's padding does.

import { ValueRangeError } from '../errors.js';
import { minMaxF32At, refQuantize } from '../kernels/q8.js';
import type { EpilogueActivation } from '../kernels/qs8.js';
import { DynamicQs8Gemm } from '../layers/gemm-qs8-dynamic.js';
import { ACTIVATIONS, type ActivationName } from './fuse.js';
import { Conv2dF32, convOutSize, type ConvGeometry } from '../layers/conv2d.js';
import { Conv2dGemm, convWeightsNK, transposeKN } from '../layers/conv2d-gemm.js';
import { dynamicQuantParams } from '../quant/q8.js';
import type { Runtime } from '../runtime/runtime.js';
import { nodeLabel, type GraphNode, type HostData } from './graph.js';
import type { LayerIO, ModelLayer } from './layers.js';
import { convSpec } from './ops/linear-ops.js';
import { applyActivation } from './ops/lowbit-ops.js';
import type { ValueInfo } from './ops/types.js';

const count = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

/** n values from a scalar or n-vector constant */
const perColumn = (data: HostData | undefined, n: number): Float64Array => (!data ? new Float64Array(n) : data.length === 1 ? new Float64Array(n).fill(data[0]) : Float64Array.from(data));

/** DynamicQuantizeLinear's scale and zero point for the `n` floats at x (its range, which then includes 0). */
async function quantParams(rt: Runtime, x: number, n: number, label: string): Promise<{ scale: number; zeroPoint: number }> {
  const [lo, hi] = n === 0 ? [0, 0] : await minMaxF32At(rt, x, n);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError(`${label}: x: needs finite values, got range [${lo}, ${hi}] (NaN or Infinity in the input)`);
  return dynamicQuantParams(lo, hi, 0, 255);
}

abstract class DynamicQuantLayer implements ModelLayer {
  readonly scheme = 'int8 (dynamic, from the model)';
  constructor(protected readonly rt: Runtime, protected readonly gemm: DynamicQs8Gemm, protected readonly label: string) {}
  abstract readonly kind: string;
  abstract macs(dims: readonly number[]): number;
  abstract scratchBytes(dims: readonly number[]): number;
  get weightBytes(): number {
    return this.gemm.weightBytes;
  }
  protected async setInput(io: LayerIO): Promise<void> {
    this.gemm.setInput(await quantParams(this.rt, io.x, count(io.dims), this.label));
  }
  abstract run(io: LayerIO): Promise<void>;
  dispose(): void {
    this.gemm.dispose();
  }
}

class DynamicQuantConvLayer extends DynamicQuantLayer {
  readonly layout = 'nhwc';
  private readonly conv: Conv2dGemm;
  constructor(rt: Runtime, private readonly g: ConvGeometry, gemm: DynamicQs8Gemm, label: string) {
    super(rt, gemm, label);
    this.conv = new Conv2dGemm(rt, g, gemm);
  }
  get kind(): string {
    const path = this.conv.direct ? 'direct' : this.conv.staged ? 'staged' : this.conv.im2col ? 'im2col' : 'pointwise';
    return `DynamicQuantConv ${path} ${this.g.kh}x${this.g.kw}`;
  }
  macs(dims: readonly number[]): number {
    const [oh, ow] = convOutSize(this.g, dims[2], dims[3]);
    return dims[0] * oh * ow * this.gemm.n * this.gemm.k;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.conv.scratchBytes(dims[2], dims[3]);
  }
  async run(io: LayerIO): Promise<void> {
    await this.setInput(io);
    await this.conv.run(io.dims[0], io.dims[2], io.dims[3], io.x, io.y, io.scratch);
  }
}

class DynamicQuantLinearLayer extends DynamicQuantLayer {
  readonly kind = 'DynamicQuantMatMul';
  macs(dims: readonly number[]): number {
    return count(dims) * this.gemm.n;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.gemm.scratchBytes(count(dims) / this.gemm.k);
  }
  async run(io: LayerIO): Promise<void> {
    await this.setInput(io);
    await this.gemm.run(count(io.dims) / this.gemm.k, io.x, io.y, io.scratch);
  }
}

/** Below this many taps x input channels per group, integer sums of 8-bit differences are exact in float32 (K * 255² < 2^24). */
const F32_EXACT_TAPS = 258;

/**
 * A grouped (depthwise …) dynamically quantized conv: x quantized to the floats q - x_zero_point,
 * the float32 conv (src/layers/conv2d.ts) with weights w - w_zero_point, whose sums are the exact
 * integers (every product and partial sum is an integer below 2^24), then the chain's float32 steps.
 */
class DynamicQuantGroupConvLayer implements ModelLayer {
  readonly layout = 'nhwc';
  readonly scheme = 'int8 (dynamic, from the model; exact float32 sums)';
  private readonly conv: Conv2dF32;
  constructor(
    private readonly rt: Runtime, private readonly g: ConvGeometry, w: Float32Array, private readonly wScale: Float32Array, private readonly bias: Float32Array | null,
    private readonly act: { name: ActivationName; alpha: number; beta: number } | null, private readonly label: string,
  ) {
    this.conv = new Conv2dF32(rt, g, w, null, null);
  }
  get kind(): string {
    return `DynamicQuantConv ${this.conv.path} ${this.g.kh}x${this.g.kw} (float32 sums)`;
  }
  get weightBytes(): number {
    return this.conv.weightBytes;
  }
  macs(dims: readonly number[]): number {
    const [oh, ow] = convOutSize(this.g, dims[2], dims[3]);
    return dims[0] * oh * ow * this.g.cout * (this.g.cin / this.g.group) * this.g.kh * this.g.kw;
  }
  private xBytes(dims: readonly number[]): number {
    return Math.ceil((count(dims) * 4) / 64) * 64;
  }
  scratchBytes(dims: readonly number[]): number {
    return this.xBytes(dims) + this.conv.scratchBytes(dims[2], dims[3]);
  }
  async run(io: LayerIO): Promise<void> {
    const rt = this.rt, n = count(io.dims);
    const { scale, zeroPoint } = await quantParams(rt, io.x, n, this.label);
    const q = refQuantize(rt.view(Float32Array, io.x, n), { outer: 1, channels: 1, inner: n }, [scale], [zeroPoint], false);
    const xq = rt.view(Float32Array, io.scratch, n);
    for (let i = 0; i < n; i++) xq[i] = q[i] - zeroPoint;
    const [b, , h, w] = io.dims;
    await this.conv.run(b, h, w, io.scratch, io.y, io.scratch + this.xBytes(io.dims));
    const [oh, ow] = convOutSize(this.g, h, w);
    const cout = this.g.cout, y = rt.view(Float32Array, io.y, b * oh * ow * cout);
    const mult = Float32Array.from(this.wScale, (s) => scale * s);
    for (let i = 0; i < y.length; i++) {
      const c = i % cout;
      const v = Math.fround(y[i] * mult[c]);
      y[i] = this.bias ? v + this.bias[c] : v;
    }
    if (this.act) applyActivation(this.act.name, this.act.alpha, this.act.beta, y, y, y.length);
  }
  dispose(): void {
    this.conv.dispose();
  }
}

/** The layer of a 2-D DynamicQuantConv or DynamicQuantMatMul node with constant weights; null: run it on the host. */
export function dynamicQuantLayerFor(rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[], opset: number): ModelLayer | null {
  const [x, w, wz, ws, b] = ins;
  if (!x || x.type !== 'float32' || x.value || !w?.value || (wz && !wz.value) || !ws?.value || (b && !b.value)) return null;
  const conv = node.op === 'DynamicQuantConv';
  const n = conv ? w.dims[0] : w.dims[1];
  const zw = perColumn(wz?.value?.data, n), wScale = Float32Array.from(perColumn(ws.value.data, n));
  const bias = b ? Float32Array.from(b.value!.data) : null;
  const actName = node.attrs.get('activation') as ActivationName | undefined;
  const act = actName ? { kind: ACTIVATIONS[actName], alpha: node.attrs.get('alpha') as number, beta: node.attrs.get('beta') as number } : undefined;
  const typed = (v: ArrayLike<number>) => (w.type === 'int8' ? Int8Array.from(v) : Uint8Array.from(v));
  const label = nodeLabel(node);
  if (!conv) return new DynamicQuantLinearLayer(rt, new DynamicQs8Gemm(rt, typed(w.value.data), w.dims[0], n, zw, wScale, bias, act), label);
  if (x.dims.length !== 4) return null;
  const sp = convSpec({ node, opset }, x, w);
  const g: ConvGeometry = { cin: sp.cin, cout: sp.cout, group: sp.group, kh: sp.kh, kw: sp.kw, sh: sp.sh, sw: sp.sw, dh: sp.dh, dw: sp.dw, pt: sp.pt, pl: sp.pl, pb: sp.pb, pr: sp.pr };
  if (sp.group !== 1) {
    if (sp.kh * sp.kw * (sp.cin / sp.group) > F32_EXACT_TAPS) return null;
    const per = w.value.data.length / n;
    const wf = Float32Array.from(w.value.data, (v, i) => v - zw[Math.floor(i / per)]);
    return new DynamicQuantGroupConvLayer(rt, g, wf, wScale, bias, actName ? { name: actName, alpha: Math.fround(act!.alpha), beta: Math.fround(act!.beta) } : null, label);
  }
  const k = sp.kh * sp.kw * sp.cin;
  // [M, C, kh, kw] as GEMM columns [K = taps * C][N = M] in im2col order (small integers: exact in float32)
  const b8 = typed(transposeKN(convWeightsNK(Float32Array.from(w.value.data), g), n, k));
  return new DynamicQuantConvLayer(rt, g, new DynamicQs8Gemm(rt, b8, k, n, zw, wScale, bias, act), label);
}
