// com.microsoft RotaryEmbedding against onnxruntime-web (which has it): 3-D and 4-D input, halves and
// interleaved pairs, position_ids as a start offset [1] and per token [B, S], a partial rotary dim
// (num_heads + rotary_embedding_dim; the rest copied), the caches' last row; bad inputs refused with
// typed errors naming the node and the argument.

import { describe, it } from 'vitest';
import { ShapeError, UnsupportedOperatorError, ValueRangeError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { f, type AttrSpec, type Feed, type IntFeed } from './onnx-builder.js';
import { X, expectLowbitError, expectLowbitRejection } from './model-ort-check.js';
import { checkMs, i64, oneNode, ropeCaches } from './ms-ops-helpers.js';

const rts = useRuntimes();

function rope(x: Feed, pos: IntFeed, rows: number, half: number, attrs: Record<string, AttrSpec> = {}) {
  const feeds = { x, pos };
  const { cos, sin } = ropeCaches(rows, half);
  return { b: oneNode('RotaryEmbedding', 'com.microsoft', ['x', 'pos', 'cos', 'sin'], feeds, { cos, sin }, ['y'], attrs), feeds };
}

describe(`com.microsoft RotaryEmbedding vs onnxruntime-web (${SIMD} build)`, () => {
  it('3-D and 4-D input, interleaved 0 and 1, position_ids [1] and [B, S]', async () => {
    const [B, S, N, H] = [2, 3, 2, 8];
    for (const interleaved of [0, 1]) {
      for (const pos of [i64([1], [4]), i64([1], [0]), i64([B, S], [0, 1, 2, 7, 3, 9])]) {
        for (const x of [X([B, S, N * H], 1), X([B, N, S, H], 2)]) {
          const { b, feeds } = rope(x, pos, 10, H / 2, { interleaved });
          await checkMs(rts.one, b, feeds, 1e-5, `interleaved ${interleaved} x [${x.dims}] pos [${pos.data}]`);
        }
      }
    }
  });

  it('a partial rotary dim (num_heads + rotary_embedding_dim): the tail of each head is copied; the caches\' last row', async () => {
    const [B, S, N, H, R] = [1, 4, 3, 16, 8];
    for (const interleaved of [0, 1]) {
      for (const x of [X([B, S, N * H], 3), X([B, N, S, H], 4)]) {
        const { b, feeds } = rope(x, i64([1], [2]), 6, R / 2, { interleaved, num_heads: N, rotary_embedding_dim: R });
        await checkMs(rts.one, b, feeds, 1e-5, `partial interleaved ${interleaved} [${x.dims}]`);
      }
    }
    const { b, feeds } = rope(X([1, 1, 2 * H], 5), i64([1, 1], [11]), 12, H / 2);
    await checkMs(rts.one, b, feeds, 1e-5, 'last cache row');
  });

  it('bad inputs: positions outside the caches, a sequence longer than them, position_ids of the wrong shape, scale and is_packed_batching', async () => {
    const run = (x: Feed, pos: IntFeed, rows: number, half: number, attrs: Record<string, AttrSpec> = {}) => {
      const { b, feeds } = rope(x, pos, rows, half, attrs);
      const m = loadModel(rts.one, b.build());
      return m.run(feeds as never).finally(() => m.dispose());
    };
    await expectLowbitRejection(run(X([1, 3, 8], 1), i64([1], [3]), 5, 4), ValueRangeError, ["'n1'", 'position_ids[0] + 2 = 5 is outside the 5 rows']);
    await expectLowbitRejection(run(X([1, 2, 8], 1), i64([1, 2], [0, -1]), 5, 4), ValueRangeError, ["'n1'", 'position_ids[0, 1] = -1']);
    await expectLowbitRejection(run(X([1, 6, 8], 1), i64([1], [0]), 5, 4), ShapeError, ["'n1'", 'sequence length 6 exceeds']);
    await expectLowbitRejection(run(X([2, 3, 8], 1), i64([3, 2], [0, 1, 2, 3, 4, 0]), 5, 4), ShapeError, ["'n1'", 'position_ids must be [1]', '[3,2]']);
    await expectLowbitRejection(run(X([1, 3, 12], 1), i64([1], [0]), 5, 4, { num_heads: 2, rotary_embedding_dim: 10 }), ShapeError, ["'n1'", 'rotary dim 10']);
    for (const [attrs, what] of [[{ scale: f(2) }, 'scale 2'], [{ is_packed_batching: 1 }, 'is_packed_batching 1']] as const) {
      const { b } = rope(X([1, 3, 8], 1), i64([1], [0]), 5, 4, attrs);
      expectLowbitError(() => loadModel(rts.one, b.build()), UnsupportedOperatorError, ["'n1'", what]);
    }
  });
});
