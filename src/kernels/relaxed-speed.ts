// Whether the engine's relaxed int8 dot product is fast: a fused instruction (x86 AVX-VNNI
// vpdpbusd, ARM sdot), not an emulation. V8 11.3 (Node 20) lowers i32x4.relaxed_dot_i8x16_i7x16_add_s
// to pmaddubsw + pmaddwd + paddd, slower than the i16 dot (pmaddwd + paddd) it replaces; V8 13.6
// (Node 24) on an AVX-VNNI CPU lowers it to one vpdpbusd. Layers use it to choose a layout whose
// cost depends on it (the qs8 "c4 split": twice the relaxed dots); every layout gives the same
// bits, so a timing decision changes speed only, never results.

import type { KernelHost } from '../runtime/host.js';

const known = new WeakMap<object, boolean>();
const ITERS = 300_000; // 2.4M dot instructions per timing: ~0.8-1 ms here, several ticks of a browser's coarsened clock (100 us)

/**
 * True when the relaxed build's register-only relaxed-dot loop (16 multiply-adds per instruction)
 * runs within 1.25x the time of the same loop on i32x4.dot_i16x8_s (8 per instruction): least of 3
 * interleaved timings, measured once per runtime (a few ms). False on the baseline build.
 * Measured here (AMD EPYC, AVX-VNNI), relaxed / i16 time: Node 24 0.99, Chromium 156 0.83, Node 20
 * with --experimental-wasm-relaxed-simd 1.7-1.95: far from the threshold either way. The probe
 * takes 8-26 ms once per runtime (at the first int8 model layer) on this loaded machine.
 */
export function relaxedDotIsFast(rt: KernelHost): boolean {
  if (rt.features.simd !== 'relaxed') return false;
  const cached = known.get(rt.kernels);
  if (cached !== undefined) return cached;
  const x = rt.kernels;
  let relaxed = Infinity, i16 = Infinity;
  for (let r = 0; r < 4; r++) {
    let t0 = performance.now();
    x.ceiling_relaxed_dot(ITERS, r);
    const tr = performance.now() - t0;
    t0 = performance.now();
    x.ceiling_dot_i16x8(ITERS, r);
    const ti = performance.now() - t0;
    if (r > 0) (relaxed = Math.min(relaxed, tr)), (i16 = Math.min(i16, ti)); // the first round warms up
  }
  const fast = relaxed <= 1.25 * i16;
  known.set(rt.kernels, fast);
  return fast;
}
