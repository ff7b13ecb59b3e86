// Shared test helpers: the build under test, seeded random data.

import { createRuntime, type Runtime } from '../src/index.js';

export const SIMD = (process.env.LOWBIT_TEST_SIMD ?? 'baseline') as 'baseline' | 'relaxed';

/** A runtime on the build this test project checks (relaxed must really be relaxed there). */
export async function testRuntime(threads = 1): Promise<Runtime> {
  const rt = await createRuntime({ simd: SIMD, threads });
  if (rt.features.simd !== SIMD) throw new Error(`expected the ${SIMD} build, got ${rt.features.simd}`);
  return rt;
}

/** mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randInt8(n: number, r: () => number, lo = -128, hi = 127): Int8Array {
  return Int8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

export function randUint8(n: number, r: () => number, lo = 0, hi = 255): Uint8Array {
  return Uint8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** roughly normal floats (sum of uniforms), scaled */
export function randNormal(n: number, r: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (r() + r() + r() + r() - 2) * scale * 1.7320508);
}

export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}
