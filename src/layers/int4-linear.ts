// The int4 user layer's runner: 4-bit weights in blocks along K (qb4 kernels), activations quantized
// to int8 on the fly per block of K (like ggml's Q8_0; the default) or per row, or kept in float32
// (W4A32: nibbles decoded to floats in registers; no activation error, about five times slower).

import { packQb4, runQb4, runQb4F32, type ActivationBlocks, type Qb4Weights } from '../kernels/qb4.js';
import type { Int4Blocks } from '../quant/int4.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LinearRunner } from './linear-runner.js';
import { hugeRowsOf, scaleRows, unscaleRows } from './huge-rows.js';

/** How a 4-bit layer treats its inputs: int8 with a scale per block of K or per row, or float32. */
export type Int4Activations = ActivationBlocks | 'float32';

export class Int4LinearRunner implements LinearRunner {
  private readonly w: Qb4Weights;

  constructor(private readonly rt: Runtime, blocks: Int4Blocks, private readonly bias: Float32Array | null, readonly activations: Int4Activations) {
    this.w = packQb4(rt, blocks);
  }

  get weightBytes(): number {
    return this.w.bytes;
  }

  get layout(): string {
    return this.w.layout;
  }

  /** int8 activations: the wasm pass that measures each row or block refuses NaN and infinities (its
   * max propagates NaN), so the layer skips its own scan of x (~5% of a 512x512x512 forward) */
  get checksInputs(): boolean {
    return this.activations !== 'float32';
  }

  async forward(x: Float32Array, m: number): Promise<Float32Array> {
    const y = await this.run(x, m);
    for (let i = 0; i < y.length; i++) if (!Number.isFinite(y[i])) return this.rerunHuge(x, m, y);
    return y;
  }

  /** a non-finite output from finite rows is float32 overflow inside the kernel (|x| near 3.4e38):
   * those rows again, scaled by a power of two (huge-rows.ts) */
  private async rerunHuge(x: Float32Array, m: number, y: Float32Array): Promise<Float32Array> {
    const k = this.w.k, n = this.w.n;
    const rows = hugeRowsOf(x, m, k);
    if (!rows) return y;
    const xs = x.slice();
    scaleRows(xs, rows, k);
    const ys = await this.run(xs, m);
    unscaleRows(ys, rows, n, this.bias);
    for (const { row } of rows) y.set(ys.subarray(row * n, (row + 1) * n), row * n);
    return y;
  }

  private run(x: Float32Array, m: number): Promise<Float32Array> {
    if (this.activations === 'float32') return runQb4F32(this.rt, x, m, this.w, this.bias);
    return runQb4(this.rt, x, m, this.w, { bias: this.bias, activations: this.activations });
  }

  dispose(): void {
    this.w.dispose();
  }
}
