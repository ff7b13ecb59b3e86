// One GEMM tester for every kernel family, in the spirit of XNNPACK's GemmMicrokernelTester: a small
// builder over M, K and N (the shared shape list below: every remainder path of every family's
// tiles, primes, 1), extremes, and thread splits. A family plugs in with four callbacks: seeded
// data for a case, pack, run, and the scalar reference (plus an optional check when the family is
// not bit-exact on some build). qs8, qb4, lut4, f8w and f32 tests all run their GEMMs through it.

import type { Runtime } from '../src/index.js';
import { firstMismatch, rng } from './helpers.js';

/**
 * The shared shape list. The tiles: qs8 4x8 (k groups of 2, c4: 4), f32 4x8 with a 1x16 GEMV, f8w
 * panels of 16 with a 4x8 tile, qb4 panels of 8 (c4) or 16 (s4), lut4 panels of 8, 16-byte vectors;
 * so M and N go below, at and above 4, 8 and 16, K below and above the k groups, and primes.
 */
export const GEMM_M = [1, 2, 3, 4, 5, 8, 13];
export const GEMM_K = [1, 2, 3, 4, 5, 8, 17, 64];
export const GEMM_N = [1, 7, 8, 9, 16, 17, 33];

export interface GemmCase {
  m: number;
  k: number;
  n: number;
  /** the data's seed (distinct per case) */
  seed: number;
  /** fill with the family's extreme values and zero points instead of random ones */
  extremes: boolean;
}

export interface GemmFamily<D, P extends { dispose(): void }> {
  /** seeded data for one case (weights, activations, zero points, scales, bias, options) */
  data(c: GemmCase, r: () => number): D;
  pack(rt: Runtime, d: D): P;
  run(rt: Runtime, d: D, packed: P): Promise<ArrayLike<number>>;
  ref(d: D): ArrayLike<number>;
  /** null when `got` is right; default: bit for bit equal to the reference (Object.is) */
  check?(got: ArrayLike<number>, want: ArrayLike<number>, d: D): string | null;
}

export interface GemmResult {
  /** how many (case, runtime) runs */
  runs: number;
  /** the first failures (at most 5), each naming the case */
  failures: string[];
}

export class GemmTester {
  private ms = GEMM_M;
  private ks = GEMM_K;
  private ns = GEMM_N;
  // (1 x 64 x 130: wide enough for a GEMV to split over 2 threads, at least 64 columns each)
  private extremeShapes: [number, number, number][] = [[1, 1, 1], [1, 64, 130], [4, 8, 8], [5, 67, 9], [13, 300, 17]];
  private seed0 = 1;

  m(...v: number[]): this {
    this.ms = v;
    return this;
  }
  k(...v: number[]): this {
    this.ks = v;
    return this;
  }
  n(...v: number[]): this {
    this.ns = v;
    return this;
  }
  /** the shapes that also run with extreme values (default: a few around and beyond the tiles) */
  extremes(...shapes: [number, number, number][]): this {
    this.extremeShapes = shapes;
    return this;
  }
  seed(s: number): this {
    this.seed0 = s;
    return this;
  }

  /** every M x K x N of the lists with random data, then the extreme shapes with extremes */
  cases(): GemmCase[] {
    const out: GemmCase[] = [];
    let seed = this.seed0;
    for (const m of this.ms) for (const k of this.ks) for (const n of this.ns) out.push({ m, k, n, seed: seed++, extremes: false });
    for (const [m, k, n] of this.extremeShapes) out.push({ m, k, n, seed: seed++, extremes: true });
    return out;
  }

  /** Runs every case on every runtime (pack on each: packed weights belong to one runtime). */
  async test<D, P extends { dispose(): void }>(family: GemmFamily<D, P>, runtimes: Runtime[]): Promise<GemmResult> {
    const failures: string[] = [];
    let runs = 0;
    for (const c of this.cases()) {
      const d = family.data(c, rng(c.seed));
      const want = family.ref(d);
      for (const rt of runtimes) {
        const p = family.pack(rt, d);
        try {
          const got = await family.run(rt, d, p);
          const bad = family.check ? family.check(got, want, d) : firstMismatch(got, want);
          if (bad && failures.length < 5) failures.push(`m=${c.m} k=${c.k} n=${c.n}${c.extremes ? ' extremes' : ''} seed=${c.seed} threads=${rt.threads}: ${bad}`);
          runs++;
        } finally {
          p.dispose();
        }
      }
    }
    return { runs, failures };
  }
}
