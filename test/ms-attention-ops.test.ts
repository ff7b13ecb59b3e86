// com.microsoft MultiHeadAttention against onnxruntime-web (which has it): self and cross attention,
// Q/K/V bias, scale, every key_padding_mask form ([B] lengths, [B, T], [B, S, T]), attention_bias with
// its batch and head broadcasts, unidirectional (with and without past; as onnxruntime, the last query row is not masked), mask_filter_value, past_key /
// past_value -> present_key / present_value, 4-D key and value; bad inputs refused with typed errors.

import { describe, it } from 'vitest';
import { ModelError, ShapeError, UnsupportedOperatorError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { f, type AttrSpec, type Feed, type IntFeed } from './onnx-builder.js';
import { W, X, expectLowbitError, expectLowbitRejection } from './model-ort-check.js';
import { checkMs, i32, oneNode } from './ms-ops-helpers.js';

const rts = useRuntimes();
const [B, S, N, H] = [2, 4, 2, 8];
const D = N * H;

/** MHA over named feeds: `ins` in the operator's input order ('' for absent). */
function mha(ins: string[], feeds: Record<string, Feed | IntFeed>, outs: string[] = ['y'], attrs: Record<string, AttrSpec> = {}, inits: Record<string, [number[], number[]]> = {}) {
  while (ins[ins.length - 1] === '') ins.pop();
  return oneNode('MultiHeadAttention', 'com.microsoft', ins, feeds, inits, outs, { num_heads: N, ...attrs });
}

describe(`com.microsoft MultiHeadAttention vs onnxruntime-web (${SIMD} build)`, () => {
  it('self and cross attention (L != S, value heads of another size), bias, scale default and set', async () => {
    for (const [L, Dv] of [[S, D], [5, D], [3, 8]]) {
      const feeds = { q: X([B, S, D], 1), k: X([B, L, D], 2), v: X([B, L, Dv], 3) };
      for (const bias of [false, true]) {
        for (const attrs of [{}, { scale: f(0.3) }]) {
          const inits: Record<string, [number[], number[]]> = bias ? { bias: [[2 * D + Dv], W(2 * D + Dv, 4)] } : {};
          await checkMs(rts.one, mha(['q', 'k', 'v', bias ? 'bias' : ''], feeds, ['y'], attrs, inits), feeds, 1e-5, `L ${L} Dv ${Dv} bias ${bias} ${JSON.stringify(attrs)}`);
        }
      }
    }
  });

  it('key_padding_mask [B] lengths, [B, T] and [B, S, T]; mask_filter_value default and -3 (a masked key keeps some weight); unidirectional', async () => {
    const L = 5;
    const feeds = { q: X([B, S, D], 1), k: X([B, L, D], 2), v: X([B, L, D], 3) };
    const rows = Array.from({ length: B * S * L }, (_, i) => ((i * 7) % 5 === 0 ? 0 : 1));
    for (const mask of [i32([B], [3, 5]), i32([B], [0, 2]), i32([B, L], [1, 1, 0, 1, 0, 0, 1, 1, 1, 1]), i32([B, S, L], rows)]) {
      for (const attrs of [{}, { mask_filter_value: f(-3) }, { unidirectional: 1 }]) {
        const all = { ...feeds, m: mask };
        await checkMs(rts.one, mha(['q', 'k', 'v', '', 'm'], all, ['y'], attrs), all, 1e-5, `mask [${mask.dims}] ${JSON.stringify(attrs)}`);
      }
    }
    // causal alone, and one query row (causal does nothing then)
    for (const s of [S, 1]) {
      const fs = { q: X([B, s, D], 4), k: X([B, s, D], 5), v: X([B, s, D], 6) };
      await checkMs(rts.one, mha(['q', 'k', 'v'], fs, ['y'], { unidirectional: 1 }), fs, 1e-5, `unidirectional S ${s}`);
    }
  });

  it('attention_bias [B|1, N|1, S, T], with a mask and a bias', async () => {
    const L = 3;
    const feeds = { q: X([B, S, D], 1), k: X([B, L, D], 2), v: X([B, L, D], 3) };
    for (const [b0, n0] of [[B, N], [1, N], [B, 1], [1, 1]]) {
      const all = { ...feeds, ab: X([b0, n0, S, L], 9, 2), m: i32([B], [2, 3]) };
      await checkMs(rts.one, mha(['q', 'k', 'v', '', '', 'ab'], all), all, 1e-5, `attention_bias [${b0}, ${n0}]`);
      await checkMs(rts.one, mha(['q', 'k', 'v', 'bias', 'm', 'ab'], all, ['y'], {}, { bias: [[3 * D], W(3 * D, 4)] }), all, 1e-5, `attention_bias [${b0}, ${n0}] + mask + bias`);
    }
  });

  it('past_key / past_value -> present_key / present_value (decoding), with bias, mask [B, T] and unidirectional; presents without past', async () => {
    const P = 3;
    for (const s of [1, 2]) {
      const feeds = { q: X([B, s, D], 1), k: X([B, s, D], 2), v: X([B, s, D], 3), pk: X([B, N, P, H], 4), pv: X([B, N, P, H], 5) };
      const T = P + s;
      const mask = i32([B, T], Array.from({ length: B * T }, (_, i) => (i % T === 1 ? 0 : 1)));
      for (const attrs of [{}, { unidirectional: 1 }]) {
        const all = { ...feeds, m: mask };
        const b = mha(['q', 'k', 'v', 'bias', 'm', '', 'pk', 'pv'], all, ['y', 'pk_out', 'pv_out'], attrs, { bias: [[3 * D], W(3 * D, 6)] });
        await checkMs(rts.one, b, all, 1e-5, `past S ${s} ${JSON.stringify(attrs)}`);
      }
    }
    const feeds = { q: X([B, S, D], 1), k: X([B, S, D], 2), v: X([B, S, D], 3) };
    await checkMs(rts.one, mha(['q', 'k', 'v'], feeds, ['y', 'pk_out', 'pv_out']), feeds, 1e-5, 'presents without past');
  });

  it('key and value as (B, N, L, H) (cross attention over a cached encoder), with presents', async () => {
    const L = 5;
    const feeds = { q: X([B, S, D], 1), k: X([B, N, L, H], 2), v: X([B, N, L, H], 3) };
    await checkMs(rts.one, mha(['q', 'k', 'v'], feeds, ['y', 'pk_out', 'pv_out']), feeds, 1e-5, '4-D key and value');
    const all = { ...feeds, m: i32([B, L], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]) };
    await checkMs(rts.one, mha(['q', 'k', 'v', '', 'm'], all), all, 1e-5, '4-D key and value + mask');
  });

  it('bad inputs: typed errors naming the node and the argument', async () => {
    const feeds = { q: X([B, S, D], 1), k: X([B, S, D], 2), v: X([B, S, D], 3) };
    const run = (ins: string[], fs: Record<string, Feed | IntFeed>, inits: Record<string, [number[], number[]]> = {}) => {
      const m = loadModel(rts.one, mha(ins, fs, ['y'], {}, inits).build());
      return m.run(fs as never).finally(() => m.dispose());
    };
    await expectLowbitRejection(run(['q', 'k', 'v', 'bias'], feeds, { bias: [[D], W(D, 1)] }), ShapeError, ["'n1'", `bias must be [${3 * D}]`]);
    await expectLowbitRejection(run(['q', 'k', 'v', '', 'm'], { ...feeds, m: i32([B, 3], [1, 1, 1, 1, 1, 1]) }), ShapeError, ["'n1'", 'key_padding_mask must be', '[2,3]']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', 'm'], { ...feeds, m: i32([3 * B + 2], [4, 4, 0, 0, 0, 0, 0, 0]) }), UnsupportedOperatorError, ["'n1'", '3·batch + 2']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', 'ab'], { ...feeds, ab: X([B, 3, S, S], 1) }), ShapeError, ["'n1'", 'attention_bias must be']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', '', 'pk'], { ...feeds, pk: X([B, N, 2, H], 1) }), ShapeError, ["'n1'", 'past_key and past_value must be both present']);
    await expectLowbitRejection(run(['q', 'k', 'v'], { q: X([B, S, 15], 1), k: X([B, S, 15], 2), v: X([B, S, 15], 3) }), ShapeError, ["'n1'", 'not a multiple of num_heads 2']);
    await expectLowbitRejection(run(['q'], { q: X([B, S, N, 3, H], 1) }), UnsupportedOperatorError, ["'n1'", 'packed QKV']);
    expectLowbitError(() => loadModel(rts.one, mha(['q', 'k', 'v'], feeds, ['y', '', '', 'qk']).build()), UnsupportedOperatorError, ["'n1'", 'output 3 (qk)']);
    const past = { ...feeds, pk: X([B, N, 2, H], 1), pv: X([B, N, 2, H], 2) };
    for (const outs of [['y'], ['y', '', 'pv_out']]) {
      expectLowbitError(() => loadModel(rts.one, mha(['q', 'k', 'v', '', '', '', 'pk', 'pv'], past, outs).build()), UnsupportedOperatorError, ["'n1'", 'past_key and past_value need both present_key and present_value']);
    }
    expectLowbitError(() => loadModel(rts.one, mha(['q', 'k', 'v', '', 'm'], { ...feeds, m: { type: 'int64', dims: [B], data: [1, 2] } }).build()), ModelError, ["'n1'", 'key_padding_mask', 'int64']);
  });
});
