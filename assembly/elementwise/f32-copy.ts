// f32_copy_rows: copies `rows` rows of n floats from x (rows xStride bytes apart) to y (yStride
// bytes apart): a Concat of channels-last images along C writes each input's pixels into a slice of
// every output pixel. Whole vectors, then the tail one float at a time; bits are copied unchanged.

export function f32_copy_rows(x: usize, xStride: i32, rows: i32, n: i32, y: usize, yStride: i32): void {
  const n4 = n & ~3;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * <usize>xStride, yr = y + <usize>r * <usize>yStride;
    for (let i = 0; i < n4; i += 4) {
      const o = <usize>i << 2;
      v128.store(yr + o, v128.load(xr + o));
    }
    for (let i = n4; i < n; i++) {
      const o = <usize>i << 2;
      store<u32>(yr + o, load<u32>(xr + o));
    }
  }
}
