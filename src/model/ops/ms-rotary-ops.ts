// com.microsoft RotaryEmbedding (RoPE with cos/sin caches, as Llama-style exports use it), and the
// rotation itself, which GroupQueryAttention's do_rotary shares. As onnxruntime's CPU kernel: the
// first rotary_embedding_dim values of each head rotate (halves or interleaved pairs), the rest copy.

import { UnsupportedOperatorError, ValueRangeError } from '../../errors.js';
import { checkType, FLOAT } from './math.js';
import { attr, fail, need, type OpContext, type OpDef, type ValueInfo } from './types.js';

/**
 * Rotates one head row of `dim` values at x[xo…] into y[yo…] by the angles of cache row `pos`
 * (cos/sin rows of dim/2 values): pairs (i, i + dim/2), or (2i, 2i + 1) when interleaved.
 */
export function rotateRow(x: ArrayLike<number>, xo: number, y: { [i: number]: number }, yo: number, dim: number, cos: ArrayLike<number>, sin: ArrayLike<number>, pos: number, interleaved: boolean): void {
  const half = dim / 2, c0 = pos * half;
  for (let i = 0; i < half; i++) {
    // no [a, b] literal: this runs per rotated pair of every decoded token
    const a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const c = cos[c0 + i], s = sin[c0 + i], xa = x[xo + a], xb = x[xo + b];
    y[yo + a] = xa * c - xb * s;
    y[yo + b] = xa * s + xb * c;
  }
}

/** A position outside the caches' rows: refused rather than read past them. */
export function checkPosition(ctx: OpContext, pos: number, rows: number, what: string): void {
  if (!Number.isInteger(pos) || pos < 0 || pos >= rows) fail(ctx, `${what} ${pos} is outside the ${rows} rows of cos_cache and sin_cache`, ValueRangeError);
}

interface RotaryShape {
  batch: number; seq: number; heads: number; headSize: number; dim: number; maxSeq: number;
  /** element strides of batch, sequence and head in the input */
  sb: number; ss: number; sh: number;
}

function rotaryShape(ctx: OpContext, ins: (ValueInfo | null)[]): RotaryShape {
  const x = need(ctx, ins, 0, 'input'), pos = need(ctx, ins, 1, 'position_ids');
  const cos = need(ctx, ins, 2, 'cos_cache'), sin = need(ctx, ins, 3, 'sin_cache');
  checkType(ctx, x, 'input', FLOAT);
  checkType(ctx, cos, 'cos_cache', FLOAT);
  checkType(ctx, sin, 'sin_cache', FLOAT);
  if (pos.type !== 'int64') fail(ctx, `position_ids must be int64, got ${pos.type}`);
  const r = x.dims.length;
  if (r !== 3 && r !== 4) fail(ctx, `input must be 3-D (batch, sequence, hidden) or 4-D (batch, heads, sequence, head_size), got [${x.dims}]`);
  if (cos.dims.length !== 2 || sin.dims.length !== 2 || cos.dims[0] !== sin.dims[0] || cos.dims[1] !== sin.dims[1]) {
    fail(ctx, `cos_cache and sin_cache must be 2-D of one shape (max_sequence_length, rotary_dim / 2), got [${cos.dims}] and [${sin.dims}]`);
  }
  const numHeads = attr(ctx.node, 'num_heads', 0), rotDim = attr(ctx.node, 'rotary_embedding_dim', 0);
  if (rotDim > 0 && numHeads <= 0) fail(ctx, `num_heads must be given with rotary_embedding_dim ${rotDim}`);
  const batch = x.dims[0], seq = r === 4 ? x.dims[2] : x.dims[1];
  const hidden = r === 4 ? x.dims[1] * x.dims[3] : x.dims[2];
  // onnxruntime: head_size is hidden / num_heads when rotary_embedding_dim is set, else twice the caches' width
  const headSize = rotDim > 0 ? hidden / numHeads : cos.dims[1] * 2;
  const dim = rotDim > 0 ? rotDim : headSize;
  const heads = numHeads > 0 ? numHeads : hidden / headSize;
  if (!Number.isInteger(headSize) || !Number.isInteger(heads) || headSize * heads !== hidden || (r === 4 && (heads !== x.dims[1] || headSize !== x.dims[3]))) {
    fail(ctx, `input [${x.dims}] does not split into heads of head_size ${headSize} (num_heads ${numHeads}, caches [${cos.dims}])`);
  }
  if (dim > headSize || dim % 2 !== 0 || cos.dims[1] * 2 !== dim) fail(ctx, `rotary dim ${dim} must be even, at most head_size ${headSize} and twice the caches' width ${cos.dims[1]}`);
  if (seq > cos.dims[0]) fail(ctx, `sequence length ${seq} exceeds the caches' ${cos.dims[0]} rows (onnxruntime does not extend them either)`);
  const p = pos.dims;
  const scalarLike = p.length === 0 || (p.length === 1 && p[0] === 1);
  if (!scalarLike && !(p.length === 2 && p[0] === batch && p[1] === seq)) fail(ctx, `position_ids must be [1] (a start offset) or [${batch}, ${seq}] (batch, sequence), got [${p}]`);
  const [sb, ss, sh] = r === 4 ? [heads * seq * headSize, headSize, seq * headSize] : [seq * hidden, hidden, headSize];
  return { batch, seq, heads, headSize, dim, maxSeq: cos.dims[0], sb, ss, sh };
}

const rotaryEmbeddingDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    const n = ctx.node;
    if (attr(n, 'is_packed_batching', 0) !== 0) fail(ctx, `is_packed_batching ${attr(n, 'is_packed_batching', 0)} is not supported (0 is)`, UnsupportedOperatorError);
    if (attr(n, 'scale', 1) !== 1) fail(ctx, `scale ${attr(n, 'scale', 1)} is not supported (onnxruntime's CPU kernel reads and ignores it; 1 is)`, UnsupportedOperatorError);
    const il = attr(n, 'interleaved', 0);
    if (il !== 0 && il !== 1) fail(ctx, `interleaved must be 0 or 1, got ${il}`);
  },
  infer: (ctx, ins) => {
    rotaryShape(ctx, ins);
    return [{ type: 'float32', dims: [...ins[0]!.dims] }];
  },
  compute: (ctx, ins, outs) => {
    const sp = rotaryShape(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims] }));
    const x = ins[0]!.data, pos = ins[1]!.data, cos = ins[2]!.data, sin = ins[3]!.data, y = outs[0].data;
    const interleaved = attr(ctx.node, 'interleaved', 0) === 1;
    y.set(x);
    for (let b = 0; b < sp.batch; b++) {
      for (let s = 0; s < sp.seq; s++) {
        const p = pos.length === 1 ? pos[0] + s : pos[b * sp.seq + s];
        checkPosition(ctx, p, sp.maxSeq, `position_ids[${pos.length === 1 ? 0 : `${b}, ${s}`}]${pos.length === 1 ? ` + ${s}` : ''} =`);
        for (let h = 0; h < sp.heads; h++) {
          const o = b * sp.sb + s * sp.ss + h * sp.sh;
          rotateRow(x, o, y, o, sp.dim, cos, sin, p, interleaved);
        }
      }
    }
  },
};

export const MS_ROTARY_OPS: Record<string, OpDef> = { RotaryEmbedding: rotaryEmbeddingDef };
