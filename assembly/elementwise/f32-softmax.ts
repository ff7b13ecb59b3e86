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

// Scaled dot-product attention for heads [b0, b1), one query row at a time:
//   out[h][i] = softmax(scale * q[h][i] . kT[h]) v[h]
// q [B][m][k], kT [B][k][n] (keys already transposed, as exporters' graphs have them), v [B][n][dv],
// out [B][m][dv]; scratch holds n floats per head (rows of scores). Scores, exp and sums in the
// order of the separate MatMul / Softmax / MatMul kernels (f32_matmul_rows, f32_softmax_rows).
export function f32_attention_rows(b0: i32, b1: i32, m: i32, k: i32, n: i32, dv: i32, scale: f32, q: usize, kT: usize, v: usize, out: usize, scratch: usize): void {
  const n4 = n & ~3, dv4 = dv & ~3;
  const vs = f32x4.splat(scale);
  for (let h = b0; h < b1; h++) {
    const qh = q + (<usize>(h * m * k) << 2), kh = kT + (<usize>(h * k * n) << 2), vh = v + (<usize>(h * n * dv) << 2);
    const s = scratch + (<usize>(h * n) << 2);
    for (let i = 0; i < m; i++) {
      const qr = qh + (<usize>(i * k) << 2);
      // scores
      for (let j = 0; j < n4; j += 4) {
        let acc = f32x4.splat(0);
        for (let t = 0; t < k; t++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(qr + (<usize>t << 2)), v128.load(kh + (<usize>(t * n + j) << 2))));
        v128.store(s + (<usize>j << 2), f32x4.mul(acc, vs));
      }
      for (let j = n4; j < n; j++) {
        let acc: f32 = 0;
        for (let t = 0; t < k; t++) acc += load<f32>(qr + (<usize>t << 2)) * load<f32>(kh + (<usize>(t * n + j) << 2));
        store<f32>(s + (<usize>j << 2), acc * scale);
      }
      f32_softmax_rows(s, 1, n, s);
      // weighted sum of values
      const orow = out + (<usize>((h * m + i) * dv) << 2);
      for (let d = 0; d < dv4; d += 4) {
        let acc = f32x4.splat(0);
        for (let j = 0; j < n; j++) acc = f32x4.add(acc, f32x4.mul(v128.load32_splat(s + (<usize>j << 2)), v128.load(vh + (<usize>(j * dv + d) << 2))));
        v128.store(orow + (<usize>d << 2), acc);
      }
      for (let d = dv4; d < dv; d++) {
        let acc: f32 = 0;
        for (let j = 0; j < n; j++) acc += load<f32>(s + (<usize>j << 2)) * load<f32>(vh + (<usize>(j * dv + d) << 2));
        store<f32>(orow + (<usize>d << 2), acc);
      }
    }
  }
}
