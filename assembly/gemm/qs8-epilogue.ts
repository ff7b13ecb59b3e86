// The qs8 epilogue, shared by every qs8 microkernel (assembly/gemm/qs8.ts, qs8-w16.ts): one vector
// of 4 int32 accumulators -> int32, requantized 8-bit, or dequantized float32 output (the params
// block QS8_PRM_*). Not exported from the module: each kernel inlines it.

import { act } from '../util/act';
// the params block at prm: QS8_PRM_* (byte offsets, written by the host once per call)
import {
  QS8_OUT_F32,
  QS8_OUT_I32,
  QS8_OUT_I8,
  QS8_PRM_ACT,
  QS8_PRM_ACT_ALPHA,
  QS8_PRM_ACT_BETA,
  QS8_PRM_BIAS,
  QS8_PRM_COL_BIAS,
  QS8_PRM_COL_FACTOR,
  QS8_PRM_COL_SCALE,
  QS8_PRM_OUT_KIND,
  QS8_PRM_OUT_ZP,
  QS8_PRM_POST_SCALE,
  QS8_PRM_POST_SHIFT,
  QS8_PRM_QMAX,
  QS8_PRM_QMIN,
  QS8_PRM_RELU,
  QS8_PRM_ROW_SCALE,
  QS8_PRM_ROW_SUM,
} from '../params';

// ---------------------------------------------------------------------------------------------
// epilogue: one vector of 4 int32 accumulators = row m, columns n..n+3 (nr of them real)

@inline function storeI32(p: usize, v: v128, nr: i32): void {
  if (nr >= 4) {
    v128.store(p, v);
    return;
  }
  store<i32>(p, i32x4.extract_lane(v, 0));
  if (nr > 1) store<i32>(p, i32x4.extract_lane(v, 1), 4);
  if (nr > 2) store<i32>(p, i32x4.extract_lane(v, 2), 8);
}

@inline function store8(p: usize, v: v128, nr: i32): void {
  if (nr >= 4) {
    v128.store32_lane(p, v, 0);
    return;
  }
  v128.store8_lane(p, v, 0);
  if (nr > 1) v128.store8_lane(p, v, 1, 1);
  if (nr > 2) v128.store8_lane(p, v, 2, 2);
}

// acc -> output for row m (0-based in this call), columns [n, n + nr)
@inline export function epilogue(acc: v128, prm: usize, m: i32, n: i32, nr: i32, out: usize, outStride: usize): void {
  if (nr <= 0) return;
  const off = <usize>n << 2;
  let v = i32x4.add(acc, v128.load(load<usize>(prm, QS8_PRM_COL_BIAS) + off));
  const colFactor = load<usize>(prm, QS8_PRM_COL_FACTOR);
  if (colFactor != 0) {
    const rs = i32x4.splat(load<i32>(load<usize>(prm, QS8_PRM_ROW_SUM) + (<usize>m << 2)));
    v = i32x4.add(v, i32x4.mul(rs, v128.load(colFactor + off)));
  }
  const kind = load<i32>(prm, QS8_PRM_OUT_KIND);
  const row = out + <usize>m * outStride;
  if (kind == QS8_OUT_I32) {
    storeI32(row + off, v, nr);
  } else if (kind == QS8_OUT_F32) {
    const rowScale = load<usize>(prm, QS8_PRM_ROW_SCALE);
    const rs = rowScale != 0 ? f32x4.splat(load<f32>(rowScale + (<usize>m << 2))) : f32x4.splat(1);
    let f = f32x4.mul(f32x4.convert_i32x4_s(v), f32x4.mul(rs, v128.load(load<usize>(prm, QS8_PRM_COL_SCALE) + off)));
    const bias = load<usize>(prm, QS8_PRM_BIAS);
    if (bias != 0) f = f32x4.add(f, v128.load(bias + off));
    if (load<i32>(prm, QS8_PRM_RELU) != 0) f = f32x4.pmax(f, f32x4.splat(0));
    const actKind = load<i32>(prm, QS8_PRM_ACT);
    if (actKind != 0) f = act(actKind, f, f32x4.splat(load<f32>(prm, QS8_PRM_ACT_ALPHA)), f32x4.splat(load<f32>(prm, QS8_PRM_ACT_BETA)));
    const post = load<usize>(prm, QS8_PRM_POST_SCALE);
    if (post != 0) f = f32x4.add(f32x4.mul(f, v128.load(post + off)), v128.load(load<usize>(prm, QS8_PRM_POST_SHIFT) + off));
    storeI32(row + off, f, nr);
  } else {
    // requantize: saturate in float, round half to even, add the zero point, narrow
    const zp = load<i32>(prm, QS8_PRM_OUT_ZP);
    const signed = kind == QS8_OUT_I8;
    const lo = f32x4.splat(<f32>(load<i32>(prm, QS8_PRM_QMIN) - zp));
    const hi = f32x4.splat(<f32>(load<i32>(prm, QS8_PRM_QMAX) - zp));
    const f = f32x4.mul(f32x4.convert_i32x4_s(v), v128.load(load<usize>(prm, QS8_PRM_COL_SCALE) + off));
    const r = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.pmin(f32x4.pmax(f, lo), hi))), i32x4.splat(zp));
    const h = i16x8.narrow_i32x4_s(r, r);
    store8(row + <usize>n, signed ? i8x16.narrow_i16x8_s(h, h) : i8x16.narrow_i16x8_u(h, h), nr);
  }
}

// the epilogue of a strip's real rows m0 .. m0 + mr - 1, columns [n, n + nr) (8 accumulators:
// row r, columns n..n+3 and n+4..n+7)
@inline export function stripEpilogue(
  mr: i32, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128,
  prm: usize, m0: i32, n: i32, nr: i32, out: usize, outStride: usize,
): void {
  epilogue(c00, prm, m0, n, nr, out, outStride);
  epilogue(c01, prm, m0, n + 4, nr - 4, out, outStride);
  if (mr > 1) {
    epilogue(c10, prm, m0 + 1, n, nr, out, outStride);
    epilogue(c11, prm, m0 + 1, n + 4, nr - 4, out, outStride);
  }
  if (mr > 2) {
    epilogue(c20, prm, m0 + 2, n, nr, out, outStride);
    epilogue(c21, prm, m0 + 2, n + 4, nr - 4, out, outStride);
  }
  if (mr > 3) {
    epilogue(c30, prm, m0 + 3, n, nr, out, outStride);
    epilogue(c31, prm, m0 + 3, n + 4, nr - 4, out, outStride);
  }
}
