// Shared test helpers: the build under test, seeded random data.

import { afterAll, beforeAll } from 'vitest';
import { createRuntime, normalFloats, type Runtime } from '../src/index.js';

export const SIMD = (process.env.LOWBIT_TEST_SIMD ?? 'baseline') as 'baseline' | 'relaxed';

/** A 1-thread and a 2-thread runtime for the tests of one file (set before they run, disposed after). */
export function useRuntimes(): { one: Runtime; two: Runtime } {
  const rts = {} as { one: Runtime; two: Runtime };
  beforeAll(async () => {
    rts.one = await testRuntime(1);
    rts.two = await testRuntime(2);
  });
  afterAll(() => {
    rts.one?.dispose();
    rts.two?.dispose();
  });
  return rts;
}

/** A runtime on the build this test project checks (relaxed must really be relaxed there). */
export async function testRuntime(threads = 1): Promise<Runtime> {
  // every kernel call goes to the pool, however small: the tests' shapes are small
  const rt = await createRuntime({ simd: SIMD, threads, minParallelWork: 0 });
  if (rt.features.simd !== SIMD) throw new Error(`expected the ${SIMD} build, got ${rt.features.simd}`);
  return rt;
}

export { mulberry32 as rng } from '../src/index.js';

export function randInt8(n: number, r: () => number, lo = -128, hi = 127): Int8Array {
  return Int8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

export function randUint8(n: number, r: () => number, lo = 0, hi = 255): Uint8Array {
  return Uint8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

/** roughly normal floats, scaled */
export function randNormal(n: number, r: () => number, scale = 1): Float32Array {
  return normalFloats(r, n, scale);
}

export function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) return `index ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}

/** null when got is within tolerance x max |want| of want everywhere (bit for bit at 0), else what differs. */
export function withinTolerance(got: Float32Array, want: Float32Array, tolerance: number): string | null {
  if (tolerance === 0) return firstMismatch(got, want);
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst <= tolerance * scale ? null : `max |diff| ${worst} > ${tolerance} x ${scale}`;
}
