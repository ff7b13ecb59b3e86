// The int8 user layer's runner: int8 weights per output channel (8 or 7 bits), activations quantized
// at run time per tensor (asymmetric uint8, ONNX DynamicQuantizeLinear's rule) or per row
// (symmetric int8), or with a static scale and zero point calibrated beforehand. 7-bit weights run
// through the relaxed build's faster dot product (same results on every engine either way).

import { ValueRangeError } from '../errors.js';
import { minMaxF32, quantizeQ8 } from '../kernels/q8.js';
import { packQs8, runQs8, type Qs8Weights } from '../kernels/qs8.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { dynamicQuantParams } from '../quant/q8.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LinearRunner } from './linear-runner.js';

export type ActivationScheme = 'dynamic-per-tensor' | 'dynamic-per-row' | 'static';

export class Int8LinearRunner implements LinearRunner {
  private readonly w: Qs8Weights;

  /** q [K, N] int8 with one scale per column; `input`: the static activation parameters ('static') */
  constructor(
    private readonly rt: Runtime, private readonly k: number, q: Int8Array, n: number, private readonly scales: Float32Array,
    private readonly bias: Float32Array | null, private readonly activations: ActivationScheme, private readonly input: ActivationQuant | null, private readonly relu: boolean,
  ) {
    this.w = packQs8(rt, q, k, n, new Int32Array(n));
  }

  get weightBytes(): number {
    return this.w.bytes;
  }

  get layout(): string {
    return this.w.layout;
  }

  /** dynamic ranges are measured on every input: a NaN or infinity shows there (static ones measure nothing) */
  get checksInputs(): boolean {
    return this.activations !== 'static';
  }

  async forward(x: Float32Array, m: number): Promise<Float32Array> {
    const rt = this.rt, k = this.k;
    const common = { kind: 'float32' as const, colScale: this.scales, bias: this.bias ?? undefined, relu: this.relu };
    if (this.activations === 'dynamic-per-row') {
      // symmetric int8 per row: scale_m = max|x_m| / 127
      const rowScale = new Float32Array(m);
      for (let i = 0; i < m; i++) {
        let a = 0;
        for (let j = i * k; j < (i + 1) * k; j++) a = Math.max(a, Math.abs(x[j]));
        if (!Number.isFinite(a)) throw new ValueRangeError(`x: row ${i} contains NaN or Infinity`);
        rowScale[i] = a > 0 ? Math.fround(a / 127) : 1;
      }
      const q = await quantizeQ8(rt, x, { outer: 1, channels: m, inner: k }, rowScale, new Int32Array(m), true);
      return (await runQs8(rt, q, m, 0, this.w, { ...common, rowScale })) as Float32Array;
    }
    let params = this.input;
    if (!params) {
      const [lo, hi] = await minMaxF32(rt, x);
      if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new ValueRangeError('x: contains NaN or Infinity');
      params = dynamicQuantParams(lo, hi, 0, 255);
    }
    const q = await quantizeQ8(rt, x, { outer: 1, channels: 1, inner: x.length }, Float32Array.of(params.scale), Int32Array.of(params.zeroPoint), false);
    return (await runQs8(rt, q, m, params.zeroPoint, this.w, { ...common, rowScale: new Float32Array(m).fill(params.scale) })) as Float32Array;
  }

  dispose(): void {
    this.w.dispose();
  }
}
