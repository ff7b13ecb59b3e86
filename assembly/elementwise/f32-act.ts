// float32 activations with a per-channel affine after them (the "f32_act" family):
//   y[p][c] = act(x[p][c]) * scale[c] + shift[c]      (x, y channels-last: pixels of c floats)
// act: 0 identity, 1 relu, 2 hardswish, 3 swish (x * sigmoid(alpha x)), 4 sigmoid(alpha x),
//      5 hardsigmoid (clamp(alpha x + beta, 0, 1)), 6 clip(alpha = lo, beta = hi),
//      7 leaky relu with a floor (max(x < 0 ? alpha x : x, beta)).
// scale/shift hold c floats (c rounded up to 4, padded). In place (x == y) is fine.
// The activations themselves are in util/act.ts (the GEMM epilogues apply the same ones).

import { act } from '../util/act';

export function f32_act_nhwc(x: usize, pixels: i32, c: i32, kind: i32, alpha: f32, beta: f32, scale: usize, shift: usize, y: usize): void {
  const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
  const c4 = c & ~3;
  const rowBytes = <usize>c << 2;
  for (let p = 0; p < pixels; p++) {
    const xr = x + <usize>p * rowBytes, yr = y + <usize>p * rowBytes;
    for (let ch = 0; ch < c4; ch += 4) {
      const o = <usize>ch << 2;
      const v = act(kind, v128.load(xr + o), va, vb);
      v128.store(yr + o, f32x4.add(f32x4.mul(v, v128.load(scale + o)), v128.load(shift + o)));
    }
    if (c4 < c) {
      // tail lanes one at a time through lane 0 of a vector, so they round exactly like the rest
      for (let ch = c4; ch < c; ch++) {
        const o = <usize>ch << 2;
        const v = act(kind, f32x4.splat(load<f32>(xr + o)), va, vb);
        store<f32>(yr + o, f32x4.extract_lane(v, 0) * load<f32>(scale + o) + load<f32>(shift + o));
      }
    }
  }
}
