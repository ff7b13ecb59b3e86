// What an operator definition provides to the planner.

import { ShapeError, UnsupportedOperatorError, type LowbitError } from '../../errors.js';
import type { AttrValue, ElemType, GraphNode, HostData, HostTensor } from '../graph.js';
import { nodeLabel } from '../graph.js';
import type { Runtime } from '../../runtime/runtime.js';

/** A value as the planner knows it: type, logical dims, and its contents when constant. */
export interface ValueInfo {
  type: ElemType;
  dims: number[];
  value?: HostTensor;
  /** how many elements are non-zero, when a staged plan read that of a run-time value (NonZero's dims) */
  nonZeroCount?: number;
}

/** A host array with its logical dims and physical layout. */
export interface HostValue {
  type: ElemType;
  dims: readonly number[];
  data: HostData;
  nhwc: boolean;
  /** a constant still in its ModelSource: rows of its first axis read on demand (Gather uses it instead of `data`, which reads it whole) */
  readRows?: (first: number, count: number) => HostData;
}

export interface OpContext {
  node: GraphNode;
  opset: number;
  /** how errors name the operator (default: the node, as nodeLabel() says) */
  label?: string;
}

/** The prefix of an operator's error messages. */
export function opLabel(ctx: OpContext): string {
  return ctx.label ?? nodeLabel(ctx.node);
}

/**
 * layout: 'any'   - elementwise on the raw array; output keeps the input's layout
 *         'aware' - reads `nhwc` of its inputs and says the output layout with outNhwc()
 *         'nchw'  - needs standard (row-major logical) inputs; produces standard outputs
 */
export interface OpDef {
  layout: 'any' | 'aware' | 'nchw';
  /** the ONNX versions of the operator this definition follows (since-versions, inclusive): at a model's
   *  opset the version in effect is the latest since-version <= it (src/model/ops/schemas.ts) */
  opsets?: [number, number];
  /** load-time checks of attributes that lowbit does not implement */
  check?(ctx: OpContext): void;
  infer(ctx: OpContext, ins: (ValueInfo | null)[]): { type: ElemType; dims: number[] }[];
  /** host implementation (folding and run); missing for ops that become layers */
  compute?(ctx: OpContext, ins: (HostValue | null)[], outs: HostValue[]): void;
  /**
   * the same operator on the wasm kernels (what rt.ops runs, src/model/ops/run-op.ts): returns each
   * output's data. Integer results equal compute()'s bit for bit; float32 products round as the
   * float32 GEMM does (compute accumulates in float64).
   */
  run?(rt: Runtime, ctx: OpContext, ins: (HostValue | null)[], outs: readonly { type: ElemType; dims: number[] }[]): Promise<HostData[]>;
  outNhwc?(ins: (HostValue | ValueInfoWithLayout | null)[], outDims: number[][]): boolean;
  /** output i may share input 0's buffer (Reshape & co.): no copy, no new buffer */
  alias?: boolean;
  /**
   * [output, input] pairs: the output may be written over the input's buffer when both have one
   * type and shape and nothing else reads the input (the op must then read each element before it
   * writes that element of the output): GroupQueryAttention's present over its past, so a decode
   * step's arena holds the KV cache once
   */
  inPlace?: readonly (readonly [number, number])[];
}

export interface ValueInfoWithLayout extends ValueInfo {
  nhwc: boolean;
}

export function attr(node: GraphNode, name: string, fallback: number): number;
export function attr(node: GraphNode, name: string, fallback: string): string;
export function attr(node: GraphNode, name: string, fallback: AttrValue): AttrValue {
  const v = node.attrs.get(name);
  if (v !== undefined && typeof v !== typeof fallback) {
    throw new UnsupportedOperatorError(`${nodeLabel(node)}: attribute '${name}' should be a ${typeof fallback}`);
  }
  return v === undefined ? fallback : v;
}

export function ints(node: GraphNode, name: string, fallback: number[] | null = null): number[] | null {
  const v = node.attrs.get(name);
  if (v === undefined) return fallback;
  if (!Array.isArray(v)) throw new UnsupportedOperatorError(`${nodeLabel(node)}: attribute '${name}' must be a list of ints`);
  return v as number[];
}

export function need(ctx: OpContext, ins: (ValueInfo | null)[], i: number, what: string): ValueInfo {
  const v = ins[i];
  if (!v) throw new ShapeError(`${opLabel(ctx)}: input ${i} (${what}) is required`);
  return v;
}

/**
 * An operator needs the contents of input `input`, a run-time value, to know its output dims. A
 * model run plans in stages on it (staged-plan.ts): the graph up to the node runs, the value is read
 * and the rest is planned with it as a constant. Elsewhere (Model.plan, If and Loop bodies) it stays
 * the refusal it always was.
 */
export class RuntimeValueNeeded extends UnsupportedOperatorError {
  /** `count`: only how many of its elements are non-zero (NonZero), not the contents */
  constructor(message: string, readonly node: GraphNode, readonly input: number, readonly wants: 'value' | 'count' = 'value') {
    super(message);
  }
}

/** Contents of a constant input as numbers (shape operands), or an error naming the input. */
export function constInts(ctx: OpContext, ins: (ValueInfo | null)[], i: number, what: string): number[] | null {
  const v = ins[i];
  if (!v) return null;
  if (!v.value) throw new RuntimeValueNeeded(`${nodeLabel(ctx.node)}: input ${i} (${what}) must be known when the plan is made (a constant or computed from shapes), it is a runtime value`, ctx.node, i);
  return Array.from(v.value.data);
}

export function normAxis(ctx: OpContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) {
    throw new ShapeError(`${nodeLabel(ctx.node)}: axis ${axis} is out of range for rank ${rank}`);
  }
  return a;
}

export function fail(ctx: OpContext, msg: string, Err: new (message: string) => LowbitError = ShapeError): never {
  throw new Err(`${opLabel(ctx)}: ${msg}`);
}
