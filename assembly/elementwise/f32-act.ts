// float32 activations with a per-channel affine after them (the "f32_act" family):
//   y[p][c] = act(x[p][c]) * scale[c] + shift[c]      (x, y channels-last: pixels of c floats)
// act: 0 identity, 1 relu, 2 hardswish, 3 swish (x * sigmoid(alpha x)), 4 sigmoid(alpha x),
//      5 hardsigmoid (clamp(alpha x + beta, 0, 1)), 6 clip(alpha = lo, beta = hi).
// scale/shift hold c floats (c rounded up to 4, padded). In place (x == y) is fine.
// exp() is a degree-6 polynomial after range reduction to [-ln2/2, ln2/2]: relative error below
// 2e-7, the same bits on every CPU (plain mul/add, no FMA).

@inline function vexp(x: v128): v128 {
  // clamp so 2^n stays a normal float
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.4426950408889634)));
  // r = x - n ln2, ln2 split in two for accuracy
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693145751953125)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.splat(1.3888889e-3);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3333333e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1666667e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666667e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2);
}

@inline function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

@inline function act(kind: i32, x: v128, alpha: v128, beta: v128): v128 {
  const zero = f32x4.splat(0), one = f32x4.splat(1.0);
  switch (kind) {
    case 1: return f32x4.pmax(x, zero);
    case 2: return f32x4.mul(x, f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, f32x4.splat(<f32>(1.0 / 6.0))), f32x4.splat(0.5)), zero), one));
    case 3: return f32x4.mul(x, vsigmoid(f32x4.mul(x, alpha)));
    case 4: return vsigmoid(f32x4.mul(x, alpha));
    case 5: return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, alpha), beta), zero), one);
    case 6: return f32x4.pmin(f32x4.pmax(x, alpha), beta);
    default: return x;
  }
}

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
