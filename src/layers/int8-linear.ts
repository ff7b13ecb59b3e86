// The int8 user layer's runner: int8 weights per output channel (8 or 7 bits), activations quantized
// at run time per tensor (asymmetric uint8, ONNX DynamicQuantizeLinear's rule) or per row
// (symmetric int8), or with a static scale and zero point calibrated beforehand. 7-bit weights run
// through the relaxed build's faster dot product (same results on every engine either way).
//
// One forward is: x copied into the layer's arena, one wasm pass for the range (with the NaN check),
// one wasm pass that quantizes and stages for the GEMM (c2; the c4 layout quantizes, and the GEMM
// stages its bytes), the GEMM writing float32 into the arena, and the copy out. Nothing is allocated
// on the heap per call: the arena (linear-arena.ts) is kept between calls and grows with M.

import { ValueRangeError } from '../errors.js';
import { hasExpAtLeast } from '../kernels/q8.js';
import { packQs8, qs8Gemm, qs8StageF32, type Qs8Weights } from '../kernels/qs8.js';
import type { ActivationQuant } from '../quant/activation-range.js';
import { dynamicQuantParams } from '../quant/q8.js';
import type { KernelHost } from '../runtime/host.js';
import { LinearArena } from './linear-arena.js';
import type { LinearRunner } from './linear-runner.js';
import { checkStaticRange, staticInputRange, staticLimit } from './nonfinite.js';

export type ActivationScheme = 'dynamic-per-tensor' | 'dynamic-per-row' | 'static';

const NON_FINITE = 'x: contains NaN or Infinity';

export class Int8LinearRunner implements LinearRunner {
  private readonly w: Qs8Weights;
  private readonly arena: LinearArena;
  /** 'static': the calibrated range, and the 2^16x-beyond limit a finite input is refused at (as the model layer) */
  private readonly range: [number, number] | null;
  private readonly limit: { limit: number; bits: number };

  /** q [K, N] int8 with one scale per column; `input`: the static activation parameters ('static') */
  constructor(
    private readonly rt: KernelHost, private readonly k: number, q: Int8Array, private readonly n: number, private readonly scales: Float32Array,
    private readonly bias: Float32Array | null, private readonly activations: ActivationScheme, private readonly input: ActivationQuant | null, private readonly relu: boolean,
  ) {
    this.w = packQs8(rt, q, k, n, new Int32Array(n));
    this.arena = new LinearArena(rt, (m) => this.regions(m));
    this.range = staticInputRange({ input });
    this.limit = staticLimit(this.range);
  }

  get weightBytes(): number {
    return this.w.bytes;
  }

  get layout(): string {
    return this.w.layout;
  }

  /** every scheme measures its input in wasm (range or NaN check), so the layer skips its own scan */
  get checksInputs(): boolean {
    return true;
  }

  /** the arena's regions for M rows, in bytes (see LinearArena) */
  private regions(m: number): Record<string, number> {
    const { kp, np } = this.w;
    return {
      x: m * this.k * 4 + 16,
      // c2: int16 staged rows; c4: the uint8/int8 quantized rows the GEMM stages itself
      staged: this.w.layout === 'c2' ? m * kp * 2 : m * this.k + 16,
      out: m * this.n * 4,
      // row sums, row scales, zero zero points (c4 per row), min/max, scale and zero point
      small: m * 12 + 64,
      // qs8Gemm's own scratch: the c4 staging and row sums, and its params block and per-column arrays
      gemm: (this.w.layout === 'c2' ? 0 : m * kp + m * 4 + 64) + 8 * (np * 4 + 64) + m * 4 + 1024,
    };
  }

  async forward(x: Float32Array, m: number): Promise<Float32Array> {
    const { rt, k, n, w } = this;
    const kern = rt.kernels;
    const c2 = w.layout === 'c2';
    return this.arena.use(m, async (r, gemmAlloc) => {
      rt.view(Float32Array, r.x, x.length).set(x);
      const rowSum = r.small, scales = r.small + m * 4, zeros = r.small + m * 8, aux = r.small + m * 12;
      let za = 0, signed = false;
      let rowScale: Float32Array;
      if (this.activations === 'dynamic-per-row') {
        // symmetric int8 per row: scale_m = max|x_m| / 127
        const bad = c2 ? kern.qs8_stage_f32_rows_c2(m, k, w.kp, r.x, k * 4, scales, r.staged, rowSum) : kern.qs8_row_scales(m, k, r.x, k * 4, scales);
        if (bad) throw new ValueRangeError(`x: row ${bad - 1} contains NaN or Infinity`);
        if (!c2) {
          rt.view(Int32Array, zeros, m).fill(0);
          kern.q8_quantize_f32(r.x, 1, m, k, scales, zeros, 1, r.staged);
          signed = true;
        }
        rowScale = rt.read(Float32Array, scales, m);
      } else {
        let params = this.input;
        if (!params) {
          if (kern.f32_minmax_finite(r.x, x.length, aux)) throw new ValueRangeError(NON_FINITE);
          const [lo, hi] = rt.view(Float32Array, aux, 2);
          params = dynamicQuantParams(lo, hi, 0, 255);
        } else if (hasExpAtLeast(rt, r.x, x.length, this.limit.bits)) {
          // rare: non-finite, or finite but far past the calibrated range (saturating it would answer wrong)
          if (x.some((v) => !Number.isFinite(v))) throw new ValueRangeError(NON_FINITE);
          if (this.range) checkStaticRange('x', x, k, this.limit.limit, this.range);
        }
        if (c2) qs8StageF32(rt, w, m, r.x, k * 4, params.scale, params.zeroPoint, r.staged, rowSum);
        else {
          rt.view(Float32Array, aux, 1)[0] = params.scale;
          rt.view(Int32Array, aux + 4, 1)[0] = params.zeroPoint;
          kern.q8_quantize_f32(r.x, 1, 1, x.length, aux, aux + 4, 0, r.staged);
          za = params.zeroPoint;
        }
        rowScale = new Float32Array(m).fill(params.scale);
      }
      await qs8Gemm(rt, gemmAlloc, {
        m, a: r.staged, signed, za, w, staged: c2 ? { ptr: r.staged, rowSum } : undefined,
        output: { kind: 'float32', colScale: this.scales, rowScale, bias: this.bias ?? undefined, relu: this.relu }, out: r.out, outStride: n * 4,
      });
      return rt.read(Float32Array, r.out, m * n);
    });
  }

  dispose(): void {
    this.arena.dispose();
    this.w.dispose();
  }
}
