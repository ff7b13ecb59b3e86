// sddmm-csr / sddmm-block: sampled dense-dense matmul, int8 x int8 -> int32 (or float32 with a scale
// per row and per column). out = dot(A[i,:], B[j,:]) only at the mask's (i, j): attention scores
// Q Kᵀ at a sparse mask. A is M x K, B is N x K, both int8 row-major with row strides lda, ldb.
//
// Masks (src/kernels/sddmm.ts):
//   csr    rowPtr int32[M + 1], cols int32[nnz]; out[p] is entry p (CSR order)
//   block  blockPtr int32[ceil(M / bm) + 1], cols int32[B] (block column j / bn); out holds bm x bn
//          values per block, row-major, 0 where the block passes M or N
//
// No staging: both operands are read with sign-extending loads (v128.load8x8_s), so per 8 k and 4
// mask entries there are 5 loads, 4 i32x4.dot_i16x8_s and 4 adds; the 4 sums are reduced across
// lanes together (4 shuffles, 3 adds) and stored as one v128. K % 8 is summed in scalar code.
// Products of int8 fit a dot's int16 pair sum in int32 exactly; sums wrap like int32.
// No relaxed variant: relaxed_dot_i8x16_i7x16 needs one operand in [0, 127] and Q, K are full int8.

export const SDDMM_OUT_I32: i32 = 0;
export const SDDMM_OUT_F32: i32 = 1;

// sum of K % 8 tail products of rows x, y from k0
function tail(x: usize, y: usize, k0: i32, k: i32): i32 {
  let s = 0;
  for (let kk = k0; kk < k; kk++) s += <i32>load<i8>(x + <usize>kk) * <i32>load<i8>(y + <usize>kk);
  return s;
}

// the 4 dots of row x with rows y0..y3, as one v128 of int32
@inline function dot4(x: usize, y0: usize, y1: usize, y2: usize, y3: usize, k: i32): v128 {
  let c0 = i32x4.splat(0), c1 = i32x4.splat(0), c2 = i32x4.splat(0), c3 = i32x4.splat(0);
  const k8 = k & ~7;
  for (let kk = 0; kk < k8; kk += 8) {
    const o = <usize>kk;
    const a = v128.load8x8_s(x + o);
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(a, v128.load8x8_s(y0 + o)));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(a, v128.load8x8_s(y1 + o)));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(a, v128.load8x8_s(y2 + o)));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(a, v128.load8x8_s(y3 + o)));
  }
  const s01 = i32x4.add(i32x4.shuffle(c0, c1, 0, 4, 2, 6), i32x4.shuffle(c0, c1, 1, 5, 3, 7));
  const s23 = i32x4.add(i32x4.shuffle(c2, c3, 0, 4, 2, 6), i32x4.shuffle(c2, c3, 1, 5, 3, 7));
  let v = i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
  if (k8 < k) {
    v = i32x4.add(v, i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(tail(x, y0, k8, k)), 1, tail(x, y1, k8, k)), 2, tail(x, y2, k8, k)), 3, tail(x, y3, k8, k)));
  }
  return v;
}

// `count` mask entries of row x, 4 at a time (the last 1-3 repeat their first column in the unused
// lanes): columns from the int32 array `cols`, or j0, j0 + 1, ... when cols is 0. Writes count
// int32, or float32 = f32(acc) * r * cs[j] (each product rounded to float32), from out.
function entries(x: usize, k: i32, b: usize, ldb: i32, cols: usize, j0: i32, count: i32, out: usize, kind: i32, r: f32, cs: usize): void {
  for (let t = 0; t < count; t += 4) {
    const left = count - t;
    const c = cols + (<usize>t << 2);
    const ja = cols ? load<i32>(c) : j0 + t;
    const jb = left > 1 ? (cols ? load<i32>(c, 4) : ja + 1) : ja;
    const jc = left > 2 ? (cols ? load<i32>(c, 8) : ja + 2) : ja;
    const jd = left > 3 ? (cols ? load<i32>(c, 12) : ja + 3) : ja;
    const yb = <usize>ldb;
    let v = dot4(x, b + <usize>ja * yb, b + <usize>jb * yb, b + <usize>jc * yb, b + <usize>jd * yb, k);
    if (kind == SDDMM_OUT_F32) {
      let s = v128.load32_zero(cs + (<usize>ja << 2));
      s = v128.load32_lane(cs + (<usize>jb << 2), s, 1);
      s = v128.load32_lane(cs + (<usize>jc << 2), s, 2);
      s = v128.load32_lane(cs + (<usize>jd << 2), s, 3);
      v = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(v), f32x4.splat(r)), s);
    }
    const p = out + (<usize>t << 2);
    if (left >= 4) {
      v128.store(p, v);
    } else {
      v128.store32_lane(p, v, 0);
      if (left > 1) v128.store32_lane(p, v, 1, 4);
      if (left > 2) v128.store32_lane(p, v, 2, 8);
    }
  }
}

// rows [m0, m1) of a CSR mask. rs, cs: float32 row and column scales (float32 output only)
export function qs8_sddmm_csr_1x4(
  m0: i32, m1: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, rowPtr: usize, cols: usize, out: usize, kind: i32, rs: usize, cs: usize,
): void {
  for (let i = m0; i < m1; i++) {
    const p = load<i32>(rowPtr + (<usize>i << 2));
    const r = kind == SDDMM_OUT_F32 ? load<f32>(rs + (<usize>i << 2)) : 0;
    entries(a + <usize>i * <usize>lda, k, b, ldb, cols + (<usize>p << 2), 0, load<i32>(rowPtr + (<usize>i << 2), 4) - p, out + (<usize>p << 2), kind, r, cs);
  }
}

// block rows [bi0, bi1) of a block mask of bm x bn blocks over an M x N output
export function qs8_sddmm_block_1x4(
  bi0: i32, bi1: i32, m: i32, n: i32, bm: i32, bn: i32, k: i32, a: usize, lda: i32, b: usize, ldb: i32, blockPtr: usize, cols: usize, out: usize, kind: i32, rs: usize, cs: usize,
): void {
  const rowBytes = <usize>bn << 2;
  for (let bi = bi0; bi < bi1; bi++) {
    const q1 = load<i32>(blockPtr + (<usize>bi << 2), 4);
    for (let q = load<i32>(blockPtr + (<usize>bi << 2)); q < q1; q++) {
      const j0 = load<i32>(cols + (<usize>q << 2)) * bn;
      const jn = min(bn, n - j0); // the block's columns inside N
      let o = out + <usize>q * <usize>bm * rowBytes;
      for (let rr = 0; rr < bm; rr++, o += rowBytes) {
        const i = bi * bm + rr;
        memory.fill(o, 0, rowBytes); // rows past M, columns past N
        if (i >= m) continue;
        const r = kind == SDDMM_OUT_F32 ? load<f32>(rs + (<usize>i << 2)) : 0;
        entries(a + <usize>i * <usize>lda, k, b, ldb, 0, j0, jn, o, kind, r, cs);
      }
    }
  }
}
