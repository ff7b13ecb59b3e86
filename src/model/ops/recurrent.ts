// What LSTM, GRU and RNN share: attributes, input checks and output dims (ONNX opsets 7-22; the
// layout attribute from 14), and the sequence loop that runs a cell over each direction, batch row
// and time step (sequence_lens: a row stops at its length, its later outputs are zero, Y_h/Y_c are
// its state after its last step, all zero for length 0, as onnxruntime does).
//
// Float32 values, as onnxruntime: X·Wᵀ for every step first, into one buffer (bias included), then
// per step the cell adds h·Rᵀ (a RecurrentMul) and applies the gates. The loop and the cells are
// shared by the host op (runRecurrent: products in JavaScript) and the model layer with constant
// weights (src/model/recurrent-layer.ts: products on the wasm float32 GEMM). The host products read
// W and R as ONNX lays them out ([gates*H][K] rows, K contiguous): each output is a dot product over
// one contiguous row, four rows per pass sharing the loads of x or h, summed in float64 and rounded
// to float32 once (onnxruntime rounds every partial sum: the two differ by float32 rounding, ~1e-7
// relative). Scratch memory is one growing pool: no allocation per step.

import { ArgumentError, DTypeError, ShapeError, ValueRangeError } from '../../errors.js';
import type { GraphNode, HostData } from '../graph.js';
import { activate, parseActivations, type Activation } from './rnn-activations.js';
import { attr, fail, type HostValue, type OpContext, type ValueInfo } from './types.js';

export interface RecurrentOp {
  readonly op: 'LSTM' | 'GRU' | 'RNN';
  /** gates per direction: the row blocks of W and R */
  readonly gates: number;
  /** default activations of one direction */
  readonly activations: readonly string[];
  /** Y, Y_h (, Y_c) */
  readonly outputs: number;
  /** inputs after the common six (LSTM: initial_c, P) */
  readonly inputs: number;
  readonly cell: (c: CellArgs) => Cell;
  /** X·Wᵀ rows get Wb + Rb as bias, Wb alone from this gate column on (GRU's h with linear_before_reset) */
  readonly wOnlyBiasFrom?: (a: RecurrentAttrs, H: number) => number;
}

export interface RecurrentAttrs {
  readonly directions: 1 | 2;
  /** direction 'reverse' (with 'bidirectional', direction 1 runs backwards) */
  readonly reverse: boolean;
  /** hidden_size, or null when absent (R's last dim then) */
  readonly hidden: number | null;
  readonly layout: 0 | 1;
  /** clip threshold; Infinity when absent */
  readonly clip: number;
  /** activations[direction][function] */
  readonly acts: Activation[][];
  readonly inputForget: boolean;
  readonly linearBeforeReset: boolean;
}

const attrCache = new WeakMap<GraphNode, RecurrentAttrs>();

/** The node's attributes, checked (what check() runs at load time). */
export function recurrentAttrs(ctx: OpContext, op: RecurrentOp): RecurrentAttrs {
  const have = attrCache.get(ctx.node);
  if (have) return have;
  const node = ctx.node;
  const direction = attr(node, 'direction', 'forward');
  if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') {
    fail(ctx, `attribute 'direction' is '${direction}', expected forward, reverse or bidirectional`, ArgumentError);
  }
  const directions = direction === 'bidirectional' ? 2 : 1;
  const h = node.attrs.get('hidden_size');
  if (h !== undefined && (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 1)) fail(ctx, `attribute 'hidden_size' must be a positive integer, got ${String(h)}`, ArgumentError);
  const layout = attr(node, 'layout', 0);
  if (layout !== 0 && layout !== 1) fail(ctx, `attribute 'layout' must be 0 or 1, got ${layout}`, ArgumentError);
  // 'layout' before opset 14 is refused at load by the schema check (src/model/validate-schema.ts)
  const clip = node.attrs.has('clip') ? attr(node, 'clip', 0) : Infinity;
  if (!(clip > 0)) fail(ctx, `attribute 'clip' must be a positive threshold, got ${clip}`, ArgumentError);
  const flag = (name: string, only: string): boolean => {
    const v = attr(node, name, 0);
    if (v !== 0 && v !== 1) fail(ctx, `attribute '${name}' must be 0 or 1, got ${v}`, ArgumentError);
    if (v && op.op !== only) fail(ctx, `attribute '${name}' belongs to ${only}`, ArgumentError);
    return v === 1;
  };
  const a: RecurrentAttrs = {
    directions, reverse: direction === 'reverse', hidden: (h as number | undefined) ?? null, layout, clip,
    acts: parseActivations(ctx, op.activations, directions),
    inputForget: flag('input_forget', 'LSTM'), linearBeforeReset: flag('linear_before_reset', 'GRU'),
  };
  if (node.outputs.length > op.outputs) fail(ctx, `has ${node.outputs.length} outputs, ${op.op} has at most ${op.outputs}`, ArgumentError);
  attrCache.set(node, a);
  return a;
}

export interface RecurrentDims {
  /** seq_length, batch_size, input_size, hidden_size, num_directions */
  readonly T: number;
  readonly N: number;
  readonly I: number;
  readonly H: number;
  readonly D: number;
}

interface Info {
  type: ValueInfo['type'];
  dims: readonly number[];
  value?: { data: HostData };
}

/** Checks every input's type and dims; the sizes. */
export function recurrentDims(ctx: OpContext, op: RecurrentOp, a: RecurrentAttrs, ins: readonly (Info | null)[]): RecurrentDims {
  const float = (i: number, name: string, required: boolean): Info | null => {
    const v = ins[i];
    if (!v && required) fail(ctx, `input ${i} (${name}) is required`);
    if (v && v.type !== 'float32') fail(ctx, `${name}: expected type float32, got ${v.type}`, DTypeError);
    return v ?? null;
  };
  const x = float(0, 'X', true)!, w = float(1, 'W', true)!, r = float(2, 'R', true)!;
  const shape = (v: Info, name: string, want: number[], what: string) => {
    if (v.dims.length !== want.length || v.dims.some((d, i) => d !== want[i])) fail(ctx, `${name} must be ${what} = [${want.join(', ')}], got [${v.dims.join(', ')}]`, ShapeError);
  };
  if (x.dims.length !== 3) fail(ctx, `X must be 3-D [${a.layout ? 'batch_size, seq_length' : 'seq_length, batch_size'}, input_size], got [${x.dims.join(', ')}]`, ShapeError);
  const [T, N] = a.layout ? [x.dims[1], x.dims[0]] : [x.dims[0], x.dims[1]];
  const I = x.dims[2], D = a.directions, G = op.gates;
  const H = a.hidden ?? (r.dims.length === 3 ? r.dims[2] : 0);
  if (H < 1) fail(ctx, `R must be [num_directions, ${G}*hidden_size, hidden_size], got [${r.dims.join(', ')}]`, ShapeError);
  const hs = a.hidden === null ? 'hidden_size (from R)' : 'hidden_size';
  shape(w, 'W', [D, G * H, I], `[num_directions, ${G}*${hs}, input_size]`);
  shape(r, 'R', [D, G * H, H], `[num_directions, ${G}*${hs}, ${hs}]`);
  const b = float(3, 'B', false);
  if (b) shape(b, 'B', [D, 2 * G * H], `[num_directions, ${2 * G}*${hs}]`);
  const lens = ins[4];
  if (lens) {
    if (lens.type !== 'int32') fail(ctx, `sequence_lens: expected type int32, got ${lens.type}`, DTypeError);
    shape(lens, 'sequence_lens', [N], '[batch_size]');
    if (lens.value) sequenceLengths(ctx, lens.value.data, N, T);
  }
  const state = a.layout ? [N, D, H] : [D, N, H];
  const stateWhat = a.layout ? '[batch_size, num_directions, hidden_size]' : '[num_directions, batch_size, hidden_size]';
  const h0 = float(5, 'initial_h', false);
  if (h0) shape(h0, 'initial_h', state, stateWhat);
  if (op.op === 'LSTM') {
    const c0 = float(6, 'initial_c', false);
    if (c0) shape(c0, 'initial_c', state, stateWhat);
    const p = float(7, 'P', false);
    if (p) shape(p, 'P', [D, 3 * H], `[num_directions, 3*${hs}]`);
  }
  if (ins.length > 6 + op.inputs) fail(ctx, `has ${ins.length} inputs, ${op.op} takes at most ${6 + op.inputs}`, ArgumentError);
  return { T, N, I, H, D };
}

/** Output dims: Y, then Y_h (and Y_c). */
export function recurrentInfer(ctx: OpContext, op: RecurrentOp, ins: (ValueInfo | null)[]): { type: 'float32'; dims: number[] }[] {
  const a = recurrentAttrs(ctx, op);
  const { T, N, H, D } = recurrentDims(ctx, op, a, ins);
  const y = a.layout ? [N, T, D, H] : [T, D, N, H];
  const state = a.layout ? [N, D, H] : [D, N, H];
  return ctx.node.outputs.map((_, i) => ({ type: 'float32', dims: i === 0 ? y : [...state] }));
}

/** sequence_lens, each checked to lie in [0, T]. */
export function sequenceLengths(ctx: OpContext, data: ArrayLike<number>, N: number, T: number): ArrayLike<number> {
  for (let n = 0; n < N; n++) {
    const v = data[n];
    if (!Number.isInteger(v) || v < 0 || v > T) fail(ctx, `sequence_lens[${n}] is ${v}, expected 0…seq_length (${T})`, ValueRangeError);
  }
  return data;
}

// ---- the driver ----

/**
 * out[o + j] += (v·R_dᵀ)[from + j] for j < to - from: rows [from, to) of this direction's R
 * ([gates*H][H]) times v (H floats), added into out. The host op computes it in JavaScript; the
 * model layer (src/model/recurrent-layer.ts) on the wasm float32 GEMV.
 */
export type RecurrentMul = (out: Float32Array, o: number, v: Float32Array, from: number, to: number) => void;

/** v[from..to) = act(v[from..to)): activate() on the host; the layer's runs Sigmoid and Tanh in wasm. */
export type RecurrentActivate = (a: Activation, v: Float32Array, from: number, to: number) => void;

/** One time step of one batch row: g holds (at offset o) this step's X·Wᵀ + bias row, which the step may overwrite; updates h (and c). */
export interface Cell {
  step(g: Float32Array, o: number, h: Float32Array, c: Float32Array): void;
}

/** What a cell is built from: one direction's recurrence product, biases and activations, and the sizes. */
export interface CellArgs {
  readonly H: number;
  readonly a: RecurrentAttrs;
  readonly acts: Activation[];
  readonly mul: RecurrentMul;
  readonly act: RecurrentActivate;
  /** B of this direction ([2*gates*H] at bOff), or null */
  readonly b: ArrayLike<number> | null;
  readonly bOff: number;
  /** LSTM's peepholes P ([num_directions][3*H]), or null */
  readonly p: ArrayLike<number> | null;
  readonly d: number;
  /** H floats of scratch for the cell's own use (the layer's is in wasm memory: mul reads it) */
  readonly tmp: Float32Array;
}

/** The bias of direction d's X·Wᵀ rows: Wb + Rb, or Wb alone from op.wOnlyBiasFrom on; zero without B. */
export function gateBias(op: RecurrentOp, a: RecurrentAttrs, b: ArrayLike<number> | null, d: number, H: number, out: Float32Array): void {
  const GH = op.gates * H, wFrom = op.wOnlyBiasFrom?.(a, H) ?? GH, o = d * 2 * GH;
  for (let j = 0; j < GH; j++) out[j] = b ? (j >= wFrom ? b[o + j] : b[o + j] + b[o + GH + j]) : 0;
}

/** The row of X (and of the X·Wᵀ buffer) of step t, batch row n: X's own order, by layout. */
export function xRow(a: RecurrentAttrs, dims: RecurrentDims, t: number, n: number): number {
  return a.layout ? n * dims.T + t : t * dims.N + n;
}

/** What the sequence loop reads and writes; every state buffer is H floats. */
export interface SequenceIO {
  /** X·Wᵀ + bias: [num_directions][T*N rows in X's order][gates*H]; rows past a batch row's length are not read */
  readonly xw: Float32Array;
  readonly mul: (d: number) => RecurrentMul;
  /** default activate() */
  readonly act?: RecurrentActivate;
  readonly lens: ArrayLike<number> | null;
  readonly b: ArrayLike<number> | null;
  readonly p: ArrayLike<number> | null;
  readonly h0: ArrayLike<number> | null;
  readonly c0: ArrayLike<number> | null;
  readonly y: Float32Array | null;
  readonly yh: Float32Array | null;
  readonly yc: Float32Array | null;
  readonly h: Float32Array;
  readonly c: Float32Array;
  readonly tmp: Float32Array;
}

/**
 * Runs the cells over each direction, batch row and time step, given X·Wᵀ + bias for every step
 * (the one loop both the host op and the model layer run).
 */
export function runSequences(op: RecurrentOp, a: RecurrentAttrs, dims: RecurrentDims, io: SequenceIO): void {
  const { T, N, H, D } = dims;
  const GH = op.gates * H, { xw, h, c, h0, c0, y, yh, yc, lens } = io;
  const yAt = a.layout ? (t: number, d: number, n: number) => ((n * T + t) * D + d) * H : (t: number, d: number, n: number) => ((t * D + d) * N + n) * H;
  const sAt = a.layout ? (d: number, n: number) => (n * D + d) * H : (d: number, n: number) => (d * N + n) * H;
  for (let d = 0; d < D; d++) {
    const reverse = a.reverse || d === 1;
    const cell = op.cell({ H, a, acts: a.acts[d], mul: io.mul(d), act: io.act ?? activate, b: io.b, bOff: d * 2 * GH, p: io.p, d, tmp: io.tmp });
    for (let n = 0; n < N; n++) {
      const L = lens ? lens[n] : T, s0 = sAt(d, n);
      for (let j = 0; j < H; j++) {
        h[j] = h0 ? h0[s0 + j] : 0;
        c[j] = c0 ? c0[s0 + j] : 0;
      }
      for (let s = 0; s < L; s++) {
        const t = reverse ? L - 1 - s : s;
        cell.step(xw, (d * T * N + xRow(a, dims, t, n)) * GH, h, c);
        if (y) y.set(h, yAt(t, d, n));
      }
      if (y) for (let t = L; t < T; t++) y.fill(0, yAt(t, d, n), yAt(t, d, n) + H);
      if (yh) L ? yh.set(h, s0) : yh.fill(0, s0, s0 + H);
      if (yc) L ? yc.set(c, s0) : yc.fill(0, s0, s0 + H);
    }
  }
}

/** Runs `op` on host values (OpDef.compute): the products in JavaScript. */
export function runRecurrent(ctx: OpContext, op: RecurrentOp, ins: readonly (HostValue | null)[], outs: readonly HostValue[]): void {
  const a = recurrentAttrs(ctx, op);
  const dims = recurrentDims(ctx, op, a, ins);
  const { T, N, I, H, D } = dims;
  const GH = op.gates * H;
  const x = ins[0]!.data, w = ins[1]!.data, r = ins[2]!.data, b = ins[3]?.data ?? null;
  const lens = ins[4] ? sequenceLengths(ctx, ins[4].data, N, T) : null;
  const has = (i: number) => !!ctx.node.outputs[i] && !!outs[i];
  const out = (i: number) => (has(i) ? (outs[i].data as Float32Array) : null);
  const [xw, h, c, bias, tmp] = carve([D * T * N * GH, H, H, GH, H]);
  for (let d = 0; d < D; d++) {
    gateBias(op, a, b, d, H, bias);
    // X·Wᵀ + bias for every step a row reaches
    for (let n = 0; n < N; n++) {
      for (let t = 0; t < (lens ? lens[n] : T); t++) {
        const row = xRow(a, dims, t, n), o = (d * T * N + row) * GH;
        xw.set(bias, o);
        addProduct(xw, o, x, row * I, w, d * GH * I, I, GH);
      }
    }
  }
  const mul = (d: number): RecurrentMul => (g, o, v, from, to) => addProduct(g, o, v, 0, r, (d * GH + from) * H, H, to - from);
  runSequences(op, a, dims, {
    xw, mul, lens, b, p: op.op === 'LSTM' ? ins[7]?.data ?? null : null, h0: ins[5]?.data ?? null, c0: op.op === 'LSTM' ? ins[6]?.data ?? null : null,
    y: out(0), yh: out(1), yc: out(2), h, c, tmp,
  });
}

/**
 * out[o + j] += Σ_p a[ao + p] · w[wo + j·k + p] for j < n, p < k: a row times the transpose of n
 * rows of w (rows of length k, as W and R are stored). Sums in float64, one float32 rounding each.
 */
export function addProduct(out: Float32Array, o: number, a: ArrayLike<number>, ao: number, w: ArrayLike<number>, wo: number, k: number, n: number): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const r0 = wo + j * k, r1 = r0 + k, r2 = r1 + k, r3 = r2 + k;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0; p < k; p++) {
      const x = a[ao + p];
      s0 += x * w[r0 + p];
      s1 += x * w[r1 + p];
      s2 += x * w[r2 + p];
      s3 += x * w[r3 + p];
    }
    out[o + j] += s0;
    out[o + j + 1] += s1;
    out[o + j + 2] += s2;
    out[o + j + 3] += s3;
  }
  for (; j < n; j++) {
    const r0 = wo + j * k;
    let s = 0;
    for (let p = 0; p < k; p++) s += a[ao + p] * w[r0 + p];
    out[o + j] += s;
  }
}

/** v[from..to) clipped to [-limit, limit] (no-op for Infinity). */
export function clip(v: Float32Array, from: number, to: number, limit: number): void {
  if (limit === Infinity) return;
  for (let i = from; i < to; i++) v[i] = Math.max(-limit, Math.min(limit, v[i]));
}

// ---- scratch ----

// one scratch pool for every call (compute is synchronous, so calls never overlap); a call needing
// more than POOL_MAX floats gets its own buffer rather than growing the pool for good
const POOL_MAX = 1 << 20;
let pool = new Float32Array(4096);

/** Consecutive Float32Array views of these sizes, from the pool. */
function carve(sizes: number[]): Float32Array[] {
  const total = sizes.reduce((s, n) => s + n, 0);
  let buf = pool;
  if (total > pool.length) {
    buf = new Float32Array(total);
    if (total <= POOL_MAX) pool = buf;
  }
  let o = 0;
  return sizes.map((n) => buf.subarray(o, (o += n)));
}
