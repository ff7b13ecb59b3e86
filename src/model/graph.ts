// The model as lowbit holds it after import: plain nodes, named values, constant tensors.
// Independent of the file format; src/model/onnx.ts fills it from an ONNX file.

import type { Fp8Format } from '../quant/fp8.js';

/**
 * Element types a graph value can have. float32 in a Float32Array; int8 in an Int8Array; uint8 and
 * bool in a Uint8Array; float8 as their codes in a Uint8Array. Every other type is held as numbers in
 * a Float64Array whose values are those of the type (what Cast writes): integers of any width exact
 * to 2^53 (rt.ops hands int32 as Int32Array), float64 exact, float16 as doubles rounded to half.
 */
export type ElemType =
  | 'float32' | 'float16' | 'float64'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint64' | 'uint32' | 'uint16' | 'uint8' | 'bool' | Float8Type;

export type Float8Type = 'float8e4m3fn' | 'float8e5m2';
export const FLOAT8_TYPES: readonly Float8Type[] = ['float8e4m3fn', 'float8e5m2'];
export const isFloat8 = (t: unknown): t is Float8Type => FLOAT8_TYPES.includes(t as Float8Type);
const FP8_FORMATS: Record<Float8Type, Fp8Format> = { float8e4m3fn: 'e4m3fn', float8e5m2: 'e5m2' };
/** The codec format of a float8 element type; undefined for other types. */
export const fp8Format = (t: ElemType): Fp8Format | undefined => (isFloat8(t) ? FP8_FORMATS[t] : undefined);

export type HostData = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array;

/** A tensor held by the host (constants, folded shape computations). */
export interface HostTensor {
  readonly type: ElemType;
  readonly dims: readonly number[];
  readonly data: HostData;
}

export type AttrValue = number | string | readonly number[] | readonly string[] | HostTensor | Subgraph;

/**
 * A GRAPH attribute (If's branches, Loop's body). Value names are unique across the whole model (the
 * importer renames a subgraph's value that shadows another), so a branch can be inlined as it is.
 * The node holding it lists `outer` after its declared inputs: implicit inputs, so ordering,
 * liveness and rewrites see the outer values it reads.
 */
export interface Subgraph {
  readonly name: string;
  /** formal inputs (Loop body: iteration number, condition, loop-carried values) */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly nodes: readonly GraphNode[];
  readonly constants: ReadonlyMap<string, HostTensor>;
  /** outer-scope values read here or in nested subgraphs */
  readonly outer: readonly string[];
}

export const isSubgraph = (v: AttrValue | undefined): v is Subgraph => typeof v === 'object' && v !== null && 'nodes' in v;

export interface GraphNode {
  readonly name: string;
  readonly op: string;
  readonly domain: string;
  /** '' marks an omitted optional input */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
}

export interface GraphInput {
  readonly name: string;
  readonly type: ElemType;
  /** numbers are fixed; strings are symbolic (any size) */
  readonly dims: readonly (number | string)[];
}

export interface Graph {
  readonly name: string;
  /** opset of the default ONNX domain */
  readonly opset: number;
  readonly nodes: readonly GraphNode[];
  readonly inputs: readonly GraphInput[];
  readonly outputs: readonly string[];
  readonly constants: ReadonlyMap<string, HostTensor>;
}

/** Every node of these nodes and of their subgraphs, nested ones included. */
export function* allNodes(nodes: readonly GraphNode[]): Generator<GraphNode> {
  for (const n of nodes) {
    yield n;
    for (const a of n.attrs.values()) if (isSubgraph(a)) yield* allNodes(a.nodes);
  }
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  // an index loop: for-of made an iterator per call until optimized (a decode step calls this hundreds of times)
  for (let i = 0; i < dims.length; i++) n *= dims[i];
  return n;
}

export function hostArray(type: ElemType, n: number): HostData {
  switch (type) {
    case 'float32':
      return new Float32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
    case 'float8e4m3fn':
    case 'float8e5m2':
      return new Uint8Array(n);
    default:
      return new Float64Array(n);
  }
}

export function nodeLabel(node: GraphNode): string {
  return `${node.op} node '${node.name || node.outputs[0]}'`;
}
