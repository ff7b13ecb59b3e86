// Stores shared by the kernel families.

// the first nr (1..8) float32 lanes of [v0, v1] at p
@inline export function storeLanes8(p: usize, v0: v128, v1: v128, nr: i32): void {
  if (nr >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
    return;
  }
  let v = v0;
  let q = p;
  let r = nr;
  if (r >= 4) {
    v128.store(q, v0);
    v = v1;
    q += 16;
    r -= 4;
  }
  if (r > 0) store<f32>(q, f32x4.extract_lane(v, 0));
  if (r > 1) store<f32>(q, f32x4.extract_lane(v, 1), 4);
  if (r > 2) store<f32>(q, f32x4.extract_lane(v, 2), 8);
}

// the first nr (1..16) float32 lanes of [v0, v1, v2, v3] at p
@inline export function storeLanes16(p: usize, v0: v128, v1: v128, v2: v128, v3: v128, nr: i32): void {
  if (nr >= 8) {
    v128.store(p, v0);
    v128.store(p, v1, 16);
    if (nr > 8) storeLanes8(p + 32, v2, v3, nr - 8);
    return;
  }
  storeLanes8(p, v0, v1, nr);
}
