// f64_xtx_4x4: the lower triangle of XᵀX (float64) for a chunk of rows, for GPTQ's layer Hessians.
// X arrives packed in panels of 4 columns, rows contiguous inside a panel:
//
//   x + p·panel:  [row 0: col 4p, 4p+1, 4p+2, 4p+3][row 1: ...] ... [row rows-1: ...]   (f64)
//
// For rows i in [i0, i1) (multiples of 4) and columns j <= i in tiles of 4x4, it writes
// S[i - i0][j] = Σ_r x[r][i]·x[r][j] (rows r in order, from 0) at s + (i - i0)·sStride + j·8; tiles
// that straddle the diagonal also write the entries just above it. Exact-rounded f64x2 mul then add
// (never a fused or relaxed madd): each entry's sum is the same sequence of IEEE operations as the
// scalar loop `t = 0; for r: t += x[r][i]*x[r][j]`, so the result is bit-identical on every build,
// engine and CPU (and to src/quant/gptq.ts's HessianSum, which sums the same way).

export function f64_xtx_4x4(rows: i32, x: usize, panel: i32, i0: i32, i1: i32, s: usize, sStride: i32): void {
  for (let i = i0; i < i1; i += 4) {
    const pa = x + <usize>(i >> 2) * <usize>panel;
    const srow = s + <usize>(i - i0) * <usize>sStride;
    for (let j = 0; j <= i; j += 4) {
      const pb = x + <usize>(j >> 2) * <usize>panel;
      let c00 = f64x2.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (let r = 0; r < rows; r++) {
        const o = <usize>r << 5;
        const b0 = v128.load(pb + o), b1 = v128.load(pb + o, 16);
        let a = f64x2.splat(load<f64>(pa + o));
        c00 = f64x2.add(c00, f64x2.mul(a, b0));
        c01 = f64x2.add(c01, f64x2.mul(a, b1));
        a = f64x2.splat(load<f64>(pa + o, 8));
        c10 = f64x2.add(c10, f64x2.mul(a, b0));
        c11 = f64x2.add(c11, f64x2.mul(a, b1));
        a = f64x2.splat(load<f64>(pa + o, 16));
        c20 = f64x2.add(c20, f64x2.mul(a, b0));
        c21 = f64x2.add(c21, f64x2.mul(a, b1));
        a = f64x2.splat(load<f64>(pa + o, 24));
        c30 = f64x2.add(c30, f64x2.mul(a, b0));
        c31 = f64x2.add(c31, f64x2.mul(a, b1));
      }
      const d = srow + (<usize>j << 3);
      const st = <usize>sStride;
      v128.store(d, c00);
      v128.store(d, c01, 16);
      v128.store(d + st, c10);
      v128.store(d + st, c11, 16);
      v128.store(d + 2 * st, c20);
      v128.store(d + 2 * st, c21, 16);
      v128.store(d + 3 * st, c30);
      v128.store(d + 3 * st, c31, 16);
    }
  }
}

// f64_gemm_4x4: S[i][j] = Σ_p a[p][i]·b[p][j] for i < m, j < n (multiples of 4), A and B packed as
// above (panels of 4 columns, `aPanel` / `bPanel` bytes apart, `depth` rows each): the rectangular
// product GPTQ's lazy batch updates need. Same exact-rounded mul then add, p in order from 0.
export function f64_gemm_4x4(depth: i32, a: usize, aPanel: i32, b: usize, bPanel: i32, m: i32, n: i32, s: usize, sStride: i32): void {
  for (let i = 0; i < m; i += 4) {
    const pa = a + <usize>(i >> 2) * <usize>aPanel;
    const srow = s + <usize>i * <usize>sStride;
    for (let j = 0; j < n; j += 4) {
      const pb = b + <usize>(j >> 2) * <usize>bPanel;
      let c00 = f64x2.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (let r = 0; r < depth; r++) {
        const o = <usize>r << 5;
        const b0 = v128.load(pb + o), b1 = v128.load(pb + o, 16);
        let x = f64x2.splat(load<f64>(pa + o));
        c00 = f64x2.add(c00, f64x2.mul(x, b0));
        c01 = f64x2.add(c01, f64x2.mul(x, b1));
        x = f64x2.splat(load<f64>(pa + o, 8));
        c10 = f64x2.add(c10, f64x2.mul(x, b0));
        c11 = f64x2.add(c11, f64x2.mul(x, b1));
        x = f64x2.splat(load<f64>(pa + o, 16));
        c20 = f64x2.add(c20, f64x2.mul(x, b0));
        c21 = f64x2.add(c21, f64x2.mul(x, b1));
        x = f64x2.splat(load<f64>(pa + o, 24));
        c30 = f64x2.add(c30, f64x2.mul(x, b0));
        c31 = f64x2.add(c31, f64x2.mul(x, b1));
      }
      const d = srow + (<usize>j << 3);
      const st = <usize>sStride;
      v128.store(d, c00);
      v128.store(d, c01, 16);
      v128.store(d + st, c10);
      v128.store(d + st, c11, 16);
      v128.store(d + 2 * st, c20);
      v128.store(d + 2 * st, c21, 16);
      v128.store(d + 3 * st, c30);
      v128.store(d + 3 * st, c31, 16);
    }
  }
}
