// The activation (and per-channel affine after it) that a convolution layer applies to its output,
// channels-last, in place: assembly/elementwise/f32-act.ts. ReLU and clip with nothing after them
// need no pass of their own: the caller's kernel clamps in its epilogue instead (see `clamp`).

import { activateNhwc } from '../kernels/elementwise.js';
import type { Runtime } from '../runtime/runtime.js';

/** An activation then a per-channel affine (codes: assembly/elementwise/f32-act.ts). */
export interface ConvActivation {
  kind: number;
  alpha: number;
  beta: number;
  scale: Float32Array;
  shift: Float32Array;
}

export class ChannelActivation {
  /** bounds for an epilogue clamp ([-inf, inf] when the pass below does the work) */
  readonly clamp: [number, number] = [-Infinity, Infinity];
  private ptr = 0;

  constructor(private readonly rt: Runtime, readonly channels: number, readonly activation: ConvActivation | null, epilogueClamp = true) {
    if (!activation) return;
    const plain = activation.scale.every((v) => v === 1) && activation.shift.every((v) => v === 0);
    if (epilogueClamp && plain && (activation.kind === 1 || activation.kind === 6)) {
      this.clamp = activation.kind === 1 ? [0, Infinity] : [activation.alpha, activation.beta];
      return;
    }
    const cp = Math.ceil(channels / 4) * 4;
    this.ptr = rt.alloc(2 * cp * 4);
    const v = rt.view(Float32Array, this.ptr, 2 * cp);
    v.fill(0);
    v.set(activation.scale, 0);
    v.set(activation.shift, cp);
  }

  /** y[pixels][channels] = act(y) * scale + shift, in place, split across threads by pixels. */
  apply(y: number, pixels: number): Promise<void> | void {
    // nothing to do: no promise either (a decode step's layers run synchronously)
    if (!this.ptr) return;
    const { kind, alpha, beta } = this.activation!;
    const c = this.channels, cp = Math.ceil(c / 4) * 4;
    return activateNhwc(this.rt, { x: y, y, pixels, channels: c, kind, alpha, beta, scale: this.ptr, shift: this.ptr + cp * 4 });
  }

  dispose(): void {
    if (this.ptr) this.rt.free(this.ptr);
    this.ptr = 0;
  }
}
