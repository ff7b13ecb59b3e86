// com.microsoft GroupQueryAttention against onnxruntime-web (which has it): prompts (separate and packed
// QKV, scale, softcap, local_window_size, rotary halves / interleaved / partial), and decoding: several
// steps, each feeding its own present_key / present_value back as past (lowbit's into lowbit,
// onnxruntime's into onnxruntime), in the growing layout (past = the tokens so far) and in the
// fixed-buffer layout with a ragged batch (seqlens_k differ per sequence), with rotary; a prompt after
// past context; the present planned over its past only when nothing else reads it; bad inputs
// refused with typed errors naming the node and the argument.

import { describe, it } from 'vitest';
import { ShapeError, UnsupportedOperatorError, ValueRangeError } from '../src/errors.js';
import { loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { f, runOrtModel, type AttrSpec, type Feed, type IntFeed } from './onnx-builder.js';
import { X, expectLowbitError, expectLowbitRejection, expectOutputsClose } from './model-ort-check.js';
import { checkMs, decode, i32, oneNode, ropeCaches } from './ms-ops-helpers.js';

const rts = useRuntimes();
const [N, NK, H] = [4, 2, 16];
const OUTS = ['y', 'present_key', 'present_value'];
/** which output feeds which input at the next step */
const CARRY = { present_key: 'pk', present_value: 'pv' };

/** GQA over named feeds in the operator's input order ('' for absent); caches as initializers. */
function gqa(ins: string[], feeds: Record<string, Feed | IntFeed>, attrs: Record<string, AttrSpec> = {}, inits: Record<string, [number[], number[]]> = {}, outs = OUTS, heads: [number, number] = [N, NK], declared: Record<string, (number | string)[]> = {}) {
  while (ins[ins.length - 1] === '') ins.pop();
  return oneNode('GroupQueryAttention', 'com.microsoft', ins, feeds, inits, outs, { num_heads: heads[0], kv_num_heads: heads[1], ...attrs }, 17, declared);
}

const prompt = (b: number, s: number, seed = 1, nk = NK) => ({ q: X([b, s, N * H], seed), k: X([b, s, nk * H], seed + 1), v: X([b, s, nk * H], seed + 2) });
const lens = (b: number, total: number) => ({ sk: i32([b], Array(b).fill(total - 1)), tl: i32([1], [total]) });

describe(`com.microsoft GroupQueryAttention vs onnxruntime-web (${SIMD} build)`, () => {
  it('first prompt: kv_num_heads 2 and 1, packed QKV, scale, softcap, local_window_size', async () => {
    const [B, S] = [2, 5];
    for (const nk of [NK, 1]) {
      const feeds = { ...prompt(B, S, 1, nk), ...lens(B, S) };
      for (const attrs of [{}, { scale: f(0.5) }, { softcap: f(1.5) }, { local_window_size: 2 }]) {
        await checkMs(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl'], feeds, attrs, {}, OUTS, [N, nk]), feeds, 1e-5, `kv heads ${nk} ${JSON.stringify(attrs)}`);
      }
    }
    const packed = { q: X([B, S, (N + 2 * NK) * H], 4), ...lens(B, S) };
    await checkMs(rts.one, gqa(['q', '', '', '', '', 'sk', 'tl'], packed), packed, 1e-5, 'packed QKV');
  });

  it('optional outputs absent (y only, y and present_value); smooth_softmax, head_sink, attention_bias [B|1, N|1, S, total] with softcap', async () => {
    const [B, S] = [2, 4];
    const feeds = { ...prompt(B, S), ...lens(B, S) };
    const base = ['q', 'k', 'v', '', '', 'sk', 'tl'];
    for (const outs of [['y'], ['y', '', 'present_value']]) await checkMs(rts.one, gqa(base, feeds, {}, {}, outs), feeds, 1e-5, `outputs ${outs}`);
    await checkMs(rts.one, gqa(base, feeds, { smooth_softmax: 1 }), feeds, 1e-5, 'smooth_softmax');
    const sink: Record<string, [number[], number[]]> = { hs: [[N], [0.5, -1, 2, 0]] };
    await checkMs(rts.one, gqa([...base, '', '', '', '', 'hs'], feeds, {}, sink), feeds, 1e-5, 'head_sink');
    for (const [b0, n0] of [[B, N], [1, 1], [B, 1]]) {
      const all = { ...feeds, ab: X([b0, n0, S, S], 6, 2) };
      for (const attrs of [{}, { softcap: f(2) }, { local_window_size: 2 }]) {
        await checkMs(rts.one, gqa([...base, '', '', '', 'ab'], all, attrs), all, 1e-5, `attention_bias [${b0}, ${n0}] ${JSON.stringify(attrs)}`);
      }
    }
  });

  it('do_rotary: halves and interleaved, a partial rotary dim (head 32, caches of 8), packed QKV; caches without do_rotary do nothing', async () => {
    const [B, S] = [2, 4];
    const { cos, sin } = ropeCaches(8, H / 2);
    const feeds = { ...prompt(B, S), ...lens(B, S) };
    for (const rotary_interleaved of [0, 1]) {
      await checkMs(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl', 'cos', 'sin'], feeds, { do_rotary: 1, rotary_interleaved }, { cos, sin }), feeds, 1e-5, `rotary interleaved ${rotary_interleaved}`);
    }
    await checkMs(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl', 'cos', 'sin'], feeds, {}, { cos, sin }), feeds, 1e-5, 'caches, no do_rotary');
    const packed = { q: X([B, S, (N + 2 * NK) * H], 4), ...lens(B, S) };
    await checkMs(rts.one, gqa(['q', '', '', '', '', 'sk', 'tl', 'cos', 'sin'], packed, { do_rotary: 1 }, { cos, sin }), packed, 1e-5, 'rotary packed QKV');
    const c8 = ropeCaches(8, 8);
    const wide = { q: X([1, 3, 2 * 32], 5), k: X([1, 3, 32], 6), v: X([1, 3, 32], 7), ...lens(1, 3) };
    await checkMs(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl', 'cos', 'sin'], wide, { do_rotary: 1 }, { cos: c8.cos, sin: c8.sin }, OUTS, [2, 1]), wide, 1e-5, 'partial rotary');
  });

  it('decoding, growing cache: a 3-token prompt, then 4 steps of 1 token with past = the tokens so far, rotary on', async () => {
    const B = 2;
    const { cos, sin } = ropeCaches(16, H / 2);
    const attrs = { do_rotary: 1 };
    // the prompt (no past) and the steps (past) as two graphs, as a past of 0 rows cannot be fed
    const promptFeeds = { ...prompt(B, 3), ...lens(B, 3) };
    const promptBytes = gqa(['q', 'k', 'v', '', '', 'sk', 'tl', 'cos', 'sin'], promptFeeds, attrs, { cos, sin }).build();
    const want = await runOrtModel(promptBytes, promptFeeds);
    const m = loadModel(rts.one, promptBytes);
    const got = await m.run(promptFeeds as never).finally(() => m.dispose());
    expectOutputsClose(got, want, 1e-5, 'prompt');
    const stepFeeds = (t: number, past: Record<string, Feed>) => ({ ...prompt(B, 1, 10 + 3 * t), ...past, ...lens(B, 3 + t) });
    const start = { pk: { type: 'float32' as const, dims: want.present_key.dims, data: Float32Array.from(want.present_key.data) }, pv: { type: 'float32' as const, dims: want.present_value.dims, data: Float32Array.from(want.present_value.data) } };
    const first = stepFeeds(1, start);
    // the step graph's past has a symbolic length
    const pastDims = [B, NK, 'past', H];
    const b = gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl', 'cos', 'sin'], first, attrs, { cos, sin }, OUTS, [N, NK], { pk: pastDims, pv: pastDims });
    await decode(rts.one, b.build(), first, (t, past) => stepFeeds(t + 1, past), 4, 'growing', CARRY);
  });

  it('decoding, fixed 8-row buffer with a ragged batch (sequences of 3 and 5 tokens so far), rotary interleaved, kv_num_heads 1', async () => {
    const [B, P, nk] = [2, 8, 1];
    const { cos, sin } = ropeCaches(P, H / 2);
    // a past right-padded with zeros after each sequence's length, as onnxruntime writes it
    const past = (seed: number, len: number[]) => {
      const x = X([B, nk, P, H], seed);
      for (let b = 0; b < B; b++) for (let r = len[b]; r < P; r++) x.data.fill(0, ((b * nk) * P + r) * H, ((b * nk) * P + r + 1) * H);
      return x;
    };
    const step = (t: number, pk: Feed, pv: Feed) => {
      const totals = [3 + t, 5 + t];
      return { ...prompt(B, 1, 20 + 3 * t, nk), pk, pv, sk: i32([B], totals), tl: i32([1], [Math.max(...totals) + 1]) };
    };
    const first = step(0, past(1, [3, 5]), past(2, [3, 5]));
    const b = gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl', 'cos', 'sin'], first, { do_rotary: 1, rotary_interleaved: 1 }, { cos, sin }, OUTS, [N, nk]);
    await decode(rts.one, b.build(), first, (t, p) => step(t, p.pk, p.pv), 3, 'fixed buffer', CARRY);
    // with an attention bias over total_sequence_length columns (fewer than the buffer's rows) and a head sink
    const biased = (t: number, pk: Feed, pv: Feed) => ({ ...step(t, pk, pv), ab: X([B, 1, 1, 6 + t], 30 + t) });
    const firstB = biased(0, first.pk, first.pv);
    const bb = gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl', 'cos', 'sin', '', 'ab', 'hs'], firstB, { do_rotary: 1 }, { cos, sin, hs: [[N], [0, 1, -1, 0.5]] }, OUTS, [N, nk], { ab: [B, 1, 1, 'total'] });
    await decode(rts.one, bb.build(), firstB, (t, p) => biased(t, p.pk, p.pv), 3, 'fixed buffer + attention_bias + head_sink', CARRY);
  });

  it('the present is written over its past only when nothing else reads the past (OpDef.inPlace)', async () => {
    const [B, P] = [1, 8];
    const feeds = { ...prompt(B, 1, 40), pk: X([B, NK, P, H], 41), pv: X([B, NK, P, H], 42), sk: i32([B], [4]), tl: i32([1], [5]) };
    const offsets = (bytes: Uint8Array) => {
      const model = loadModel(rts.one, bytes);
      // total_sequence_length is a plan constant (its value sizes the present), as run() folds it
      const plan = model.plan(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.dims])), { tl: { type: 'int32', dims: [1], data: Float64Array.of(5) } });
      const at = (name: string) => plan.outputs[model.graph.outputs.indexOf(name)].offset;
      const r = [plan.inputs.find((v) => v.name === 'pk')!.offset, at('present_key')];
      model.dispose();
      return r;
    };
    const alone = gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl'], feeds);
    const [pastAlone, presentAlone] = offsets(alone.build());
    if (pastAlone !== presentAlone) throw new Error('the present should be planned over a past only GroupQueryAttention reads');
    // another reader of the past (an output of its own): no aliasing, and the past it reads is the one fed
    const shared = gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl'], feeds);
    shared.node('Identity', ['pk'], ['pk_copy'], {}, 'n2');
    shared.output('pk_copy');
    const [pastShared, presentShared] = offsets(shared.build());
    if (pastShared === presentShared) throw new Error('the present must not be planned over a past another node reads');
    await checkMs(rts.one, shared, feeds, 1e-5, 'past read by GroupQueryAttention and Identity');
  });

  it('a ragged first prompt (sequences of 5 and 3 tokens, right-padded): the presents and every valid row as onnxruntime', async () => {
    const [B, S] = [2, 5];
    const { cos, sin } = ropeCaches(8, H / 2);
    const feeds = { ...prompt(B, S, 40), sk: i32([B], [4, 2]), tl: i32([1], [S]) };
    const bytes = gqa(['q', 'k', 'v', '', '', 'sk', 'tl', 'cos', 'sin'], feeds, { do_rotary: 1 }, { cos, sin }).build();
    const want = await runOrtModel(bytes, feeds);
    const m = loadModel(rts.one, bytes);
    const got = await m.run(feeds as never).finally(() => m.dispose());
    // onnxruntime's padded query rows (s > seqlens_k[b]) read unwritten scores: compare the valid ones
    const valid = (o: { dims: readonly number[]; data: ArrayLike<number> }) => ({ dims: o.dims, data: Array.from(o.data).filter((_, i) => Math.floor(i / (N * H)) % S <= [4, 2][Math.floor(i / (S * N * H))]) });
    expectOutputsClose({ ...got, y: valid(got.y) }, { ...want, y: valid(want.y) }, 1e-5, 'ragged prompt');
  });

  it('a 2-token prompt after 3 past tokens (batch 1), with local_window_size', async () => {
    const feeds = { ...prompt(1, 2), pk: X([1, NK, 3, H], 4), pv: X([1, NK, 3, H], 5), ...lens(1, 5) };
    for (const attrs of [{}, { local_window_size: 2 }]) {
      await checkMs(rts.one, gqa(['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl'], feeds, attrs), feeds, 1e-5, `subsequent prompt ${JSON.stringify(attrs)}`);
    }
  });

  it('bad inputs: seqlens_k outside the buffers, too few cache rows, mismatched heads, unsupported attributes, inputs and outputs', async () => {
    const run = (ins: string[], feeds: Record<string, Feed | IntFeed>, attrs: Record<string, AttrSpec> = {}, inits: Record<string, [number[], number[]]> = {}) => {
      const m = loadModel(rts.one, gqa(ins, feeds, attrs, inits).build());
      return m.run(feeds as never).finally(() => m.dispose());
    };
    const past = { pk: X([1, NK, 3, H], 4), pv: X([1, NK, 3, H], 5) };
    const base = ['q', 'k', 'v', 'pk', 'pv', 'sk', 'tl'];
    await expectLowbitRejection(run(base, { ...prompt(1, 1), ...past, sk: i32([1], [9]), tl: i32([1], [4]) }), ValueRangeError, ["'n1'", 'seqlens_k[0] = 9 does not fit']);
    await expectLowbitRejection(run(base, { ...prompt(2, 3), pk: X([2, NK, 3, H], 1), pv: X([2, NK, 3, H], 2), sk: i32([2], [4, 4]), tl: i32([1], [5]) }), ShapeError, ["'n1'", 'a prompt of 3 tokens after past context', 'needs batch 1']);
    await expectLowbitRejection(run(base, { ...prompt(1, 1), pk: X([1, 3, 3, H], 1), pv: X([1, 3, 3, H], 2), ...lens(1, 4) }), ShapeError, ["'n1'", 'past_key must be [1, 2, 3, 16]']);
    const { cos, sin } = ropeCaches(3, H / 2);
    await expectLowbitRejection(run([...base, 'cos', 'sin'], { ...prompt(1, 1), ...past, ...lens(1, 4) }, { do_rotary: 1 }, { cos, sin }), ShapeError, ["'n1'", 'have 3 rows, fewer than total_sequence_length 4']);
    await expectLowbitRejection(run(['q', 'k', '', '', '', 'sk', 'tl'], { ...prompt(1, 2), ...lens(1, 2) }), ShapeError, ["'n1'", 'key and value must be both present']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', 'sk', 'tl'], { q: X([1, 2, 62], 1), k: X([1, 2, 30], 2), v: X([1, 2, 30], 3), ...lens(1, 2) }), ShapeError, ["'n1'", 'does not split into num_heads 4 heads']);
    const feeds = { ...prompt(1, 2), ...lens(1, 2) };
    for (const [attrs, what] of [[{ sliding_window_cache: 1 }, 'sliding_window_cache 1'], [{ k_quant_type: 'PER_TENSOR' }, 'k_quant_type PER_TENSOR'], [{ causal: 0 }, 'causal 0']] as const) {
      expectLowbitError(() => loadModel(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl'], feeds, attrs).build()), UnsupportedOperatorError, ["'n1'", what]);
    }
    expectLowbitError(() => loadModel(rts.one, gqa(['q', 'k', 'v', '', '', 'sk', 'tl'], feeds, {}, {}, [...OUTS, 'qk']).build()), UnsupportedOperatorError, ["'n1'", 'output 3 (output_qk)']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', 'sk', 'tl', '', '', 'pos'], { ...feeds, pos: { type: 'int64', dims: [1, 2], data: [0, 1] } }), UnsupportedOperatorError, ["'n1'", 'input 9 (position_ids)']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', 'sk', 'tl', '', '', '', 'ab'], { ...feeds, ab: X([1, N, 2, 3], 1) }), ShapeError, ["'n1'", 'attention_bias must be [1 or 1, 4 or 1, 2, 2]']);
    await expectLowbitRejection(run(['q', 'k', 'v', '', '', 'sk', 'tl', '', '', '', '', 'hs'], feeds, {}, { hs: [[2], [0, 1]] }), ShapeError, ["'n1'", 'head_sink must be [4]']);
  });
});
