// Inputs with a dimension of 0, as a decoder's first step feeds its empty past (transformers.js
// exports: past_key_values [B, H, 0, D]): each graph runs with the same output dims and values as
// onnxruntime-web (and where onnxruntime refuses, lowbit gives a typed error).

import { describe, expect, it } from 'vitest';
import { LowbitError, loadModel } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder, runOrtModel, type Feed } from './onnx-builder.js';

const rts = useRuntimes();
const X = (dims: number[], seed = 1): Feed => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), rng(seed)) });

interface Case { name: string; build: () => OnnxBuilder; feeds: Record<string, Feed> }
const past = [1, 2, 0, 4];
const cases: Case[] = [
  { name: 'Concat of an empty past and the new step (axis 2)', build: () => new OnnxBuilder(13).input('p', [1, 2, 'n', 4]).input('k', [1, 2, 1, 4]).output('y').node('Concat', ['p', 'k'], 'y', { axis: 2 }), feeds: { p: X(past), k: X([1, 2, 1, 4], 2) } },
  { name: 'Relu, Add with broadcasting, Mul on an empty tensor', build: () => new OnnxBuilder(13).input('p', [1, 2, 'n', 4]).output('y').init('b', [4], [1, 2, 3, 4]).node('Relu', ['p'], 'r').node('Add', ['r', 'b'], 'a').node('Mul', ['a', 'a'], 'y'), feeds: { p: X(past) } },
  { name: 'Transpose and Shape of an empty tensor', build: () => new OnnxBuilder(13).input('p', [1, 2, 'n', 4]).output('y').output('s', 'int64').node('Transpose', ['p'], 'y', { perm: [0, 2, 1, 3] }).node('Shape', ['p'], 's'), feeds: { p: X(past) } },
  { name: 'MatMul with K = 0 (zeros) and with M = 0', build: () => new OnnxBuilder(13).input('a', [3, 'k']).input('b', ['k', 5]).input('c', ['m', 3]).output('y').output('z').node('MatMul', ['a', 'b'], 'y').node('MatMul', ['c', 'a'], 'z'), feeds: { a: X([3, 0]), b: X([0, 5], 2), c: X([0, 3], 3) } },
  { name: 'MatMul of an empty activation with constant weights (a linear layer)', build: () => new OnnxBuilder(13).input('x', ['m', 8]).output('y').init('w', [8, 6], randNormal(48, rng(5))).node('MatMul', ['x', 'w'], 'y'), feeds: { x: X([0, 8]) } },
  { name: 'Softmax and ReduceSum over an empty axis', build: () => new OnnxBuilder(13).input('p', [1, 2, 'n', 4]).output('y').output('s').node('Softmax', ['p'], 'y', { axis: -1 }).node('ReduceSum', ['p'], 's', { keepdims: 1 }), feeds: { p: X(past) } },
  { name: 'attention over an empty past plus one step: QKᵀ, softmax, ·V', build: () => new OnnxBuilder(13).input('q', [1, 2, 1, 4]).input('pk', [1, 2, 'n', 4]).input('k', [1, 2, 1, 4]).output('y')
    .node('Concat', ['pk', 'k'], 'kk', { axis: 2 }).node('Transpose', ['kk'], 'kt', { perm: [0, 1, 3, 2] }).node('MatMul', ['q', 'kt'], 's').node('Softmax', ['s'], 'p', { axis: -1 }).node('MatMul', ['p', 'kk'], 'y'), feeds: { q: X([1, 2, 1, 4], 4), pk: X(past), k: X([1, 2, 1, 4], 2) } },
  { name: 'Conv on an empty batch', build: () => new OnnxBuilder(13).input('x', ['n', 2, 5, 5]).output('y').init('w', [3, 2, 3, 3], randNormal(54, rng(6))).node('Conv', ['x', 'w'], 'y', { pads: [1, 1, 1, 1] }), feeds: { x: X([0, 2, 5, 5]) } },
];

describe(`inputs with a dimension of 0 (${SIMD} build)`, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const bytes = c.build().build();
      const want = await runOrtModel(bytes, c.feeds).catch((e: Error) => e);
      const model = loadModel(rts.one, bytes);
      try {
        const got = await model.run(c.feeds).catch((e: Error) => e);
        if (want instanceof Error) {
          expect(got, 'onnxruntime refuses it: lowbit must give a typed error').toBeInstanceOf(LowbitError);
          return;
        }
        if (got instanceof Error) throw got; // onnxruntime runs it, so must lowbit
        for (const [name, w] of Object.entries(want as Record<string, { type: string; dims: number[]; data: number[] }>)) {
          expect(got[name].type, name).toBe(w.type);
          expect(got[name].dims, name).toEqual(w.dims);
          expect(got[name].data.length, name).toBe(w.data.length);
          w.data.forEach((v, i) => expect(Number(got[name].data[i]), `${name}[${i}]`).toBeCloseTo(v, 5));
        }
      } finally {
        model.dispose();
      }
    });
  }
});
