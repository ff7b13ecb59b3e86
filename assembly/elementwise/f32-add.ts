// f32_add_nhwc: y[p][c] = a[p][c] + b[p][c] for two values of one shape and one layout (a residual
// Add of two channels-last images). Elementwise, so the pixels and channels run as one flat array:
// whole vectors, then the tail one float at a time (the same IEEE add either way). y may be a or b.

export function f32_add_nhwc(a: usize, b: usize, pixels: i32, c: i32, y: usize): void {
  const n = <usize>pixels * <usize>c;
  const n4 = n & ~(<usize>3);
  for (let i: usize = 0; i < n4; i += 4) {
    const o = i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (let i = n4; i < n; i++) {
    const o = i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}
