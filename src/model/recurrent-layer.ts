// LSTM, GRU and RNN with constant weights as a model layer: the products on the wasm float32 GEMM,
// the gates on the host. W and R are packed once per direction; a run is one GEMM of every step's
// X·Wᵀ + bias per direction (all T·N rows at once), then per step and batch row the cell's h·Rᵀ as
// a synchronous GEMV added in place into that step's row, and the cell's gate math (the same cells
// and sequence loop as the host op, src/model/ops/recurrent.ts) over Float32Array views of the
// layer's scratch, Sigmoid and Tanh on the wasm sigmoid. Sums are float32 (the kernels') and
// tanh is 2σ(2x) - 1 (relative error < 3e-7): the layer differs from the host op by float32
// rounding (~1e-6 on the tests' cases). Runtime W/R/B/P or a runtime sequence_lens stay on the
// host op (the rule returns null). Batch rows run one after another (N GEMVs per step, not one
// GEMM): streaming models run batch 1.

import { activateRow } from '../kernels/elementwise.js';
import { f32Gemm, f32Gemv, F32_NR, packF32, type F32Weights } from '../kernels/f32.js';
import type { Runtime } from '../runtime/runtime.js';
import { ACTIVATIONS } from './fuse.js';
import type { GraphNode } from './graph.js';
import type { LayerIO, ModelLayer } from './layers.js';
import { GRU, LSTM, RNN } from './ops/recurrent-ops.js';
import { gateBias, recurrentAttrs, recurrentDims, runSequences, type RecurrentActivate, type RecurrentAttrs, type RecurrentDims, type RecurrentMul, type RecurrentOp } from './ops/recurrent.js';
import { activate } from './ops/rnn-activations.js';
import type { ValueInfo } from './ops/types.js';

const OPS: Record<string, RecurrentOp> = { LSTM, GRU, RNN };

/** The layer for an LSTM/GRU/RNN node whose W, R, B, sequence_lens and P are constants; null otherwise. */
export function recurrentLayerFor(rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[], opset: number): RecurrentLayer | null {
  const op = OPS[node.op];
  const x = ins[0];
  if (!op || node.domain !== '' || !x || x.type !== 'float32' || x.value) return null;
  // W, R, B, sequence_lens, P: constants (or absent); initial_h, initial_c: anything float32
  if (!ins[1]?.value || !ins[2]?.value || [3, 4, 7].some((i) => ins[i] && !ins[i]!.value)) return null;
  if (!node.outputs.some((o) => o)) return null;
  const ctx = { node, opset };
  const a = recurrentAttrs(ctx, op);
  const { I, H, D } = recurrentDims(ctx, op, a, ins);
  return new RecurrentLayer(rt, node, op, a, ins, I, H, D);
}

/** The row ranges of R the cells ask a product of (GRU: z and r, then h, which needs r or Rb_h first). */
const rowRanges = (op: RecurrentOp, H: number): [number, number][] => (op.op === 'GRU' ? [[0, 2 * H], [2 * H, 3 * H]] : [[0, op.gates * H]]);

export class RecurrentLayer implements ModelLayer {
  readonly scheme = 'float32';
  readonly outputs = 'all';
  /** X, then initial_h and initial_c when they are runtime values */
  readonly inputs: number;
  readonly kind: string;
  private readonly GH: number;
  /** per direction: W packed (K = I, N = gates*H), its bias (Wb + Rb, padded), R's row ranges packed (K = H) */
  private readonly w: F32Weights[] = [];
  private readonly bias: number[] = [];
  private readonly r: Map<number, F32Weights>[] = [];
  private readonly b: Float32Array | null;
  private readonly lens: Int32Array | null;
  private readonly p: Float32Array | null;
  /** initial_h, initial_c: constants, or the index in io.xs of a runtime value, or absent */
  private readonly state: (Float32Array | number | null)[];
  /** which of Y, Y_h, Y_c the node has: their index in io.ys, or -1 */
  private readonly outAt: number[];
  /** gates*H floats (padded) each of 1, 0, 2, -1: the scale and shift of f32_act_nhwc's sigmoid for Sigmoid and Tanh */
  private readonly consts: number;
  private readonly act: RecurrentActivate;

  constructor(private readonly rt: Runtime, node: GraphNode, private readonly op: RecurrentOp, private readonly a: RecurrentAttrs, ins: (ValueInfo | null)[], private readonly I: number, private readonly H: number, private readonly D: number) {
    const GH = (this.GH = op.gates * H);
    const data = (i: number) => (ins[i]?.value ? Float32Array.from(ins[i]!.value!.data) : null);
    const W = data(1)!, R = data(2)!;
    this.b = data(3);
    this.p = op.op === 'LSTM' ? data(7) : null;
    this.lens = ins[4]?.value ? Int32Array.from(ins[4].value.data) : null;
    let next = 1;
    this.state = [5, 6].map((i) => (i === 6 && op.op !== 'LSTM') || !ins[i] ? null : ins[i]!.value ? data(i) : next++);
    this.inputs = next;
    let k = 0;
    this.outAt = [0, 1, 2].map((i) => (node.outputs[i] ? k++ : -1));
    this.kind = `${op.op} (f32 GEMM)`;
    const np = Math.ceil(GH / F32_NR) * F32_NR;
    this.consts = rt.alloc(4 * np * 4);
    [1, 0, 2, -1].forEach((v, i) => rt.view(Float32Array, this.consts + i * np * 4, np).fill(v));
    const [one, zero, two, minus] = [0, 1, 2, 3].map((i) => this.consts + i * np * 4);
    // Sigmoid and Tanh (= 2 sigmoid(2x) - 1) on the wasm sigmoid (f32x4, relative error < 3e-7:
    // assembly/util/act.ts); the other functions on the host
    this.act = (f, v, from, to) => {
      if (f.kind !== 'sigmoid' && f.kind !== 'tanh') return activate(f, v, from, to);
      const x = v.byteOffset + from * 4, tanh = f.kind === 'tanh';
      activateRow(rt, x, x, to - from, ACTIVATIONS.sigmoid, tanh ? 2 : 1, 0, tanh ? two : one, tanh ? minus : zero);
    };
    const tmp = new Float32Array(GH);
    for (let d = 0; d < D; d++) {
      this.w.push(packF32(rt, W.subarray(d * GH * I, (d + 1) * GH * I), I, GH, true));
      gateBias(op, a, this.b, d, H, tmp);
      const ptr = rt.alloc(np * 4);
      const v = rt.view(Float32Array, ptr, np);
      v.fill(0);
      v.set(tmp);
      this.bias.push(ptr);
      const rd = R.subarray(d * GH * H, (d + 1) * GH * H);
      this.r.push(new Map(rowRanges(op, H).map(([from, to]) => [from, packF32(rt, rd.subarray(from * H, to * H), H, to - from, true)])));
    }
  }

  get weightBytes(): number {
    return this.w.reduce((s, w) => s + w.bytes, 0) + this.r.reduce((s, m) => s + [...m.values()].reduce((t, w) => t + w.bytes, 0), 0);
  }

  private dims(x: readonly number[]): RecurrentDims {
    const [T, N] = this.a.layout ? [x[1], x[0]] : [x[0], x[1]];
    return { T, N, I: this.I, H: this.H, D: this.D };
  }

  macs(x: readonly number[]): number {
    const { T, N } = this.dims(x);
    return this.D * T * N * this.GH * (this.I + this.H);
  }

  /** floats: X·Wᵀ for every direction and row, then h, c and the cell's tmp, and the GEMV's over-read of its bias (whole panels) */
  private scratchFloats(x: readonly number[]): number {
    const { T, N } = this.dims(x);
    return this.D * T * N * this.GH + 3 * this.H + 2 * F32_NR;
  }

  scratchBytes(x: readonly number[]): number {
    return this.scratchFloats(x) * 4;
  }

  async run(io: LayerIO): Promise<void> {
    const { rt, GH, H, D } = this;
    const dims = this.dims(io.dims);
    const rows = dims.T * dims.N;
    for (let d = 0; d < D; d++) {
      await f32Gemm(rt, { m: rows, a: io.x, aStride: this.I * 4, w: this.w[d], c: io.scratch + d * rows * GH * 4, cStride: GH * 4, bias: this.bias[d], lo: -Infinity, hi: Infinity });
    }
    // views after the GEMMs (no allocation from here on: they stay valid)
    const f32 = (ptr: number, n: number) => rt.view(Float32Array, ptr, n);
    const hPtr = io.scratch + D * rows * GH * 4, cPtr = hPtr + H * 4, tmpPtr = cPtr + H * 4;
    // in place, the GEMV's bias being its output: out[o..] = v·Rᵀ + out[o..]
    const mul = (d: number): RecurrentMul => (g, o, v, from) => {
      const at = g.byteOffset + o * 4;
      f32Gemv(rt, v.byteOffset, this.r[d].get(from)!, at, at);
    };
    const out = (i: number, n: number) => (this.outAt[i] >= 0 ? f32(io.ys[this.outAt[i]], n) : null);
    const state = (s: Float32Array | number | null) => (typeof s === 'number' ? f32(io.xs[s], D * dims.N * H) : s);
    runSequences(this.op, this.a, dims, {
      xw: f32(io.scratch, D * rows * GH), mul, act: this.act, lens: this.lens, b: this.b, p: this.p,
      h0: state(this.state[0]), c0: state(this.state[1]),
      y: out(0, rows * D * H), yh: out(1, D * dims.N * H), yc: out(2, D * dims.N * H),
      h: f32(hPtr, H), c: f32(cPtr, H), tmp: f32(tmpPtr, H),
    });
  }

  dispose(): void {
    for (const w of this.w) w.dispose();
    for (const m of this.r) for (const w of m.values()) w.dispose();
    for (const p of this.bias) this.rt.free(p);
    this.rt.free(this.consts);
  }
}
