// Which weightless nodes run on a wasm kernel instead of host code (src/model/kernel-layers.ts),
// decided per node when its plan is made; everything else stays on the host.

import type { Runtime } from '../runtime/runtime.js';
import type { GraphNode } from './graph.js';
import { ActivationLayer, AddLayer, AttentionLayer, PoolLayer, BatchedMatMulLayer, ChannelScaleLayer, ConcatChannelsLayer, GlobalAveragePoolLayer, SoftmaxLayer } from './kernel-layers.js';
import type { ModelLayer } from './layers.js';
import { ConvTransposeLayerF32 } from './conv-transpose-layer.js';
import { recurrentLayerFor } from './recurrent-layer.js';
import { ACTIVATIONS, type ActivationName } from './fuse.js';
import type { ConvActivation } from '../layers/activation.js';
import { convTransposeSpec } from './ops/conv-transpose.js';
import { poolSpec } from './ops/reduce-ops.js';
import { dynamicQuantLayerFor } from './dyn-quant-layer.js';
import type { ValueInfo } from './ops/types.js';

const count = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const runtimeF32 = (v: ValueInfo | null | undefined): v is ValueInfo => !!v && v.type === 'float32' && !v.value;

/**
 * The axis from which a Softmax's rows run to the end (so the wasm kernel can take it), or -1:
 * before opset 13 the input is coerced to 2-D at `axis`; from 13 only the last axis qualifies.
 */
function softmaxRowsFrom(node: GraphNode, ins: (ValueInfo | null)[], opset: number): number {
  if (node.op !== 'Softmax' || node.domain !== '' || !ins[0] || ins[0].type !== 'float32' || ins[0].value) return -1;
  const r = ins[0].dims.length;
  const axis = (node.attrs.get('axis') as number | undefined) ?? (opset >= 13 ? -1 : 1);
  const a = axis < 0 ? axis + r : axis;
  if (r === 0 || a < 0 || a >= r) return -1;
  return opset < 13 || a === r - 1 ? a : -1;
}

/** 2-D ConvTranspose (or lowbit.FusedConvTranspose) with constant weights: a GEMM then col2im (src/model/conv-transpose-layer.ts). */
function convTransposeLayer(rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[], opset: number): ModelLayer | null {
  const [x, w, b, scale, shift] = ins;
  if (!runtimeF32(x) || x.dims.length !== 4 || !w?.value || w.type !== 'float32' || (b && !b.value)) return null;
  let activation: ConvActivation | null = null, actName = '';
  if (node.op === 'FusedConvTranspose') {
    if (!scale?.value || !shift?.value) return null;
    actName = node.attrs.get('activation') as ActivationName;
    activation = { kind: ACTIVATIONS[actName as ActivationName], alpha: node.attrs.get('alpha') as number, beta: node.attrs.get('beta') as number, scale: Float32Array.from(scale.value.data), shift: Float32Array.from(shift.value.data) };
  }
  const ctx = { node, opset };
  const geometry = (dims: readonly number[]) => convTransposeSpec(ctx, { type: 'float32', dims: [...dims] }, w);
  const group = (node.attrs.get('group') as number | undefined) ?? 1;
  return new ConvTransposeLayerF32(rt, geometry, Float32Array.from(w.value.data), b ? Float32Array.from(b.value!.data) : null, group, w.dims, activation, actName);
}

export function kernelLayerFor(rt: Runtime, node: GraphNode, ins: (ValueInfo | null)[], opset: number): ModelLayer | null {
  if (node.domain === 'lowbit' && node.op === 'Attention') {
    const [q, k, v] = ins;
    if (!runtimeF32(q) || !runtimeF32(k) || !runtimeF32(v)) return null;
    const r = q.dims.length;
    const sameBatch = q.dims.slice(0, -2).every((d, i) => d === k.dims[i] && d === v.dims[i]);
    return sameBatch && r >= 3 ? new AttentionLayer(rt, (node.attrs.get('scale') as number | undefined) ?? 1) : null;
  }
  if (node.domain === 'lowbit' && node.op === 'FusedConvTranspose') return convTransposeLayer(rt, node, ins, opset);
  if (node.domain === 'lowbit' && (node.op === 'DynamicQuantConv' || node.op === 'DynamicQuantMatMul')) return dynamicQuantLayerFor(rt, node, ins, opset);
  if (node.domain !== '') return null;
  const x = ins[0];
  switch (node.op) {
    case 'Softmax': {
      const from = softmaxRowsFrom(node, ins, opset);
      return from >= 0 ? new SoftmaxLayer(rt, from) : null;
    }
    case 'GlobalAveragePool':
      return runtimeF32(x) && x.dims.length === 4 ? new GlobalAveragePoolLayer(rt) : null;
    case 'AveragePool':
    case 'MaxPool': {
      if (!runtimeF32(x) || x.dims.length !== 4) return null;
      const ctx = { node, opset };
      const countPad = (node.attrs.get('count_include_pad') as number | undefined) === 1;
      // pads from poolSpec: auto_pad SAME_* computes them, ceil_mode changes the output size
      const geometry = (dims: readonly number[]) => ({ ...poolSpec(ctx, { dims }), countPad });
      return new PoolLayer(rt, node.op, geometry);
    }
    case 'Mul': {
      // squeeze-excitation: an image times a [N, C, 1, 1] vector of the same N and C
      const [a, b] = ins;
      if (!runtimeF32(a) || !runtimeF32(b) || a.dims.length !== 4 || b.dims.length !== 4) return null;
      const isVec = (v: ValueInfo, img: ValueInfo) => v.dims[0] === img.dims[0] && v.dims[1] === img.dims[1] && v.dims[2] === 1 && v.dims[3] === 1;
      if (isVec(b, a) && (a.dims[2] > 1 || a.dims[3] > 1)) return new ChannelScaleLayer(rt, 0);
      if (isVec(a, b) && (b.dims[2] > 1 || b.dims[3] > 1)) return new ChannelScaleLayer(rt, 1);
      return null;
    }
    case 'Add': {
      // a residual: two runtime images of one shape (the kernel adds them flat, in either layout)
      const [a, b] = ins;
      const same = runtimeF32(a) && runtimeF32(b) && a.dims.length === 4 && a.dims.every((d, i) => d === b.dims[i]) && b.dims.length === 4;
      return same && count(a.dims) > 0 ? new AddLayer(rt) : null;
    }
    case 'Relu':
    case 'LeakyRelu':
    case 'Clip': {
      // a channels-last image only (no layout change); Clip's bounds constant
      const [, lo, hi] = ins;
      if (!runtimeF32(x) || !(x as { nhwc?: boolean }).nhwc || x.dims.length !== 4 || !count(x.dims) || (lo && !lo.value) || (hi && !hi.value)) return null;
      const attr = (k: string, d: number) => (node.attrs.get(k) as number | undefined) ?? d;
      if (node.op === 'Relu') return new ActivationLayer(rt, 'Relu', 1, 0, 0);
      if (node.op === 'LeakyRelu') return new ActivationLayer(rt, 'LeakyRelu', 7, attr('alpha', 0.01), -Infinity);
      const F = 3.4028234663852886e38;
      const [min, max] = opset < 11 ? [attr('min', -F), attr('max', F)] : [lo ? Number(lo.value!.data[0]) : -Infinity, hi ? Number(hi.value!.data[0]) : Infinity];
      return new ActivationLayer(rt, 'Clip', 6, min, max);
    }
    case 'Concat': {
      // channels-last images along C: strided row copies
      const r = x?.dims.length ?? 0;
      const axis = (node.attrs.get('axis') as number | undefined) ?? 0;
      const all = ins.length > 0 && ins.every((v) => runtimeF32(v) && v.dims.length === 4 && v.dims.every((d, i) => i === 1 || d === x!.dims[i]));
      return all && r === 4 && (axis === 1 || axis === -3) && ins.every((v) => count(v!.dims) > 0) ? new ConcatChannelsLayer(rt, ins.length) : null;
    }
    case 'ConvTranspose':
      return convTransposeLayer(rt, node, ins, opset);
    case 'MatMul': {
      const [a, b] = ins;
      if (!runtimeF32(a) || !runtimeF32(b) || a.dims.length < 3 || a.dims.length !== b.dims.length) return null;
      const same = a.dims.slice(0, -2).every((d, i) => d === b.dims[i]) && a.dims[a.dims.length - 1] === b.dims[b.dims.length - 2];
      return same ? new BatchedMatMulLayer(rt) : null;
    }
    case 'LSTM':
    case 'GRU':
    case 'RNN':
      // constant weights: the products on the f32 GEMM (src/model/recurrent-layer.ts)
      return recurrentLayerFor(rt, node, ins, opset);
    default:
      return null;
  }
}
