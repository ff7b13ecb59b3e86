// ONNX-semantics operators: against the scalar references and, on random data, against
// onnxruntime-web running the same operator; plus the errors bad inputs must give.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LowbitError, tensor, type Runtime, type Tensor } from '../src/index.js';
import { refMatMulInteger } from '../src/kernels.js';
import { SIMD, firstMismatch, randInt8, randNormal, randUint8, rng, testRuntime } from './helpers.js';
import { runOrt } from './ort-oracle.js';
import * as ort from 'onnxruntime-web';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime(1);
});
afterAll(() => rt?.dispose());

const u8 = (v: number) => tensor('uint8', Uint8Array.of(v), []);
const i8 = (v: number) => tensor('int8', Int8Array.of(v), []);
const f32 = (v: number) => tensor('float32', Float32Array.of(v), []);

describe(`ONNX operators vs onnxruntime-web (${SIMD} build)`, () => {
  it('MatMulInteger: u8 x s8, s8 x s8, u8 x u8, with scalar and per-column zero points, batched', async () => {
    const r = rng(1);
    const shapes: [number[], number[]][] = [
      [[5, 33], [33, 17]],
      [[1, 64], [64, 40]],
      [[2, 3, 20], [20, 9]],
      [[2, 4, 7], [2, 7, 5]],
      [[16], [16, 3]],
    ];
    for (const [ad, bd] of shapes) {
      for (const [at, bt] of [['uint8', 'int8'], ['int8', 'int8'], ['uint8', 'uint8']] as const) {
        const an = ad.reduce((x, y) => x * y, 1);
        const bn = bd.reduce((x, y) => x * y, 1);
        const A = at === 'uint8' ? tensor('uint8', randUint8(an, r), ad) : tensor('int8', randInt8(an, r), ad);
        const B = bt === 'uint8' ? tensor('uint8', randUint8(bn, r), bd) : tensor('int8', randInt8(bn, r), bd);
        const n = bd[bd.length - 1];
        const za = at === 'uint8' ? u8(Math.floor(r() * 256)) : i8(Math.floor(r() * 256) - 128);
        const zb: Tensor =
          bd.length === 2 && r() < 0.5
            ? bt === 'uint8' ? tensor('uint8', randUint8(n, r), [n]) : tensor('int8', randInt8(n, r), [n])
            : bt === 'uint8' ? u8(Math.floor(r() * 256)) : i8(Math.floor(r() * 256) - 128);
        const got = await rt.ops.matMulInteger(A, B, za, zb);
        const want = (await runOrt('MatMulInteger', [A, B, za, zb], ['Y'], {}, 10)).Y;
        expect(got.dims).toEqual(want.dims);
        expect(firstMismatch(got.data, want.data), `${at}x${bt} ${ad}x${bd}`).toBeNull();
      }
    }
  });

  it('takes ort.Tensor objects as they are', async () => {
    const r = rng(11);
    const a = new ort.Tensor('uint8', randUint8(4 * 6, r), [4, 6]);
    const b = new ort.Tensor('int8', randInt8(6 * 3, r), [6, 3]);
    const got = await rt.ops.matMulInteger(a as unknown as Tensor, b as unknown as Tensor);
    expect(firstMismatch(got.data, refMatMulInteger(a.data as Uint8Array, b.data as Int8Array, 4, 6, 3, 0, [0, 0, 0]))).toBeNull();
  });

  it('QLinearMatMul: uint8 and int8 outputs, per-tensor and per-column b scales', async () => {
    const r = rng(2);
    for (const [m, k, n] of [[4, 40, 12], [1, 100, 33], [9, 17, 8]]) {
      for (const yType of ['uint8', 'int8'] as const) {
        for (const perCol of [false, true]) {
          // onnxruntime implements y of a's type only
          const A = yType === 'uint8' ? tensor('uint8', randUint8(m * k, r), [m, k]) : tensor('int8', randInt8(m * k, r), [m, k]);
          const B = tensor('int8', randInt8(k * n, r), [k, n]);
          const bScale = perCol ? tensor('float32', Float32Array.from({ length: n }, () => 0.002 + r() * 0.01), [n]) : f32(0.004);
          const bZero = perCol ? tensor('int8', new Int8Array(n), [n]) : i8(0);
          const yZero = yType === 'uint8' ? u8(120) : i8(-7);
          const inputs = [A, f32(0.02), yType === 'uint8' ? u8(131) : i8(-9), B, bScale, bZero, f32(0.9), yZero] as const;
          const got = await rt.ops.qlinearMatMul(...inputs);
          const want = (await runOrt('QLinearMatMul', [...inputs], ['Y'], {}, 13)).Y;
          expect(got.type).toBe(yType);
          expect(firstMismatch(got.data, want.data), `${m}x${k}x${n} ${yType} perCol=${perCol}`).toBeNull();
          expect(new Set(got.data).size).toBeGreaterThan(5);
        }
      }
    }
  });

  it('QuantizeLinear / DequantizeLinear: per tensor and per axis, uint8 and int8', async () => {
    const r = rng(3);
    const x = tensor('float32', randNormal(2 * 3 * 10, r, 3), [2, 3, 10]);
    for (const type of ['uint8', 'int8'] as const) {
      const zp = type === 'uint8' ? u8(128) : i8(-2);
      let got = await rt.ops.quantizeLinear(x, f32(0.05), zp);
      let want = (await runOrt('QuantizeLinear', [x, f32(0.05), zp], ['Y'])).Y;
      expect(firstMismatch(got.data, want.data)).toBeNull();
      const s3 = tensor('float32', Float32Array.of(0.01, 0.03, 0.1), [3]);
      const z3 = type === 'uint8' ? tensor('uint8', Uint8Array.of(0, 128, 255), [3]) : tensor('int8', Int8Array.of(-128, 0, 127), [3]);
      got = await rt.ops.quantizeLinear(x, s3, z3, { axis: 1 });
      want = (await runOrt('QuantizeLinear', [x, s3, z3], ['Y'], { axis: 1 })).Y;
      expect(firstMismatch(got.data, want.data)).toBeNull();
      const back = await rt.ops.dequantizeLinear(got, s3, z3, { axis: 1 });
      const backWant = (await runOrt('DequantizeLinear', [got, s3, z3], ['Y'], { axis: 1 })).Y;
      expect(firstMismatch(back.data, backWant.data)).toBeNull();
      const s10 = tensor('float32', Float32Array.from({ length: 10 }, (_, i) => 0.01 * (i + 1)), [10]);
      const z10 = type === 'uint8' ? tensor('uint8', new Uint8Array(10).fill(77), [10]) : tensor('int8', new Int8Array(10).fill(5), [10]);
      got = await rt.ops.quantizeLinear(x, s10, z10, { axis: -1 });
      want = (await runOrt('QuantizeLinear', [x, s10, z10], ['Y'], { axis: -1 })).Y;
      expect(firstMismatch(got.data, want.data)).toBeNull();
    }
  });

  it('QuantizeLinear saturates, rounds half to even, and maps ±Infinity to the range ends', async () => {
    const x = tensor('float32', Float32Array.of(0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1000, -1000, Infinity, -Infinity, 127.5, 126.5), [12]);
    const got = await rt.ops.quantizeLinear(x, f32(1), i8(0));
    expect(Array.from(got.data)).toEqual([0, 2, 2, 0, -2, -2, 127, -128, 127, -128, 127, 126]);
    const want = (await runOrt('QuantizeLinear', [x, f32(1), i8(0)], ['Y'])).Y;
    expect(firstMismatch(got.data, want.data)).toBeNull();
  });

  it('DynamicQuantizeLinear: positive, negative, mixed and all-zero inputs', async () => {
    const r = rng(4);
    const inputs = [
      randNormal(1000, r, 2),
      Float32Array.from({ length: 77 }, () => r() * 5),
      Float32Array.from({ length: 77 }, () => -r() * 5),
      new Float32Array(16),
      Float32Array.of(1, 2.5, -3.75, 0, 100, -0.001),
    ];
    for (const data of inputs) {
      const x = tensor('float32', data, [data.length]);
      const [y, s, z] = await rt.ops.dynamicQuantizeLinear(x);
      const want = await runOrt('DynamicQuantizeLinear', [x], ['Y', 'S', 'Z'], {}, 11);
      expect(s.data[0]).toBe(want.S.data[0]);
      expect(z.data[0]).toBe(want.Z.data[0]);
      expect(firstMismatch(y.data, want.Y.data)).toBeNull();
    }
  });

  it('MatMul and Gemm in float32 agree with onnxruntime-web within 1e-5 relative', async () => {
    const r = rng(5);
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
      return worst;
    };
    for (const [ad, bd] of [[[7, 33], [33, 9]], [[2, 5, 8], [8, 3]], [[3, 2, 4, 6], [3, 1, 6, 5]]] as const) {
      const A = tensor('float32', randNormal(ad.reduce((x, y) => x * y, 1), r), ad);
      const B = tensor('float32', randNormal(bd.reduce((x, y) => x * y, 1), r), bd);
      const got = await rt.ops.matMul(A, B);
      const want = (await runOrt('MatMul', [A, B], ['Y'])).Y;
      expect(got.dims).toEqual(want.dims);
      expect(close(got.data, want.data)).toBeLessThan(1e-5);
    }
    const A = tensor('float32', randNormal(6 * 4, r), [6, 4]);
    const B = tensor('float32', randNormal(5 * 6, r), [5, 6]);
    const C = tensor('float32', randNormal(5, r), [5]);
    const attrs = { alpha: 0.5, beta: 2, transA: 1, transB: 1 };
    const got = await rt.ops.gemm(A, B, C, attrs);
    const want = (await runOrt('Gemm', [A, B, C], ['Y'], attrs)).Y;
    expect(close(got.data, want.data)).toBeLessThan(1e-5);
  });
});

describe('bad inputs give clear LowbitErrors', () => {
  const A = tensor('uint8', new Uint8Array(6), [2, 3]);
  const B = tensor('int8', new Int8Array(12), [3, 4]);

  async function rejects(p: Promise<unknown>, code: string, text: RegExp) {
    const e = await p.then(() => null, (x: unknown) => x);
    expect(e, 'expected a rejection').toBeInstanceOf(LowbitError);
    expect((e as LowbitError).code).toBe(code);
    expect((e as Error).message).toMatch(text);
  }

  it('wrong dims, dtype, mismatched data length', async () => {
    await rejects(rt.ops.matMulInteger(A, tensor('int8', new Int8Array(8), [2, 4])), 'ERR_SHAPE', /inner dimensions differ \(3 vs 2\)/);
    await rejects(rt.ops.matMulInteger(tensor('float32', new Float32Array(6), [2, 3]) as Tensor, B), 'ERR_DTYPE', /A: expected type int8 or uint8, got float32/);
    await rejects(rt.ops.matMulInteger({ type: 'uint8', data: new Uint8Array(5), dims: [2, 3] } as Tensor, B), 'ERR_SHAPE', /hold 6 elements but data has 5/);
    await rejects(rt.ops.matMulInteger({ type: 'uint8', data: new Int8Array(6), dims: [2, 3] } as unknown as Tensor, B), 'ERR_DTYPE', /needs data as Uint8Array/);
    await rejects(rt.ops.matMulInteger(A, { type: 'int8', data: new Int8Array(12), dims: [3, -4] } as Tensor), 'ERR_SHAPE', /non-negative integers/);
    await rejects(rt.ops.matMulInteger(null as unknown as Tensor, B), 'ERR_ARGUMENT', /A: expected a tensor/);
  });

  it('zero points of the wrong type or shape', async () => {
    await rejects(rt.ops.matMulInteger(A, B, i8(3)), 'ERR_DTYPE', /a_zero_point: must have the type of its input \(uint8\)/);
    await rejects(rt.ops.matMulInteger(A, B, null, tensor('int8', new Int8Array(3), [3])), 'ERR_SHAPE', /b_zero_point: expected a scalar or a 1-D tensor of 4/);
    await rejects(rt.ops.matMulInteger(A, B, tensor('uint8', new Uint8Array(2), [2])), 'ERR_SHAPE', /a_zero_point: expected a scalar/);
  });

  it('non-finite or non-positive scales', async () => {
    const bad = [NaN, Infinity, 0, -1];
    for (const s of bad) {
      await rejects(rt.ops.qlinearMatMul(A, f32(s), u8(0), B, f32(1), i8(0), f32(1), u8(0)), 'ERR_RANGE', /a_scale: scales must be finite and > 0/);
      await rejects(rt.ops.quantizeLinear(tensor('float32', new Float32Array(2), [2]), f32(s)), 'ERR_RANGE', /y_scale/);
    }
    await rejects(
      rt.ops.qlinearMatMul(A, f32(1), u8(0), B, tensor('float32', Float32Array.of(1, 1, NaN, 1), [4]), tensor('int8', new Int8Array(4), [4]), f32(1), u8(0)),
      'ERR_RANGE', /b_scale: scales must be finite and > 0, got NaN at index 2/,
    );
  });

  it('per-axis scale count that does not match the axis, and a bad axis', async () => {
    const x = tensor('float32', new Float32Array(6), [2, 3]);
    await rejects(rt.ops.quantizeLinear(x, tensor('float32', Float32Array.of(1, 1), [2]), null, { axis: 1 }), 'ERR_SHAPE', /has 2 scales but input axis 1 has size 3/);
    await rejects(rt.ops.quantizeLinear(x, tensor('float32', Float32Array.of(1, 1, 1), [3]), null, { axis: 5 }), 'ERR_ARGUMENT', /axis: 5 is out of range/);
  });

  it('DynamicQuantizeLinear refuses NaN and Infinity instead of returning garbage', async () => {
    await rejects(rt.ops.dynamicQuantizeLinear(tensor('float32', Float32Array.of(1, NaN), [2])), 'ERR_RANGE', /NaN or Infinity/);
    await rejects(rt.ops.dynamicQuantizeLinear(tensor('float32', Float32Array.of(1, -Infinity), [2])), 'ERR_RANGE', /NaN or Infinity/);
  });

  it('the reference agrees with the kernel on the op path too', async () => {
    const r = rng(9);
    const a = randUint8(3 * 5, r);
    const b = randInt8(5 * 2, r);
    const got = await rt.ops.matMulInteger(tensor('uint8', a, [3, 5]), tensor('int8', b, [5, 2]), u8(9), i8(-4));
    expect(firstMismatch(got.data, refMatMulInteger(a, b, 3, 5, 2, 9, [-4, -4]))).toBeNull();
  });
});
