// int8-dynamic's GEMM: int8's weights (per-channel symmetric) on the dynamically quantized int8 GEMM
// (gemm-qs8-dynamic.ts), whose input scale and zero point are taken per run from the input's own
// range by ONNX DynamicQuantizeLinear's rule (uint8, the range widened to include 0). The range is
// the whole input tensor's, as DynamicQuantizeLinear sees it:
//   run: the M x K rows (a MatMul's input, a 1x1 convolution's image);
//   runGathered: the image the im2col rows came from (a strided conv may skip pixels; the padding is 0);
//   the staged and direct convolution paths: the image (or the zero-bordered image) they stage.
// So a layer equals DynamicQuantizeLinear -> MatMulInteger/ConvInteger -> Cast -> Mul(x_scale * w_scale)
// -> bias, bit for bit (the int8 format's reference with the run's scale and zero point).

import { ValueRangeError } from '../errors.js';
import { minMaxF32Now } from '../kernels/q8.js';
import type { EpilogueActivation } from '../kernels/qs8.js';
import { dynamicQuantParams } from '../quant/q8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ConvActivation } from './activation.js';
import type { GemmImpl, StagedConv } from './gemm.js';
import type { Int8Weights } from './gemm-qs8.js';
import { DynamicQs8Gemm, type DynamicInput } from './gemm-qs8-dynamic.js';

/** DynamicQuantizeLinear's scale and zero point for a range; a typed error where it has none (NaN, or a span past float32). */
export function perRunInput(lo: number, hi: number): DynamicInput {
  const q = dynamicQuantParams(lo, hi, 0, 255);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !Number.isFinite(q.scale) || !(q.scale > 0)) {
    throw new ValueRangeError(`x: int8-dynamic quantizes its input by its range, and [${lo}, ${hi}] has no uint8 scale (NaN, infinite, or a span past float32's largest value): scale ${q.scale}`);
  }
  return q;
}

export class PerRunQs8Gemm implements GemmImpl {
  readonly k: number;
  readonly n: number;
  private readonly inner: DynamicQs8Gemm;
  /** 8 bytes for the range kernel's result (the staged path cannot await a scoped allocation) */
  private readonly minmax: number;

  constructor(private readonly rt: Runtime, w: Int8Weights, bias: Float32Array | null, activation: ConvActivation | null) {
    this.k = w.k;
    this.n = w.n;
    const act: EpilogueActivation | undefined = activation ? { kind: activation.kind, alpha: activation.alpha, beta: activation.beta, scale: activation.scale, shift: activation.shift } : undefined;
    this.inner = new DynamicQs8Gemm(rt, w.q, w.k, w.n, new Int32Array(w.n), w.scales, bias, act);
    this.minmax = rt.alloc(16);
  }

  get weightBytes(): number {
    return this.inner.weightBytes;
  }

  get layout(): string {
    return this.inner.layout;
  }

  /** the input quantization of the last run, for tests */
  get input(): DynamicInput {
    return this.inner.input;
  }

  scratchBytes(m: number): number {
    return this.inner.scratchBytes(m);
  }

  /** sets the inner GEMM's scale and zero point from the range of `count` floats at x */
  private quantizeBy(x: number, count: number): void {
    const [lo, hi] = count === 0 ? [0, 0] : minMaxF32Now(this.rt, x, count, this.minmax);
    this.inner.setInput(perRunInput(lo, hi));
  }

  run(m: number, x: number, y: number, scratch: number): Promise<void> {
    this.quantizeBy(x, m * this.k);
    return this.inner.run(m, x, y, scratch);
  }

  runGathered(m: number, x: number, y: number, scratch: number, source: number, count: number): Promise<void> {
    this.quantizeBy(source, count);
    return this.inner.run(m, x, y, scratch);
  }

  stagedConv(c: number): StagedConv | null {
    const st = this.inner.stagedConv(c);
    if (!st) return null;
    // the image's range first: its staging, the gather and the GEMM after it use that run's quantization
    return { ...st, stagePixels: (pixels, x, out, sums) => (this.quantizeBy(x, pixels * c), st.stagePixels(pixels, x, out, sums)) };
  }

  dispose(): void {
    this.rt.free(this.minmax);
    this.inner.dispose();
  }
}
