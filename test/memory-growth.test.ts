// Regression: a typed view of linear memory made before an allocation is detached when that
// allocation grows a non-shared memory, and writes through it are lost. Every kernel wrapper must
// be right on the first call of a fresh runtime, when nearly every allocation grows the memory.

import { describe, expect, it } from 'vitest';
import { createRuntime, quantizeInt4Rtn } from '../src/index.js';
import {
  packQb4, packF32, packQs8, refMatMulInteger, refRequantize, refQb4, refGemmF32, runF32, runQb4, runQs8,
} from '../src/kernels.js';
import { SIMD, firstMismatch, randInt8, randNormal, randUint8, rng } from './helpers.js';

describe(`first calls on a fresh runtime, while memory grows (${SIMD} build)`, () => {
  it('qs8 (every output kind), qb4 and f32 give the reference result on their first call', async () => {
    for (const n of [9, 700, 3000, 11008]) {
      const r = rng(n);
      const [m, k] = [1, 64];
      const a = randUint8(m * k, r);
      const b = randInt8(k * n, r, -64, 63); // 7-bit: the relaxed build packs these as c4
      const zb = new Int32Array(n);
      const ref = refMatMulInteger(a, b, m, k, n, 3, zb);
      for (const kind of ['int32', 'uint8', 'float32'] as const) {
        const rt = await createRuntime({ simd: SIMD });
        const w = packQs8(rt, b, k, n, zb);
        const out =
          kind === 'int32' ? { kind } : kind === 'uint8' ? { kind, multiplier: new Float32Array(n).fill(1 / 64), zeroPoint: 128 } : { kind, colScale: new Float32Array(n).fill(1) };
        const got = await runQs8(rt, a, m, 3, w, out);
        if (kind === 'int32') expect(firstMismatch(got, ref), `n=${n} ${kind}`).toBeNull();
        if (kind === 'float32') expect(firstMismatch(got, Float32Array.from(ref)), `n=${n} ${kind}`).toBeNull();
        if (kind === 'uint8') expect(firstMismatch(got, refRequantize(ref, m, n, new Float32Array(n).fill(1 / 64), 128, false)), `n=${n} ${kind}`).toBeNull();
        rt.dispose();
      }
      const x = randNormal(m * k, r);
      const blocks = quantizeInt4Rtn(randNormal(n * k, r, 0.02), n, k, { blockSize: 32, scheme: n >= 3000 ? 'asymmetric' : 'symmetric' });
      let rt = await createRuntime({ simd: SIMD });
      expect(firstMismatch(await runQb4(rt, x, m, packQb4(rt, blocks)), refQb4(x, m, blocks, null, 'per-row')), `qb4 n=${n}`).toBeNull();
      rt.dispose();
      rt = await createRuntime({ simd: SIMD });
      const wf = randNormal(k * n, r);
      const got = await runF32(rt, x, m, packF32(rt, wf, k, n));
      const want = refGemmF32(x, wf, m, k, n);
      expect(got.length).toBe(want.length);
      for (let j = 0; j < want.length; j++) expect(Math.abs(got[j] - want[j]), `f32 n=${n} col ${j}`).toBeLessThan(1e-4);
      rt.dispose();
    }
  });
});
