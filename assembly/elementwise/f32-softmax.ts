// float32 softmax over the last axis (the "f32_softmax" family): rows of n values,
// y = exp(x - max) / sum(exp(x - max)). exp is util/act.ts's polynomial (relative error < 2e-7);
// the sum runs in four lanes then adds them in a fixed order, so results are the same everywhere.

import { vexp } from '../util/act';

export function f32_softmax_rows(x: usize, rows: i32, n: i32, y: usize): void {
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>r * <usize>n << 2), yr = y + (<usize>r * <usize>n << 2);
    let vm = f32x4.splat(-Infinity);
    for (let j = 0; j < n4; j += 4) vm = f32x4.pmax(vm, v128.load(xr + (<usize>j << 2)));
    let m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
    for (let j = n4; j < n; j++) m = max(m, load<f32>(xr + (<usize>j << 2)));
    const vmax = f32x4.splat(m);
    let vs = f32x4.splat(0);
    for (let j = 0; j < n4; j += 4) {
      const e = vexp(f32x4.sub(v128.load(xr + (<usize>j << 2)), vmax));
      v128.store(yr + (<usize>j << 2), e);
      vs = f32x4.add(vs, e);
    }
    let s = (f32x4.extract_lane(vs, 0) + f32x4.extract_lane(vs, 1)) + (f32x4.extract_lane(vs, 2) + f32x4.extract_lane(vs, 3));
    for (let j = n4; j < n; j++) {
      const e = f32x4.extract_lane(vexp(f32x4.splat(load<f32>(xr + (<usize>j << 2)) - m)), 0);
      store<f32>(yr + (<usize>j << 2), e);
      s += e;
    }
    const inv = f32x4.splat(<f32>1.0 / s);
    for (let j = 0; j < n4; j += 4) v128.store(yr + (<usize>j << 2), f32x4.mul(v128.load(yr + (<usize>j << 2)), inv));
    const invs = <f32>1.0 / s;
    for (let j = n4; j < n; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * invs);
  }
}
