// GPTQ's products in wasm (src/kernels/xtx.ts: wasmSyrkLower for the Cholesky rank updates,
// wasmGemmNT for the lazy batch updates) against the scalar syrkLower and gemmNT (src/quant/gptq.ts):
// the same bits, for the products, the Cholesky factor and GPTQ's codes and scales, on random SPD
// matrices across the panel (96) and KC (256) boundaries.

import { describe, expect, it } from 'vitest';
import { choleskyLower, gemmNT, quantizeInt4GptqHessian, syrkLower } from '../src/quant/gptq.js';
import { quantizeAntGptq } from '../src/quant/gptq-ant.js';
import { antType } from '../src/quant/ant.js';
import { wasmGemmNT, wasmSyrkLower } from '../src/kernels/xtx.js';
import { randNormal, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** XᵀX/S of S random rows of K (some columns scaled, one dead) */
function hessian(k: number, s: number, seed: number): Float64Array {
  const r = rng(seed);
  const x = randNormal(s * k, r);
  const h = new Float64Array(k * k);
  for (let row = 0; row < s; row++) {
    for (let i = 0; i < k; i++) {
      const xi = i === 3 ? 0 : x[row * k + i] * (1 + (i % 7));
      for (let j = 0; j < k; j++) h[i * k + j] += (xi * (j === 3 ? 0 : x[row * k + j] * (1 + (j % 7)))) / s;
    }
  }
  return h;
}

describe('wasmSyrkLower gives syrkLower\'s bits', () => {
  it('on rectangular blocks of every remainder, depth past KC, alpha -1 and 0.5', () => {
    const r = rng(7);
    for (const [m, depth, lda, alpha] of [[1, 1, 1, 1], [5, 3, 4, -1], [13, 300, 310, 0.5], [70, 96, 100, -1], [9, 513, 513, 1]]) {
      const a = Float64Array.from(randNormal(m * lda + 5, r));
      const c0 = Float64Array.from(randNormal(m * (m + 2), r));
      const c1 = Float64Array.from(c0);
      syrkLower(a, 5, lda, c0, 1, m + 2, m, depth, alpha);
      wasmSyrkLower(rts.one)(a, 5, lda, c1, 1, m + 2, m, depth, alpha);
      for (let i = 0; i < m; i++) for (let j = 0; j <= i; j++) expect(Object.is(c1[1 + i * (m + 2) + j], c0[1 + i * (m + 2) + j])).toBe(true);
    }
  });

  it('wasmGemmNT gives gemmNT\'s bits on rectangles of every remainder, depth past KC', () => {
    const r = rng(8);
    for (const [m, n, depth, alpha] of [[1, 1, 1, 1], [5, 3, 7, -1], [13, 6, 300, 0.5], [9, 130, 513, 1], [66, 17, 96, 1]]) {
      const lda = depth + 2, ldb = depth + 1, ldc = n + 3;
      const a = Float64Array.from(randNormal(m * lda + 4, r)), b = Float64Array.from(randNormal(n * ldb + 2, r));
      const c0 = Float64Array.from(randNormal(m * ldc + 1, r));
      const c1 = Float64Array.from(c0);
      gemmNT(a, 4, lda, b, 2, ldb, c0, 1, ldc, m, n, depth, alpha, false);
      wasmGemmNT(rts.one)(a, 4, lda, b, 2, ldb, c1, 1, ldc, m, n, depth, alpha);
      expect(same(c1, c0), `${m}x${n}x${depth}`).toBe(true);
    }
  });

  it('Cholesky factors (K 1, 97, 300) are identical in their lower triangle', () => {
    for (const k of [1, 97, 300]) {
      const h = hessian(k, k + 20, k);
      for (let i = 0; i < k; i++) h[i * k + i] += 0.01;
      const a0 = Float64Array.from(h), a1 = Float64Array.from(h);
      expect(choleskyLower(a0, k)).toBe(-1);
      expect(choleskyLower(a1, k, wasmSyrkLower(rts.one))).toBe(-1);
      for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) expect(Object.is(a1[i * k + j], a0[i * k + j])).toBe(true);
    }
  });

  it('int4 GPTQ (act-order and not) and ANT GPTQ give the same codes and scales', () => {
    const k = 260, n = 12;
    const h = hessian(k, 400, 3);
    const w = randNormal(n * k, rng(4), 0.1);
    for (const actOrder of [false, true]) {
      const a = quantizeInt4GptqHessian(w, n, k, h, { blockSize: 32, actOrder, clipSearch: true });
      const b = quantizeInt4GptqHessian(w, n, k, h, { blockSize: 32, actOrder, clipSearch: true, syrk: wasmSyrkLower(rts.one), gemm: wasmGemmNT(rts.one) });
      expect(same(b.q, a.q) && same(b.scales, a.scales)).toBe(true);
    }
    const t = antType('int4');
    const a = quantizeAntGptq(w, n, k, t, h, { blockSize: 64 });
    const b = quantizeAntGptq(w, n, k, t, h, { blockSize: 64, syrk: wasmSyrkLower(rts.one), gemm: wasmGemmNT(rts.one) });
    expect(same(b.codes, a.codes) && same(b.scales, a.scales)).toBe(true);
  });
});
