// Raising a model's default-domain opset to 13 (what per-channel DequantizeLinear needs) or 21
// (int4 weights with blocked DequantizeLinear) without changing what it computes: the operators
// whose meaning changed between the model's opset and the target are rewritten into their new form,
// the rest are the same operator there (their newer versions only add types, negative axes or
// attributes whose defaults keep the old behaviour). Anchor: onnx's version converter (its adapters for
// these same changes). Covers the operators lowbit loads; Resize at opset 10 (other coordinate
// rules) is a ModelError naming the node.
//
//   Clip < 11           min/max attributes       -> inputs
//   Slice < 10          starts/ends/axes attrs   -> inputs
//   Pad < 11            pads/value attributes    -> inputs
//   TopK < 10           k attribute              -> input
//   Squeeze, Unsqueeze, ReduceSum, Split < 13: axes/split attributes -> inputs
//   ReduceMean, ReduceMax, ... < 18 (to 21): axes attribute -> input
//   Softmax, LogSoftmax, Hardmax < 13 with an axis other than -1: they coerced the input to 2-D at
//                       axis; now one axis -> Flatten(axis), the op on axis 1, Reshape to Shape(x)
//   Scatter             -> ScatterElements (renamed at 11, same meaning)
//   BatchNormalization < 9: spatial = 1 dropped (spatial = 0 refused)
//   GroupNormalization < 21 (to 21): refused (its scale and bias became per channel)

import type onnxproto from 'onnx-proto';
import { ModelError } from '../errors.js';
import { DT, int64s, intAttr, node, tensorProto, type ProtoGraph } from './export-proto.js';

type INode = onnxproto.onnx.INodeProto;
type IGraph = onnxproto.onnx.IGraphProto;
type IAttr = onnxproto.onnx.IAttributeProto;

/** per-axis DequantizeLinear */
export const QDQ_OPSET = 13;
/** int4 weights, blocked DequantizeLinear */
export const INT4_QDQ_OPSET = 21;

/** the Reduce operators whose axes became an input at 18 (ReduceSum's did at 13) */
const REDUCE_18 = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const attrOf = (n: INode, name: string) => (n.attribute ?? []).find((a) => a.name === name);
const without = (n: INode, ...names: string[]): IAttr[] => (n.attribute ?? []).filter((a) => !names.includes(a.name ?? ''));
const ints = (a: IAttr | undefined) => (a?.ints ?? []).map(num);

/** Rewrites every node of the graph (subgraphs included) from opset `from` to `to` in place. */
export function upgradeOpset(g: ProtoGraph, from: number, to: number): void {
  if (from >= to) return;
  const convert = (n: INode): INode[] => ((n.domain ?? '') === '' || n.domain === 'ai.onnx' ? upgradeNode(g, n, from, to) : [n]);
  const walk = (sub: IGraph) => {
    sub.node = (sub.node ?? []).flatMap((n) => {
      for (const a of n.attribute ?? []) for (const s of [a.g, ...(a.graphs ?? [])]) if (s) walk(s);
      return convert(n);
    });
  };
  // the main graph's nodes are the ProtoGraph's (walk() rewrites only its subgraphs' own lists)
  for (const n of g.nodes) for (const a of n.attribute ?? []) for (const s of [a.g, ...(a.graphs ?? [])]) if (s) walk(s);
  for (const n of [...g.nodes]) {
    const out = convert(n);
    if (out.length !== 1 || out[0] !== n) g.replace([n], out);
  }
}

function upgradeNode(g: ProtoGraph, n: INode, from: number, to: number): INode[] {
  const label = `${n.opType} node '${n.name ?? ''}'`;
  const input = [...(n.input ?? [])];
  const constant = (hint: string, values: readonly number[]) => g.addInitializer({ ...int64s(g.fresh(`${n.name || n.output?.[0]}_${hint}`), values) });
  const floatScalar = (hint: string, v: number) => g.addInitializer(tensorProto(g.fresh(`${n.name || n.output?.[0]}_${hint}`), DT.FLOAT, [], Float32Array.of(v)));
  const fail = (why: string): never => {
    throw new ModelError(`exportOnnx: ${label} cannot be raised from opset ${from} to ${to}: ${why}`);
  };
  switch (n.opType) {
    case 'Clip': {
      if (from >= 11) return [n];
      const lo = attrOf(n, 'min'), hi = attrOf(n, 'max');
      const ins = [input[0], lo ? floatScalar('min', lo.f ?? 0) : '', hi ? floatScalar('max', hi.f ?? 0) : ''];
      while (ins[ins.length - 1] === '') ins.pop();
      return [{ ...n, input: ins, attribute: without(n, 'min', 'max') }];
    }
    case 'Slice': {
      if (from >= 10) return [n];
      const axes = attrOf(n, 'axes');
      return [{ ...n, input: [input[0], constant('starts', ints(attrOf(n, 'starts'))), constant('ends', ints(attrOf(n, 'ends'))), ...(axes ? [constant('axes', ints(axes))] : [])], attribute: without(n, 'starts', 'ends', 'axes') }];
    }
    case 'Pad': {
      if (from >= 11) return [n];
      const value = attrOf(n, 'value');
      return [{ ...n, input: [input[0], constant('pads', ints(attrOf(n, 'pads'))), ...(value ? [floatScalar('value', value.f ?? 0)] : [])], attribute: without(n, 'pads', 'value') }];
    }
    case 'TopK': {
      if (from >= 10) return [n];
      return [{ ...n, input: [input[0], constant('k', [num(attrOf(n, 'k')?.i)])], attribute: without(n, 'k') }];
    }
    case 'Squeeze':
    case 'Unsqueeze':
    case 'ReduceSum': {
      const axes = attrOf(n, 'axes');
      return axes ? [{ ...n, input: [input[0], constant('axes', ints(axes))], attribute: without(n, 'axes') }] : [n];
    }
    case 'GroupNormalization':
      return from >= 21 || to < 21 ? [n] : fail('its scale and bias are per group before opset 21, per channel after');
    case 'Split': {
      const split = attrOf(n, 'split');
      return split ? [{ ...n, input: [input[0], constant('split', ints(split))], attribute: without(n, 'split') }] : [n];
    }
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax': {
      if (from >= 13) return [n];
      const axis = attrOf(n, 'axis') ? num(attrOf(n, 'axis')!.i) : 1;
      if (axis === -1) return [n];
      const base = n.name || n.output![0];
      const flat = g.fresh(`${base}_2d`), soft = g.fresh(`${base}_2d_out`), shape = g.fresh(`${base}_shape`);
      return [
        node('Flatten', [input[0]], [flat], g.fresh(`${base}_Flatten`), [intAttr('axis', axis)]),
        { ...n, input: [flat], output: [soft], attribute: [intAttr('axis', 1)] },
        node('Shape', [input[0]], [shape], g.fresh(`${base}_Shape`)),
        node('Reshape', [soft, shape], [n.output![0]], g.fresh(`${base}_Reshape`)),
      ];
    }
    case 'Scatter':
      return [{ ...n, opType: 'ScatterElements' }];
    case 'BatchNormalization': {
      const spatial = attrOf(n, 'spatial');
      if (!spatial) return [n];
      if (num(spatial.i) !== 1) fail('spatial = 0 has no later form');
      return [{ ...n, attribute: without(n, 'spatial') }];
    }
    case 'Resize':
      return from >= 11 ? [n] : fail('Resize before opset 11 has other coordinate rules');
    default: {
      const axes = attrOf(n, 'axes');
      if (REDUCE_18.has(n.opType ?? '') && to >= 18 && axes) return [{ ...n, input: [input[0], constant('axes', ints(axes))], attribute: without(n, 'axes') }];
      return [n];
    }
  }
}
