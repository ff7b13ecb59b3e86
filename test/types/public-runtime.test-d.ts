// The public Runtime (src/api) is the core plus rt.ops and rt.linear, as the README uses it; the
// core runtime that layers and kernels see has neither.

import { describe, expectTypeOf, test } from 'vitest';
import { createRuntime, type OnnxOps, type QuantizedLinear, type Int4Linear, type TypedLinear, type Runtime } from '../../src/index.js';
import type { KernelRuntime } from '../../src/runtime/runtime.js';
import type { KernelHost } from '../../src/runtime/host.js';

describe('public Runtime', () => {
  test('createRuntime gives a Runtime with ops and linear over the core', () => {
    expectTypeOf(createRuntime).returns.resolves.toEqualTypeOf<Runtime>();
    expectTypeOf<Runtime>().toExtend<KernelRuntime>();
    expectTypeOf<KernelRuntime>().toExtend<KernelHost>();
    expectTypeOf<Runtime['ops']>().toEqualTypeOf<OnnxOps>();
    expectTypeOf<Runtime>().toHaveProperty('features');
    expectTypeOf<Runtime>().toHaveProperty('dispose');
  });

  test('rt.linear picks the layer class by dtype', () => {
    const rt = {} as Runtime, w = new Float32Array(4);
    expectTypeOf(rt.linear(w, [2, 2])).resolves.toEqualTypeOf<QuantizedLinear>();
    expectTypeOf(rt.linear(w, [2, 2], null, { dtype: 'int4' })).resolves.toEqualTypeOf<Int4Linear>();
    expectTypeOf(rt.linear(w, [2, 2], null, { dtype: 'ant4' })).resolves.toEqualTypeOf<TypedLinear>();
  });

  test('the core offers neither', () => {
    expectTypeOf<KernelRuntime>().not.toHaveProperty('ops');
    expectTypeOf<KernelRuntime>().not.toHaveProperty('linear');
  });
});
