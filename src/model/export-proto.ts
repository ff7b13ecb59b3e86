// The main graph of a decoded ModelProto as exportOnnx edits it: who produces and who reads each
// value (subgraphs' reads of outer values count), fresh names, nodes out and nodes in, and at the
// end unused constants dropped and the nodes in topological order. Plus the few tensor, attribute
// and node constructors the exporter writes.

import onnxproto from 'onnx-proto';
import { ModelError } from '../errors.js';

type INode = onnxproto.onnx.INodeProto;
type ITensor = onnxproto.onnx.ITensorProto;
type IGraph = onnxproto.onnx.IGraphProto;
type IAttr = onnxproto.onnx.IAttributeProto;

/** TensorProto.DataType codes the exporter writes. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, UINT4: 21, INT4: 22 } as const;

type Raw = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

export function tensorProto(name: string, dataType: number, dims: readonly number[], data: Raw): ITensor {
  // a copy: the weights' arrays may be views the model still owns
  return { name, dataType, dims: [...dims], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() };
}

export const int64s = (name: string, values: readonly number[]): ITensor => tensorProto(name, DT.INT64, [values.length], BigInt64Array.from(values, (v) => BigInt(v)));
export const intAttr = (name: string, i: number): IAttr => ({ name, type: 2, i });
export const floatAttr = (name: string, f: number): IAttr => ({ name, type: 1, f });

export function node(opType: string, input: string[], output: string[], name: string, attribute: IAttr[] = [], domain = ''): INode {
  return { opType, input, output, name, attribute, ...(domain ? { domain } : {}) };
}

/** Every value name a graph defines or reads, subgraphs included. */
function collectNames(g: IGraph, into: Set<string>): void {
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) into.add(v.name ?? '');
  for (const t of g.initializer ?? []) into.add(t.name ?? '');
  for (const n of g.node ?? []) {
    for (const x of [...(n.input ?? []), ...(n.output ?? [])]) into.add(x);
    if (n.name) into.add(n.name);
    for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) collectNames(sg, into);
  }
}

/** The values a node reads, its subgraphs' reads of outer values included. */
function reads(n: INode): string[] {
  const out = (n.input ?? []).filter(Boolean);
  const inner = new Set<string>();
  for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) collectNames(sg, inner);
  return inner.size ? [...out, ...inner] : out;
}

export class ProtoGraph {
  nodes: INode[];
  private readonly names = new Set<string>();
  private readonly initializers: Map<string, ITensor>;
  private producer = new Map<string, INode>();
  private readers = new Map<string, INode[]>();
  private counter = 0;

  constructor(private readonly g: IGraph) {
    this.nodes = [...(g.node ?? [])];
    this.initializers = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
    collectNames(g, this.names);
    this.index();
  }

  private index(): void {
    this.producer.clear();
    this.readers.clear();
    for (const n of this.nodes) {
      for (const o of n.output ?? []) if (o) this.producer.set(o, n);
      for (const x of reads(n)) this.readers.set(x, [...(this.readers.get(x) ?? []), n]);
    }
  }

  /** A name no value, node or initializer of the model has. */
  fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  isConstant(value: string): boolean {
    if (this.initializers.has(value)) return true;
    const p = this.producer.get(value);
    return !!p && p.opType === 'Constant' && (p.domain ?? '') === '';
  }

  producerOf(value: string): INode | undefined {
    return this.producer.get(value);
  }

  /** the one node reading `value` when it is not a graph output either, else undefined */
  soleReader(value: string): INode | undefined {
    const r = this.readers.get(value) ?? [];
    return r.length === 1 && !this.isOutput(value) ? r[0] : undefined;
  }

  readersOf(value: string): readonly INode[] {
    return this.readers.get(value) ?? [];
  }

  isOutput(value: string): boolean {
    return (this.g.output ?? []).some((o) => o.name === value);
  }

  /**
   * The nodes that compute `y` from `x` and constants: backward from y's producer, through every
   * input that is not x or a constant. Undefined when that reaches a graph input or a value nothing
   * produces (then y is not a function of x alone), or when a value inside is read from outside.
   */
  between(x: string, y: string): INode[] | undefined {
    const found = new Set<INode>();
    const todo = [y];
    while (todo.length) {
      const v = todo.pop()!;
      const p = this.producer.get(v);
      if (!p) return undefined;
      if (found.has(p)) continue;
      found.add(p);
      for (const i of p.input ?? []) if (i && i !== x && !this.isConstant(i)) todo.push(i);
    }
    for (const n of found) {
      for (const o of n.output ?? []) {
        if (!o || o === y) continue;
        if (this.isOutput(o) || this.readersOf(o).some((r) => !found.has(r))) return undefined;
      }
    }
    return this.nodes.filter((n) => found.has(n)); // in file order
  }

  addInitializer(t: ITensor): string {
    this.initializers.set(t.name!, t);
    return t.name!;
  }

  /** `add` in place of `remove` (where the first of them was, so file order stays mostly topological). */
  replace(remove: readonly INode[], add: readonly INode[]): void {
    const gone = new Set(remove);
    const at = Math.min(...remove.map((n) => this.nodes.indexOf(n)));
    this.nodes = this.nodes.flatMap((n, i) => (i === at ? [...add, ...(gone.has(n) ? [] : [n])] : gone.has(n) ? [] : [n]));
    this.index();
  }

  /** Writes the edits back: unused constants dropped, nodes in topological order. */
  finish(): void {
    const used = new Set<string>((this.g.output ?? []).map((o) => o.name ?? ''));
    for (const n of this.nodes) for (const x of reads(n)) used.add(x);
    const keep = (n: INode) => !(n.opType === 'Constant' && (n.domain ?? '') === '' && !(n.output ?? []).some((o) => used.has(o)));
    this.g.node = topological(this.nodes.filter(keep), [...(this.g.input ?? []).map((i) => i.name ?? ''), ...this.initializers.keys()]);
    this.g.initializer = [...this.initializers.values()].filter((t) => used.has(t.name ?? ''));
    // old IR versions list initializers as graph inputs too: drop the ones that are gone
    this.g.input = (this.g.input ?? []).filter((i) => !this.initializers.has(i.name ?? '') || used.has(i.name ?? ''));
  }
}

function topological(nodes: INode[], available: string[]): INode[] {
  const ready = new Set(['', ...available]);
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const out: INode[] = [];
  let pending = nodes;
  while (pending.length) {
    const next: INode[] = [];
    for (const n of pending) {
      if (reads(n).every((x) => ready.has(x) || !produced.has(x))) {
        out.push(n);
        for (const o of n.output ?? []) ready.add(o);
      } else next.push(n);
    }
    if (next.length === pending.length) throw new ModelError(`exportOnnx: the rewritten graph has a cycle through ${next[0].opType} node '${next[0].name}'`);
    pending = next;
  }
  return out;
}
