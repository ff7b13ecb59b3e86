// What the three SpMM families (spmm-csr, spmm-nm, spmm-block) share: staging of the dense int8
// activations A (M x K, row-major, int8 or uint8 with one zero point za) into int16 tiles of 8 rows
// laid out along K, and the epilogue that writes one output column of a tile.
//
// The kernels vectorize along M: a v128 holds 4 rows of A' = A - za (int16) for one or two k, and a
// sparse weight pair (w1, w2) splat across lanes meets it in i32x4.dot_i16x8_s. (A - za) is in
// [-255, 255] and |w| <= 128, so a dot of two products fits int32 exactly; sums wrap like int32.
//
// Staged layouts, one tile = 8 rows of A (rows past M are zero), tiles one after another:
//
//   t8 (spmm-csr), per k 16 bytes:            | k0: m0 m1 .. m7 | k1: m0 .. m7 | ...        (int16)
//   p8 (spmm-block), per k pair 32 bytes:     | k0,k1: m0(k0 k1) m1(k0 k1) .. m7 | k2,k3: ... |
//   g6 (spmm-nm), per group of 4 k 192 bytes: the 6 pairs (i1, i2) of the group, i1 < i2, in the
//       order (0,1) (0,2) (0,3) (1,2) (1,3) (2,3), each laid out as a p8 pair (32 bytes)
//
// so one 16-byte load gives 4 rows' (a[k1], a[k2]) pairs ready for the dot (p8, g6) or one k of 8
// rows (t8: two of them are interleaved by a shuffle).

export const SPMM_OUT_I32: i32 = 0;
export const SPMM_OUT_F32: i32 = 1;

@inline function loadA(a: usize, signed: bool, za: i32, m: i32, k: i32, row: i32, kk: i32): i32 {
  if (row >= m || kk >= k) return 0;
  const p = a + <usize>row * <usize>k + <usize>kk;
  return (signed ? <i32>load<i8>(p) : <i32>load<u8>(p)) - za;
}

// t8: tile stride k * 16 bytes
export function spmm_stage_t8(m: i32, k: i32, a: usize, signed: bool, za: i32, out: usize): void {
  const tiles = (m + 7) >> 3;
  let p = out;
  for (let t = 0; t < tiles; t++) {
    for (let kk = 0; kk < k; kk++) {
      for (let r = 0; r < 8; r++) {
        store<i16>(p, <i16>loadA(a, signed, za, m, k, t * 8 + r, kk));
        p += 2;
      }
    }
  }
}

// p8: kp (K rounded up to 4) per tile, tile stride kp * 16 bytes
export function spmm_stage_p8(m: i32, k: i32, kp: i32, a: usize, signed: bool, za: i32, out: usize): void {
  const tiles = (m + 7) >> 3;
  let p = out;
  for (let t = 0; t < tiles; t++) {
    for (let kk = 0; kk < kp; kk += 2) {
      for (let r = 0; r < 8; r++) {
        store<i16>(p, <i16>loadA(a, signed, za, m, k, t * 8 + r, kk));
        store<i16>(p, <i16>loadA(a, signed, za, m, k, t * 8 + r, kk + 1), 2);
        p += 4;
      }
    }
  }
}

// the pair order of g6: i1 in the low 4 bits, i2 in the high ones
const G6_PAIRS: StaticArray<u8> = [0x10, 0x20, 0x30, 0x21, 0x31, 0x32];

// g6: kg groups of 4 per tile, tile stride kg * 192 bytes
export function spmm_stage_g6(m: i32, k: i32, kg: i32, a: usize, signed: bool, za: i32, out: usize): void {
  const tiles = (m + 7) >> 3;
  let p = out;
  for (let t = 0; t < tiles; t++) {
    for (let g = 0; g < kg; g++) {
      for (let q = 0; q < 6; q++) {
        const pair = <i32>unchecked(G6_PAIRS[q]);
        const k1 = g * 4 + (pair & 15), k2 = g * 4 + (pair >> 4);
        for (let r = 0; r < 8; r++) {
          store<i16>(p, <i16>loadA(a, signed, za, m, k, t * 8 + r, k1));
          store<i16>(p, <i16>loadA(a, signed, za, m, k, t * 8 + r, k2), 2);
          p += 4;
        }
      }
    }
  }
}

// one output column n of a tile: lo = rows m0..m0+3, hi = rows m0+4..m0+7 (mr of the 8 real).
// int32, or float32 = f32(acc) * scale[n] (+ bias[n]) (scale, bias: float32 per column; bias 0 = none)
@inline export function storeColumn(
  lo: v128, hi: v128, mr: i32, m0: i32, n: i32, out: usize, outStride: usize, kind: i32, scale: usize, bias: usize,
): void {
  let a = lo, b = hi;
  if (kind == SPMM_OUT_F32) {
    const s = f32x4.splat(load<f32>(scale + (<usize>n << 2)));
    a = f32x4.mul(f32x4.convert_i32x4_s(lo), s);
    b = f32x4.mul(f32x4.convert_i32x4_s(hi), s);
    if (bias != 0) {
      const c = f32x4.splat(load<f32>(bias + (<usize>n << 2)));
      a = f32x4.add(a, c);
      b = f32x4.add(b, c);
    }
  }
  const p = out + <usize>m0 * outStride + (<usize>n << 2);
  store<i32>(p, i32x4.extract_lane(a, 0));
  if (mr > 1) store<i32>(p + outStride, i32x4.extract_lane(a, 1));
  if (mr > 2) store<i32>(p + 2 * outStride, i32x4.extract_lane(a, 2));
  if (mr > 3) store<i32>(p + 3 * outStride, i32x4.extract_lane(a, 3));
  if (mr > 4) store<i32>(p + 4 * outStride, i32x4.extract_lane(b, 0));
  if (mr > 5) store<i32>(p + 5 * outStride, i32x4.extract_lane(b, 1));
  if (mr > 6) store<i32>(p + 6 * outStride, i32x4.extract_lane(b, 2));
  if (mr > 7) store<i32>(p + 7 * outStride, i32x4.extract_lane(b, 3));
}

// the sparse weight pair (w1, w2) at p (two int8) as int16 lanes w1 w2 w1 w2 ...
@inline export function weightPair(p: usize, offset: usize = 0): v128 {
  return i16x8.extend_low_i8x16_s(offset == 0 ? v128.load16_splat(p) : v128.load16_splat(p + offset));
}

// one output value (row 0, column n), int32 or float32 as storeColumn
@inline export function storeOne(acc: i32, n: i32, out: usize, kind: i32, scale: usize, bias: usize): void {
  const p = out + (<usize>n << 2);
  if (kind == SPMM_OUT_F32) {
    let f = <f32>acc * load<f32>(scale + (<usize>n << 2));
    if (bias != 0) f += load<f32>(bias + (<usize>n << 2));
    store<f32>(p, f);
  } else {
    store<i32>(p, acc);
  }
}
