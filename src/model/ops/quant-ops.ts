// com.microsoft MatMulNBits (4-bit weights) as a graph node. The default-domain quantized operators
// are in qdq-ops.ts (QuantizeLinear & co.) and int-matmul-ops.ts (MatMulInteger, QLinearMatMul).

import { dequantizeInt4, fromMatMulNBits, nibblesOfMatMulNBits } from '../../quant/int4.js';
import { elementCount } from '../graph.js';
import { attr, fail, need, type OpContext, type OpDef, type ValueInfo } from './types.js';

/** com.microsoft MatMulNBits (bits = 4): Y = A · dequantize(B)ᵀ (+ bias). */
const matMulNBitsDef: OpDef = {
  layout: 'nchw',
  check: (ctx) => {
    if (attr(ctx.node, 'bits', 4) !== 4) fail(ctx, `bits ${attr(ctx.node, 'bits', 4)} is not supported (4 is)`);
  },
  infer: (ctx, ins) => {
    const a = need(ctx, ins, 0, 'A');
    const k = attr(ctx.node, 'K', 0), n = attr(ctx.node, 'N', 0);
    if (a.dims[a.dims.length - 1] !== k) fail(ctx, `A's last dim ${a.dims[a.dims.length - 1]} differs from K = ${k}`);
    for (const i of [1, 2, 3]) if (ins[i] && !ins[i]!.value) fail(ctx, `input ${i} (weights, scales, zero points) must be constant`);
    if (ins[4] && ins[4].value) fail(ctx, 'g_idx is not supported');
    if (ins[5] && elementCount(ins[5].dims) !== n) fail(ctx, `bias must have N = ${n} values`);
    return [{ type: 'float32', dims: [...a.dims.slice(0, -1), n] }];
  },
  compute: (ctx, ins, outs) => {
    const w = matMulNBitsWeights(ctx, ins.map((v) => v && { type: v.type, dims: [...v.dims], value: v }));
    const { k, n } = w;
    const a = ins[0]!, bias = ins[5];
    const rows = a.data.length / k, y = outs[0].data;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a.data[r * k + t] * w.wnk[j * k + t];
        y[r * n + j] = s + (bias ? bias.data[j] : 0);
      }
    }
  },
};

/** MatMulNBits' constant inputs as canonical 4-bit blocks. */
export function matMulNBitsBlocks(ctx: OpContext, ins: (ValueInfo | null)[]) {
  const k = attr(ctx.node, 'K', 0), n = attr(ctx.node, 'N', 0), bs = attr(ctx.node, 'block_size', 0);
  const zp = ins[3]?.value;
  const blocks = fromMatMulNBits({
    B: ins[1]!.value!.data as Uint8Array, scales: Float32Array.from(ins[2]!.value!.data), K: k, N: n, blockSize: bs,
    zeroPoints: zp ? (zp.type === 'uint8' ? (zp.data as Uint8Array) : Float32Array.from(zp.data)) : null,
  });
  return { k, n, blocks };
}

/** MatMulNBits' constant inputs checked, B as it is (codes two per byte: what the W4A32 layer packs from). */
export function matMulNBitsNibbles(ctx: OpContext, ins: (ValueInfo | null)[]) {
  const k = attr(ctx.node, 'K', 0), n = attr(ctx.node, 'N', 0), bs = attr(ctx.node, 'block_size', 0);
  const zp = ins[3]?.value, sd = ins[2]!.value!.data;
  return nibblesOfMatMulNBits({
    B: ins[1]!.value!.data as Uint8Array, scales: sd instanceof Float32Array ? sd : Float32Array.from(sd), K: k, N: n, blockSize: bs,
    zeroPoints: zp ? (zp.type === 'uint8' ? (zp.data as Uint8Array) : Float32Array.from(zp.data)) : null,
  });
}

/** MatMulNBits' constant inputs as canonical 4-bit blocks, and dequantized rows [N][K]. */
export function matMulNBitsWeights(ctx: OpContext, ins: (ValueInfo | null)[]) {
  const w = matMulNBitsBlocks(ctx, ins);
  return { ...w, wnk: dequantizeInt4(w.blocks) };
}

export const MATMUL_NBITS_OPS: Record<string, OpDef> = { MatMulNBits: matMulNBitsDef };
