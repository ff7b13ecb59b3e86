// 64-bit integers beyond ±(2^53 − 1). lowbit holds int64/uint64 values as numbers, exact up to there;
// the importer clamps a larger constant to ±2^53 (onnx.ts, clampBig), which keeps its meaning as a
// Slice bound (INT64_MAX ends: "past every size") and as a value moved or selected by ops that only
// carry values (Concat, Unsqueeze, Gather's data, Where, Min/Max…). Anywhere its exact size matters
// (arithmetic, comparisons, Cast to another type, indices, shapes) computing with the clamped number
// would give another answer than onnxruntime's, silently, so that is a ValueRangeError naming the node
// and the tensor. The same holds for a result beyond the range (a product past 2^53), and a graph
// output beyond it is refused by outputs.ts.

import { ValueRangeError } from '../errors.js';
import { nodeLabel, type ElemType, type GraphNode, type HostData } from './graph.js';

/** Inputs (by index; 'all') whose values an op only moves, selects or reads the size of. */
const CARRIES: Readonly<Record<string, readonly number[] | 'all'>> = {
  Identity: [0], Reshape: [0], Squeeze: [0], Unsqueeze: [0], Flatten: [0], Transpose: [0], Expand: [0], Tile: [0],
  Concat: 'all', Split: [0], Gather: [0], GatherElements: [0], GatherND: [0], Where: [1, 2], Pad: [0, 2], Trilu: [0],
  ScatterND: [0, 2], ScatterElements: [0, 2], ReduceMin: [0], ReduceMax: [0],
  // a clamped bound keeps its order against every value lowbit holds exactly: the selection is right
  Min: 'all', Max: 'all', Clip: 'all',
  // INT64_MAX/INT64_MIN starts, ends and steps mean "past every size", clamped or not
  Slice: 'all',
  Shape: 'all', Size: 'all',
};

const INT64 = 7;
const wide = (t: ElemType) => t === 'int64' || t === 'uint64';

function carried(node: GraphNode, i: number): boolean {
  if (node.domain !== '') return false;
  if (node.op === 'Cast') return node.attrs.get('to') === INT64; // int64 to int64: a copy
  const c = CARRIES[node.op];
  return c === 'all' || (c !== undefined && c.includes(i));
}

/** Outputs that only carry values (a ConstantOfShape's is its attribute's). */
const carriesOutputs = (node: GraphNode) => node.domain === '' && (node.op in CARRIES || node.op === 'ConstantOfShape' || (node.op === 'Cast' && node.attrs.get('to') === INT64));

function firstInexact(data: HostData): number {
  for (let j = 0; j < data.length; j++) if (!Number.isSafeInteger(data[j])) return j;
  return -1;
}

const WHY = 'beyond ±(2^53 − 1), the integers lowbit holds exactly, where its exact value matters; computing with it rounded would change the answer (onnxruntime computes 64-bit integers exactly)';

/** Before a host step: every 64-bit integer input the node computes with is exact. */
export function checkExactInputs(node: GraphNode, ins: readonly ({ type: ElemType; data: HostData } | null)[]): void {
  // index loops, no closure: this runs for every host step of every decoded token
  for (let i = 0; i < ins.length; i++) {
    const v = ins[i];
    if (!v || !wide(v.type) || carried(node, i)) continue;
    const j = firstInexact(v.data);
    if (j >= 0) throw new ValueRangeError(`${nodeLabel(node)}: input ${i} ('${node.inputs[i]}') holds ${v.data[j] > 0 ? 'a value' : 'a negative value'} at index ${j} ${WHY}`);
  }
}

/** After a host step: no 64-bit integer result of arithmetic went past the exact range. */
export function checkExactOutputs(node: GraphNode, outs: readonly { type: ElemType; data: HostData }[]): void {
  if (carriesOutputs(node)) return;
  for (let i = 0; i < outs.length; i++) {
    const v = outs[i];
    if (!wide(v.type)) continue;
    const j = firstInexact(v.data);
    if (j >= 0) throw new ValueRangeError(`${nodeLabel(node)}: output ${i} ('${node.outputs[i]}') reaches ${v.data[j]} at index ${j}, ${WHY}`);
  }
}
