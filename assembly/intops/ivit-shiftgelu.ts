// ShiftGELU (I-ViT): y = x · sigmoid(alpha · x) on int8 x with input scale s, int8 out with scale so.
// alpha = 1.702 gives GELU; alpha = 1 gives Swish (SiLU), as PP-OCRv4's SVTR mixer has it. I-ViT
// multiplies by 1.702 with shifts (1.6875); here alpha is folded into the one multiplier that takes
// x onto the Q15 grid anyway (ms / 2^gs ~ alpha * s * 2^15), so any alpha costs the same.
//   a = ShiftExp(-|u|) = e^-|t| in Q15; 1 / (1 + a) by an integer reciprocal: a linear first guess
//   (24/17 - 8/17 d, d = 1 + a in [1, 2]: within 1/17) and two Newton steps y <- y (2 - d y), all in Q14 i32 lanes;
//   sigmoid(t) = 1/(1+a) for t >= 0, a/(1+a) = 1 - 1/(1+a) below;
//   y = round(x · sigmoid · mo / 2^(14 + go)), mo / 2^go ~ s / so (mo < 1024), saturated to int8.

import { IVIT_Q, ivitLoad4, ivitShiftExp, ivitStore4 } from './ivit-common';

export function ivit_shiftgelu(x: usize, count: i32, ms: i32, gs: i32, mo: i32, go: i32, y: usize): void {
  const vms = i32x4.splat(ms), vmo = i32x4.splat(mo);
  const one14 = i32x4.splat(1 << 14), two14 = i32x4.splat(2 << 14);
  const c1 = i32x4.splat(23130), c2 = i32x4.splat(7710); // 24/17, 8/17 in Q14
  const sh = 14 + go;
  const vr = i32x4.splat(1 << (sh - 1));
  for (let j = 0; j < count; j += 4) {
    const r = min(4, count - j);
    const q = ivitLoad4(x + <usize>j, r);
    const u = i32x4.shr_s(i32x4.mul(q, vms), gs);
    const a = ivitShiftExp(i32x4.neg(i32x4.abs(u)));
    const d = i32x4.shr_s(i32x4.add(a, i32x4.splat(1 << IVIT_Q)), 1); // 1 + a in Q14: [2^14, 2^15]
    let inv = i32x4.sub(c1, i32x4.shr_s(i32x4.mul(c2, d), 14));
    inv = i32x4.shr_s(i32x4.mul(inv, i32x4.sub(two14, i32x4.shr_s(i32x4.mul(d, inv), 14))), 14);
    inv = i32x4.shr_s(i32x4.mul(inv, i32x4.sub(two14, i32x4.shr_s(i32x4.mul(d, inv), 14))), 14);
    const sig = v128.bitselect(inv, i32x4.sub(one14, inv), i32x4.ge_s(u, i32x4.splat(0)));
    const out = i32x4.shr_s(i32x4.add(i32x4.mul(i32x4.mul(q, sig), vmo), vr), sh);
    ivitStore4(y + <usize>j, i32x4.max_s(i32x4.min_s(out, i32x4.splat(127)), i32x4.splat(-128)), r);
  }
}
