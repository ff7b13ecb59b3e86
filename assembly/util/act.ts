// Activation functions on f32x4 lanes, shared by the activation pass (elementwise/f32-act.ts) and
// the GEMM epilogues that apply them in registers. Plain mul/add only (no FMA), so the same bits
// come out on every CPU and in both builds.
// kind: 0 identity, 1 relu, 2 hardswish, 3 swish (x * sigmoid(alpha x)), 4 sigmoid(alpha x),
//       5 hardsigmoid (clamp(alpha x + beta, 0, 1)), 6 clip(alpha = lo, beta = hi),
//       7 leaky relu with a floor: max(x < 0 ? alpha x : x, beta) (beta = -inf: plain leaky relu).
// exp() is a degree-7 polynomial after range reduction to [-ln2/2, ln2/2]: relative error below
// 3e-7 (measured 2.5e-7 over [-87, 88]; test/conv2d.test.ts checks the sigmoid built on it).

@inline export function vexp(x: v128): v128 {
  // clamp so 2^n stays a normal float
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.0)), f32x4.splat(88.0));
  const n = f32x4.nearest(f32x4.mul(xc, f32x4.splat(1.4426950408889634)));
  // r = x - n ln2, ln2 split in two for accuracy
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(0.693145751953125)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.splat(1.9841270e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3888889e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3333333e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1666667e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666667e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const pow2 = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, pow2);
}

@inline export function vsigmoid(x: v128): v128 {
  const one = f32x4.splat(1.0);
  return f32x4.div(one, f32x4.add(one, vexp(f32x4.neg(x))));
}

@inline export function act(kind: i32, x: v128, alpha: v128, beta: v128): v128 {
  const zero = f32x4.splat(0), one = f32x4.splat(1.0);
  switch (kind) {
    case 1: return f32x4.pmax(x, zero);
    case 2: return f32x4.mul(x, f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, f32x4.splat(<f32>(1.0 / 6.0))), f32x4.splat(0.5)), zero), one));
    case 3: return f32x4.mul(x, vsigmoid(f32x4.mul(x, alpha)));
    case 4: return vsigmoid(f32x4.mul(x, alpha));
    case 5: return f32x4.pmin(f32x4.pmax(f32x4.add(f32x4.mul(x, alpha), beta), zero), one);
    case 6: return f32x4.pmin(f32x4.pmax(x, alpha), beta);
    case 7: return f32x4.pmax(v128.bitselect(f32x4.mul(x, alpha), x, f32x4.lt(x, zero)), beta);
    default: return x;
  }
}

