// Model.run's inputs: onnxruntime-shaped tensors of the six input types; the data must fit the type.

import { describe, expectTypeOf, test } from 'vitest';
import type { Model, ModelInput, ModelInputs } from '../../src/index.js';

describe('ModelInput', () => {
  test('each type takes its typed arrays, and integers as plain numbers', () => {
    expectTypeOf({ type: 'float32' as const, data: new Float32Array(2), dims: [2] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'int64' as const, data: BigInt64Array.of(1n), dims: [] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'int64' as const, data: Float64Array.of(1), dims: [1] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'int64' as const, data: [16000], dims: [] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'int32' as const, data: Int32Array.of(1), dims: [1] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'bool' as const, data: [true, false], dims: [2] }).toExtend<ModelInput>();
    expectTypeOf({ type: 'uint8' as const, data: new Uint8Array(3), dims: [3] }).toExtend<ModelInput>();
  });

  test('data of another type is refused', () => {
    expectTypeOf({ type: 'float32' as const, data: [1, 2], dims: [2] }).not.toExtend<ModelInput>();
    expectTypeOf({ type: 'int64' as const, data: new Float32Array(1), dims: [1] }).not.toExtend<ModelInput>();
    expectTypeOf({ type: 'int8' as const, data: new Uint8Array(1), dims: [1] }).not.toExtend<ModelInput>();
    expectTypeOf({ type: 'float16' as const, data: new Uint16Array(1), dims: [1] }).not.toExtend<ModelInput>();
  });

  test('Model.run takes ModelInputs', () => {
    expectTypeOf<Parameters<Model['run']>[0]>().toEqualTypeOf<ModelInputs>();
  });
});
