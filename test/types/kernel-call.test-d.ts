// Kernel calls are typed from KernelExports: a kernel name that does not exist, or a wrong argument
// count, does not compile. Vitest type-checks this file (typecheck in vitest.config.ts), and an
// expected error that no longer happens fails the run.

import { describe, expectTypeOf, test } from 'vitest';
import type { KernelCall, KernelExports } from '../../src/runtime/exports.js';
import type { KernelHost } from '../../src/runtime/host.js';

declare const rt: KernelHost;

describe('KernelCall', () => {
  test('names an export and passes its arguments', () => {
    expectTypeOf<['f32_softmax_rows', [number, number, number, number]]>().toExtend<KernelCall>();
    expectTypeOf<['f32_softmax_rows', Parameters<KernelExports['f32_softmax_rows']>]>().toExtend<KernelCall>();
    expectTypeOf<['f32_softmax', [number, number, number, number]]>().not.toExtend<KernelCall>();
    expectTypeOf<['f32_softmax_rows', [number, number, number]]>().not.toExtend<KernelCall>();
    expectTypeOf<['f32_softmax_rows', number[]]>().not.toExtend<KernelCall>();
  });

  test('rt.invoke rejects an unknown kernel and a wrong argument count', () => {
    rt.invoke(['f32_gap_nhwc', [0, 1, 2, 3]]);
    // @ts-expect-error: there is no kernel f32_gap
    rt.invoke(['f32_gap', [0, 1, 2, 3]]);
    // @ts-expect-error: f32_gap_nhwc takes 4 arguments
    rt.invoke(['f32_gap_nhwc', [0, 1, 2]]);
    // @ts-expect-error: f32_gap_nhwc takes 4 arguments
    rt.invoke(['f32_gap_nhwc', [0, 1, 2, 3, 4]]);
  });

  test('rt.parallelColumns checks the calls it splits', async () => {
    await rt.parallelColumns(8, 1, (r0, r1) => ['f32_softmax_rows', [r0, r1 - r0, 8, 0]]);
    // @ts-expect-error: f32_softmax_rows takes 4 arguments
    await rt.parallelColumns(8, 1, (r0, r1) => ['f32_softmax_rows', [r0, r1 - r0, 8]]);
    // @ts-expect-error: there is no kernel f32_gemm_4x4
    await rt.parallelColumns(8, 8, (n0, n1) => ['f32_gemm_4x4', [1, n0, n1, 1, 0, 4, 0, 0, 32, 0, -Infinity, Infinity]]);
    // a kernel chosen at run time among several still checks the arguments against each
    const fn = Math.random() < 0.5 ? 'qs8_gemm_4x8c2' : 'qs8_gemm_4x8c4_relaxed';
    await rt.parallelColumns(8, 8, (n0, n1) => [fn, [1, n0, n1, 4, 0, 4, 0, 0, 0, 32]]);
    // @ts-expect-error: both take 10 arguments
    await rt.parallelColumns(8, 8, (n0, n1) => [fn, [1, n0, n1, 4, 0, 4, 0, 0, 0]]);
  });
});
