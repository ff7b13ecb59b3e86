// Layers without weights that run a wasm kernel instead of host code: softmax, pooling, the
// squeeze-excitation channel product, same-shape Add, Concat on channels, matrix products
// between two activations, and a standalone Relu, Clip or LeakyRelu.

import { activateNhwc, addNhwc, attentionRows, averagePoolNhwc, copyRows, globalAveragePoolNhwc, maxPoolNhwc, scaleChannelsNhwc, softmaxRows } from '../kernels/elementwise.js';
import { matmulRows } from '../kernels/f32.js';
import type { Runtime } from '../runtime/runtime.js';
import type { LayerIO, ModelLayer } from './layers.js';

const count = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

abstract class KernelLayer implements ModelLayer {
  readonly scheme = 'float32';
  readonly weightBytes = 0;
  abstract readonly kind: string;
  constructor(protected readonly rt: Runtime) {}
  macs(): number {
    return 0;
  }
  scratchBytes(): number {
    return 0;
  }
  abstract run(io: LayerIO): Promise<void>;
  dispose(): void {}
}


/** Softmax over rows that run from axis `from` to the end, on the wasm kernel; no weights. */
export class SoftmaxLayer extends KernelLayer {
  readonly kind = 'Softmax';
  constructor(rt: Runtime, readonly from: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const n = io.dims.slice(this.from).reduce((a, b) => a * b, 1);
    const rows = io.dims.reduce((a, b) => a * b, 1) / Math.max(n, 1);
    await softmaxRows(this.rt, io.x, io.y, rows, n);
  }
}


/** GlobalAveragePool over channels-last images. */
export class GlobalAveragePoolLayer extends KernelLayer {
  readonly kind = 'GlobalAveragePool';
  readonly layout = 'nhwc';
  async run(io: LayerIO): Promise<void> {
    const [n, c, ...sp] = io.dims;
    const hw = count(sp);
    globalAveragePoolNhwc(this.rt, io.x, io.y, n, hw, c);
  }
}

export interface PoolGeometry {
  kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; oh: number; ow: number; countPad: boolean;
}

/** 2-D AveragePool or MaxPool over channels-last images (output geometry from the plan). */
export class PoolLayer extends KernelLayer {
  readonly layout = 'nhwc';
  constructor(rt: Runtime, readonly kind: 'AveragePool' | 'MaxPool', private readonly g: (dims: readonly number[]) => PoolGeometry) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const [n, c, h, w] = io.dims;
    const g = this.g(io.dims);
    for (let b = 0; b < n; b++) {
      const x = io.x + b * h * w * c * 4, y = io.y + b * g.oh * g.ow * c * 4;
      await (this.kind === 'MaxPool' ? maxPoolNhwc : averagePoolNhwc)(this.rt, x, y, h, w, c, g);
    }
  }
}

/** x [N, C, H, W] (channels-last) times s [N, C, 1, 1]: squeeze-excitation's product. */
export class ChannelScaleLayer extends KernelLayer {
  readonly kind = 'Mul (per channel)';
  readonly layout = 'nhwc';
  readonly inputs = 2;
  /** which input is the image (the other is [N, C, 1, 1]) */
  constructor(rt: Runtime, private readonly image: 0 | 1) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const x = io.xs[this.image], s = io.xs[1 - this.image];
    const [n, c, h, w] = io.inDims[this.image];
    const hw = h * w;
    for (let b = 0; b < n; b++) {
      const xb = x + b * hw * c * 4, yb = io.y + b * hw * c * 4, sb = s + b * c * 4;
      await scaleChannelsNhwc(this.rt, xb, sb, yb, hw, c);
    }
  }
}

/** a + b for two runtime values of one shape (a residual Add), channels-last when 4-D. */
export class AddLayer extends KernelLayer {
  readonly kind = 'Add (same shape)';
  readonly layout = 'nhwc';
  readonly inputs = 2;
  async run(io: LayerIO): Promise<void> {
    const d = io.inDims[0];
    // pixels x channels only picks the thread split: the kernel adds the whole flat array
    const c = d.length === 4 ? d[1] : 1;
    await addNhwc(this.rt, io.xs[0], io.xs[1], io.y, count(d) / c, c);
  }
}

/** Relu (code 1), Clip (6) or LeakyRelu (7) alone (host: 2 ms a step on BlazeFace), flat in rows of 4; scale 1, shift 0 keep the host loop's bits. */
export class ActivationLayer extends KernelLayer {
  readonly layout = 'nhwc';
  private ptr = 0;
  constructor(rt: Runtime, readonly kind: string, private readonly code: number, private readonly alpha: number, private readonly beta: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    if (!this.ptr) this.rt.view(Float32Array, (this.ptr = this.rt.alloc(32)), 8).set([1, 1, 1, 1, 0, 0, 0, 0]);
    const n = count(io.dims), c = n % 4 ? 1 : 4;
    await activateNhwc(this.rt, { x: io.x, y: io.y, pixels: n / c, channels: c, kind: this.code, alpha: this.alpha, beta: this.beta, scale: this.ptr, shift: this.ptr + 16 });
  }
  dispose(): void {
    if (this.ptr) this.rt.free(this.ptr);
    this.ptr = 0;
  }
}

/** Concat of channels-last images along C: each input's pixels go into a slice of every output pixel. */
export class ConcatChannelsLayer extends KernelLayer {
  readonly kind = 'Concat (channels)';
  readonly layout = 'nhwc';
  constructor(rt: Runtime, readonly inputs: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const pixels = count(io.inDims[0]) / io.inDims[0][1];
    const cout = io.inDims.reduce((s, d) => s + d[1], 0);
    let at = 0;
    for (let i = 0; i < io.xs.length; i++) {
      const c = io.inDims[i][1];
      await copyRows(this.rt, io.xs[i], c * 4, io.y + at * 4, cout * 4, pixels, c);
      at += c;
    }
  }
}

/** C[..., m, n] = A[..., m, k] B[..., k, n] for two activations with the same batch dims. */
export class BatchedMatMulLayer extends KernelLayer {
  readonly kind = 'MatMul (activations)';
  readonly inputs = 2;
  async run(io: LayerIO): Promise<void> {
    const [ad, bd] = io.inDims;
    const m = ad[ad.length - 2], k = ad[ad.length - 1], n = bd[bd.length - 1];
    const batch = count(ad.slice(0, -2));
    await matmulRows(this.rt, io.xs[0], io.xs[1], io.y, batch, m, k, n);
  }
}

/** Q [..., m, k], Kᵀ [..., k, n], V [..., n, dv]: the leading dimensions multiply into heads. */
export function attentionDims(io: LayerIO): { heads: number; m: number; k: number; n: number; dv: number } {
  const [qd, kd, vd] = io.inDims;
  const r = qd.length;
  return { heads: count(qd.slice(0, -2)), m: qd[r - 2], k: qd[r - 1], n: kd[r - 1], dv: vd[r - 1] };
}

/** Fused attention: softmax(scale · Q Kᵀ) V, heads split across threads (src: lowbit.Attention). */
export class AttentionLayer extends KernelLayer {
  readonly kind = 'Attention';
  readonly inputs = 3;
  constructor(rt: Runtime, private readonly scale: number) {
    super(rt);
  }
  async run(io: LayerIO): Promise<void> {
    const { heads, m, k, n, dv } = attentionDims(io);
    await attentionRows(this.rt, { q: io.xs[0], kT: io.xs[1], v: io.xs[2], out: io.y, heads, m, k, n, dv, scale: this.scale });
  }
}
