// rt.ops.matMulInteger keeps B packed between calls: the same B is packed once, and B changed in
// place, a different zero point, a reshaped B or a B of the other type never runs stale weights
// (default 'verify'); 'trust' skips the byte check until forgetWeights; 'off' keeps nothing; the
// cache stays bounded and gives its memory back.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor, type Runtime, type Tensor } from '../src/index.js';
import { refMatMulInteger } from '../src/kernels.js';
import { SIMD, firstMismatch, randInt8, randUint8, rng, testRuntime } from './helpers.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime(2);
});
afterAll(() => rt?.dispose());

function want(A: Tensor, B: Tensor, m: number, k: number, n: number, za = 0, zb: ArrayLike<number> = new Int32Array(n)): Int32Array {
  return refMatMulInteger(A.data as Uint8Array, B.data as Int8Array, m, k, n, za, zb);
}

describe(`rt.ops.matMulInteger weight cache (${SIMD} build)`, () => {
  const r = rng(3);
  const m = 5, k = 40, n = 19;

  it('packs the same B once, and repacks B changed in place (verify, the default)', async () => {
    const A = tensor('uint8', randUint8(m * k, r), [m, k]);
    const B = tensor('int8', randInt8(k * n, r), [k, n]);
    const before = rt.ops.weightCache.entries;
    for (let i = 0; i < 3; i++) expect(firstMismatch((await rt.ops.matMulInteger(A, B)).data, want(A, B, m, k, n))).toBeNull();
    expect(rt.ops.weightCache.entries).toBe(before + 1);
    // one byte changes, then the last one: each call sees the new weights
    for (const at of [0, k * n - 1, 17]) {
      (B.data as Int8Array)[at] = ((B.data as Int8Array)[at] + 99) | 0;
      expect(firstMismatch((await rt.ops.matMulInteger(A, B)).data, want(A, B, m, k, n)), `changed at ${at}`).toBeNull();
    }
    expect(rt.ops.weightCache.entries).toBe(before + 1);
  });

  it('the same data with another zero point, shape or type gets its own packing', async () => {
    const A = tensor('uint8', randUint8(m * k, r), [m, k]);
    const data = randInt8(k * n, r);
    const B = tensor('int8', data, [k, n]);
    await rt.ops.matMulInteger(A, B);
    const zb = tensor('int8', randInt8(n, r), [n]);
    expect(firstMismatch((await rt.ops.matMulInteger(A, B, tensor('uint8', Uint8Array.of(9), []), zb)).data, want(A, B, m, k, n, 9, zb.data as Int8Array))).toBeNull();
    // the same array as [n, k]: another K and N
    const A2 = tensor('uint8', randUint8(3 * n, r), [3, n]);
    const B2 = tensor('int8', data, [n, k]);
    expect(firstMismatch((await rt.ops.matMulInteger(A2, B2)).data, want(A2, B2, 3, n, k))).toBeNull();
    // the same bytes as uint8
    const B3 = tensor('uint8', new Uint8Array(data.buffer), [k, n]);
    expect(firstMismatch((await rt.ops.matMulInteger(A, B3)).data, refMatMulInteger(A.data as Uint8Array, B3.data as Uint8Array, m, k, n, 0, new Int32Array(n)))).toBeNull();
    // and back: still right
    expect(firstMismatch((await rt.ops.matMulInteger(A, B)).data, want(A, B, m, k, n))).toBeNull();
  });

  it("'trust' reads nothing of B until forgetWeights; 'off' keeps nothing", async () => {
    const A = tensor('uint8', randUint8(m * k, r), [m, k]);
    const B = tensor('int8', randInt8(k * n, r), [k, n]);
    const first = want(A, B, m, k, n);
    expect(firstMismatch((await rt.ops.matMulInteger(A, B, null, null, { weightCache: 'trust' })).data, first)).toBeNull();
    (B.data as Int8Array)[3] ^= 0x55;
    // the contract: under 'trust' a change in place is the caller's to announce
    expect(firstMismatch((await rt.ops.matMulInteger(A, B, null, null, { weightCache: 'trust' })).data, first)).toBeNull();
    rt.ops.forgetWeights(B);
    expect(firstMismatch((await rt.ops.matMulInteger(A, B, null, null, { weightCache: 'trust' })).data, want(A, B, m, k, n))).toBeNull();
    // 'verify' after 'trust' compares the bytes (the trusted entry has no copy: packed again once)
    (B.data as Int8Array)[5] ^= 0x33;
    expect(firstMismatch((await rt.ops.matMulInteger(A, B)).data, want(A, B, m, k, n))).toBeNull();

    const entries = rt.ops.weightCache.entries;
    const C = tensor('int8', randInt8(k * n, r), [k, n]);
    expect(firstMismatch((await rt.ops.matMulInteger(A, C, null, null, { weightCache: 'off' })).data, want(A, C, m, k, n))).toBeNull();
    expect(rt.ops.weightCache.entries).toBe(entries);
    await expect(rt.ops.matMulInteger(A, C, null, null, { weightCache: 'sometimes' as never })).rejects.toThrow(/weightCache: expected 'verify', 'trust' or 'off'/);
  });

  it('overlapping calls with changing B each get the B they were given', async () => {
    const A = tensor('uint8', randUint8(m * k, r), [m, k]);
    const B = tensor('int8', randInt8(k * n, r), [k, n]);
    const calls: Promise<Tensor<'int32'>>[] = [];
    const wants: Int32Array[] = [];
    for (let i = 0; i < 4; i++) {
      (B.data as Int8Array)[i] = (i * 37) | 0;
      wants.push(want(A, B, m, k, n));
      calls.push(rt.ops.matMulInteger(A, B));
    }
    const got = await Promise.all(calls);
    for (let i = 0; i < 4; i++) expect(firstMismatch(got[i].data, wants[i]), `call ${i}`).toBeNull();
  });

  it('stays bounded, and an uncached batch of B (batch dims) is still right', async () => {
    const own = await testRuntime(1);
    const A = tensor('uint8', randUint8(2 * 8, r), [2, 8]);
    const base = own.heap.inUse;
    for (let i = 0; i < 40; i++) await own.ops.matMulInteger(A, tensor('int8', randInt8(8 * 8, r), [8, 8]));
    expect(own.ops.weightCache.entries).toBeLessThanOrEqual(32);
    // each 8x8 packing is one 64-byte block: the heap holds exactly what the cache reports
    expect(own.heap.inUse - base).toBe(own.ops.weightCache.bytes);
    const Ab = tensor('uint8', randUint8(2 * 3 * 4, r), [2, 3, 4]);
    const Bb = tensor('int8', randInt8(2 * 4 * 5, r), [2, 4, 5]);
    const got = await own.ops.matMulInteger(Ab, Bb);
    for (let t = 0; t < 2; t++) {
      const wt = refMatMulInteger((Ab.data as Uint8Array).subarray(t * 12), (Bb.data as Int8Array).subarray(t * 20), 3, 4, 5, 0, new Int32Array(5));
      expect(firstMismatch(got.data.subarray(t * 15, (t + 1) * 15), wt)).toBeNull();
    }
    own.dispose();
  });
});
