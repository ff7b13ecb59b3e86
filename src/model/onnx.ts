// ONNX import: bytes of a .onnx file -> Graph. Decoding is onnx-proto's (protobufjs); everything
// after it treats the file as untrusted: element counts against data lengths, sizes against wasm32
// limits, names against the values that exist, and operators against what lowbit implements,
// all before anything runs.

import onnxproto from 'onnx-proto';
import { ModelError, UnsupportedOperatorError } from '../errors.js';
import type { AttrValue, ElemType, Graph, GraphInput, GraphNode, HostData, HostTensor, Subgraph } from './graph.js';
import { elementCount, isSubgraph } from './graph.js';
import { checkOperator, checkOperators } from './ops/registry.js';
import { checkSchemas } from './validate-schema.js';
import { checkFraming } from './onnx-framing.js';
import { isModelSource, skeletonOf, type DeferredRaw, type ModelSource } from './onnx-source.js';

const { onnx } = onnxproto;

/** ONNX TensorProto.DataType codes lowbit reads, and how. */
const DATA_TYPES: Record<number, { type: ElemType; bytes: number; name: string }> = {
  1: { type: 'float32', bytes: 4, name: 'float' },
  2: { type: 'uint8', bytes: 1, name: 'uint8' },
  3: { type: 'int8', bytes: 1, name: 'int8' },
  6: { type: 'int32', bytes: 4, name: 'int32' },
  7: { type: 'int64', bytes: 8, name: 'int64' },
  9: { type: 'bool', bytes: 1, name: 'bool' },
  10: { type: 'float16', bytes: 2, name: 'float16' },
  11: { type: 'float64', bytes: 8, name: 'double' },
};

const MAX_TENSOR_ELEMENTS = 2 ** 30; // 4 GiB of float32: beyond wasm32 anyway

type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** `bytes`: the file's bytes; or a ModelSource, read in pieces: the large initializers' data is read when first used (onnx-source.ts). */
export function importOnnx(bytes: Uint8Array | ModelSource): Graph {
  const source = isModelSource(bytes) ? skeletonOf(bytes) : null;
  if (!source && !(bytes instanceof Uint8Array)) throw new ModelError(`model: expected the bytes of an .onnx file as a Uint8Array (or a ModelSource), got ${typeof bytes}`);
  checkFraming(source ? source.bytes : (bytes as Uint8Array));
  let model: onnxproto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(source ? source.bytes : (bytes as Uint8Array));
  } catch (e) {
    throw new ModelError(`model: not a valid ONNX protobuf (${(e as Error).message})`);
  }
  const g = model.graph;
  if (source) for (const [i, raw] of source.deferred) if (g?.initializer?.[i]) deferredRaw.set(g.initializer[i], raw);
  if (!g || !g.node || g.node.length === 0) throw new ModelError('model: the file has no graph or the graph has no nodes');
  let opset = 0;
  const domains = new Map<string, number>();
  for (const o of model.opsetImport ?? []) domains.set(o.domain ?? '', num(o.version));
  opset = domains.get('') ?? domains.get('ai.onnx') ?? 0;
  if (opset < 7 || opset > 23) throw new ModelError(`model: default-domain opset ${opset} is outside what lowbit reads (7…23; tested 9…21)`);
  const versionOf = (domain: string) => domains.get(domain) ?? (domain === '' ? opset : 1);

  // fail fast: every operator lowbit lacks, in one error, before a single weight is decoded
  checkOperators(protoNodes(g, 0), versionOf);
  checkSchemas(g, versionOf);
  const graph = new Importer().main(g, opset);
  validate(graph, versionOf);
  return graph;
}

const MAX_NESTING = 32;
const domainOf = (n: onnxproto.onnx.INodeProto) => (n.domain === 'ai.onnx' ? '' : n.domain ?? '');

/** op, domain and name of every node, subgraphs included, straight from the protobuf. */
function* protoNodes(g: onnxproto.onnx.IGraphProto, depth: number): Generator<{ op: string; domain: string; name: string }> {
  if (depth > MAX_NESTING) throw new ModelError(`model: subgraphs nested more than ${MAX_NESTING} deep`);
  for (const [i, n] of (g.node ?? []).entries()) {
    yield { op: n.opType ?? '', domain: domainOf(n), name: n.name || `#${i}` };
    for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) yield* protoNodes(sg, depth + 1);
  }
}

/** Every value name a node of `g` or of its subgraphs reads, and the names graphs output (as written in the file). */
function readNames(g: onnxproto.onnx.IGraphProto, depth: number, names = new Set<string>()): Set<string> {
  if (depth > MAX_NESTING) throw new ModelError(`model: subgraphs nested more than ${MAX_NESTING} deep`);
  for (const o of g.output ?? []) names.add(o.name ?? '');
  for (const n of g.node ?? []) {
    for (const x of n.input ?? []) names.add(x);
    for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) readNames(sg, depth + 1, names);
  }
  return names;
}

/** Resolves a value name as one scope sees it to its model-wide unique name (undefined: not visible). */
type Resolve = (name: string) => string | undefined;

class Importer {
  /** every value name defined so far, all scopes */
  private readonly taken = new Set<string>();
  private renamed = 0;

  /** value names some node (any scope) or graph output reads: the initializers worth decoding */
  private used = new Set<string>();

  main(g: onnxproto.onnx.IGraphProto, opset: number): Graph {
    this.used = readNames(g, 0);
    checkTyped(g, 'model:');
    // only the initializers something reads are decoded: onnxruntime drops the others unread, so a
    // user's model with a stray (even damaged or oddly typed) initializer loads in both
    const constants = new Map<string, HostTensor>();
    for (const t of g.initializer ?? []) if (this.used.has(t.name ?? '')) constants.set(t.name ?? '', tensorFromProto(t, `initializer '${t.name}'`));
    const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
    // the main graph keeps its names (users feed and read them); subgraphs get out of their way
    for (const v of g.input ?? []) this.taken.add(v.name ?? '');
    for (const t of g.initializer ?? []) this.taken.add(t.name ?? '');
    for (const n of g.node ?? []) for (const o of n.output ?? []) this.taken.add(o);
    const resolve: Resolve = (name) => (this.taken.has(name) ? name : undefined);
    const nodes = this.nodes(g, resolve, constants, 0);

    const inputs: GraphInput[] = [];
    for (const v of g.input ?? []) {
      if (initNames.has(v.name ?? '')) continue; // old exporters list initializers as inputs too
      const tt = v.type?.tensorType;
      const dt = DATA_TYPES[tt?.elemType ?? 0];
      if (!dt || dt.bytes !== elemBytes(dt.type)) throw new ModelError(`model: graph input '${v.name}' has element type ${tt?.elemType}, lowbit takes float32, int64, int32, int8, uint8 or bool inputs`);
      // a dim_value that is set is fixed, 0 included (as onnxruntime reads it); unset or negative is symbolic
      const dims = (tt?.shape?.dim ?? []).map((d) => (d.dimValue != null && num(d.dimValue) >= 0 ? num(d.dimValue) : d.dimParam || '?'));
      inputs.push({ name: v.name ?? '', type: dt.type, dims });
    }
    const outputs = (g.output ?? []).map((o) => o.name ?? '');
    const ready = [...inputs.map((i) => i.name), ...constants.keys()];
    return { name: g.name ?? '', opset, nodes: topologicalOrder(nodes, ready), inputs, outputs, constants };
  }

  /** A GRAPH attribute: its values renamed where they shadow others, its outer-scope reads listed. */
  private subgraph(g: onnxproto.onnx.IGraphProto, outerResolve: Resolve, depth: number, what: string): Subgraph {
    const local = new Map<string, string>();
    const define = (name: string) => {
      if (!name || local.has(name)) return;
      let unique = name;
      while (this.taken.has(unique)) unique = `${name}::${++this.renamed}`;
      this.taken.add(unique);
      local.set(name, unique);
    };
    for (const v of g.input ?? []) define(v.name ?? '');
    for (const t of g.initializer ?? []) define(t.name ?? '');
    for (const n of g.node ?? []) for (const o of n.output ?? []) define(o);
    const outer = new Set<string>();
    const resolve: Resolve = (name) => {
      const l = local.get(name);
      if (l !== undefined) return l;
      const o = outerResolve(name);
      if (o !== undefined) outer.add(o);
      return o;
    };
    checkTyped(g, `${what}:`);
    const constants = new Map<string, HostTensor>();
    for (const t of g.initializer ?? []) if (this.used.has(t.name ?? '')) constants.set(local.get(t.name ?? '')!, tensorFromProto(t, `${what} initializer '${t.name}'`));
    const nodes = this.nodes(g, resolve, constants, depth);
    const initNames = new Set((g.initializer ?? []).map((t) => local.get(t.name ?? '')!));
    const inputs = (g.input ?? []).map((v) => local.get(v.name ?? '')!).filter((v) => !initNames.has(v));
    const outputs = (g.output ?? []).map((o) => {
      const r = local.get(o.name ?? '');
      if (r === undefined) {
        const how = outerResolve(o.name ?? '') === undefined ? 'is not produced by any node or input' : 'is an outer-scope value returned directly (onnxruntime refuses this too): add an Identity node';
        throw new ModelError(`${what}: output '${o.name}' ${how}`);
      }
      return r;
    });
    const ready = [...inputs, ...constants.keys(), ...outer];
    return { name: g.name ?? '', inputs, outputs, nodes: topologicalOrder(nodes, ready), constants, outer: [...outer] };
  }

  /** The nodes of one scope (Constant nodes go to `constants`), names resolved. */
  private nodes(g: onnxproto.onnx.IGraphProto, resolve: Resolve, constants: Map<string, HostTensor>, depth: number): GraphNode[] {
    const nodes: GraphNode[] = [];
    for (const [i, n] of (g.node ?? []).entries()) {
      const name = n.name || `#${i}`;
      const op = n.opType ?? '';
      const domain = domainOf(n);
      const attrs = new Map<string, AttrValue>();
      const implicit = new Set<string>();
      for (const a of n.attribute ?? []) {
        const what = `${op} node '${name}' attribute '${a.name}'`;
        if (a.type === GRAPH_ATTR && a.g) {
          if (domain !== '' || !GRAPH_OPS.has(op)) throw new ModelError(`${what}: is a graph; lowbit reads graphs as the attributes of If and Loop`);
          const sg = this.subgraph(a.g, resolve, depth + 1, what);
          attrs.set(a.name ?? '', sg);
          for (const o of sg.outer) implicit.add(o);
        } else {
          attrs.set(a.name ?? '', attrFromProto(a, what));
        }
      }
      const outputs = (n.output ?? []).map((o) => (o === '' ? '' : resolve(o) ?? o));
      if (op === 'Constant' && domain === '') {
        constants.set(outputs[0] ?? '', constantValue(attrs, name));
        continue;
      }
      const inputs = [...(n.input ?? []).map((x) => (x === '' ? '' : resolve(x) ?? x)), ...implicit];
      nodes.push({ name, op, domain, inputs, outputs, attrs });
    }
    return nodes;
  }
}

/**
 * Every initializer says its element type, read or not: onnxruntime refuses a model with one whose
 * data_type is 0 (UNDEFINED) even when no node reads it ("Tensor does not have type information"),
 * as onnx's checker does, so lowbit must not run it (it would skip that initializer unread).
 */
function checkTyped(g: onnxproto.onnx.IGraphProto, where: string): void {
  for (const t of g.initializer ?? []) {
    if (!t.dataType) throw new ModelError(`${where} initializer '${t.name}' has data_type 0 (UNDEFINED): a tensor must say its element type (onnxruntime refuses it too, even where no node reads it)`);
  }
}

const GRAPH_ATTR = 5;
/** operators whose GRAPH attributes lowbit runs */
const GRAPH_OPS = new Set(['If', 'Loop']);

function elemBytes(t: ElemType): number {
  return t === 'float32' || t === 'int32' ? 4 : t === 'int64' ? 8 : 1;
}

/** the integer types int32_data holds widened, and the values each can take */
const INT32_DATA_RANGES: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], bool: [0, 1] };

function tensorFromProto(t: onnxproto.onnx.ITensorProto, what: string): HostTensor {
  if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
    throw new ModelError(`${what}: stored as external data; lowbit reads self-contained .onnx files only`);
  }
  const dt = DATA_TYPES[t.dataType ?? 0];
  if (!dt) throw new ModelError(`${what}: element type ${t.dataType} is not supported (float, float16, double, int64, int32, int8, uint8, bool are)`);
  const dims = (t.dims ?? []).map(num);
  for (const d of dims) if (!Number.isSafeInteger(d) || d < 0) throw new ModelError(`${what}: bad dims [${dims.join(', ')}]`);
  const n = elementCount(dims);
  if (n > MAX_TENSOR_ELEMENTS) throw new ModelError(`${what}: ${n} elements is more than wasm32 memory can hold`);
  const deferred = deferredRaw.get(t);
  if (deferred) {
    if (deferred.length !== n * dt.bytes) throw new ModelError(`${what}: raw data has ${deferred.length} bytes, dims [${dims.join(', ')}] of ${dt.name} need ${n * dt.bytes}`);
    return deferredTensor(dt.type, dims, deferred, dt.name);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (raw) {
    if (raw.length !== n * dt.bytes) throw new ModelError(`${what}: raw data has ${raw.length} bytes, dims [${dims.join(', ')}] of ${dt.name} need ${n * dt.bytes}`);
    return { type: dt.type, dims, data: rawTensorData(raw, dt.name) };
  }
  const field: ArrayLike<number | Long> | null | undefined =
    dt.name === 'float' ? t.floatData : dt.name === 'double' ? t.doubleData : dt.name === 'int64' ? t.int64Data : t.int32Data;
  const src = field ?? [];
  if (src.length !== n) throw new ModelError(`${what}: has ${src.length} values, dims [${dims.join(', ')}] need ${n}`);
  const vals = Array.from(src, (v) => num(v as number | Long));
  // int32_data carries the narrow integer types widened: a value outside the type's range (a zero
  // point of 300 for uint8) is a damaged file, not something to wrap silently
  const range = INT32_DATA_RANGES[dt.name];
  if (range) {
    const bad = vals.findIndex((v) => !Number.isInteger(v) || v < range[0] || v > range[1]);
    if (bad >= 0) throw new ModelError(`${what}: value ${vals[bad]} at index ${bad} is outside ${dt.name}'s range ${range[0]}..${range[1]}`);
  }
  const typed: ArrayLike<number> = dt.name === 'float16' ? halfToFloat(Uint16Array.from(vals)) : vals;
  const data = dt.type === 'float32' ? Float32Array.from(typed) : dt.type === 'int8' ? Int8Array.from(typed) : dt.type === 'uint8' || dt.type === 'bool' ? Uint8Array.from(typed) : Float64Array.from(typed);
  return { type: dt.type, dims, data };
}

/** initializers whose raw_data stays in the ModelSource until used */
const deferredRaw = new WeakMap<onnxproto.onnx.ITensorProto, DeferredRaw>();

/** A tensor whose data is read from the source on first use, then kept (released-weights.ts may hand it to a layer). */
function deferredTensor(type: ElemType, dims: number[], raw: DeferredRaw, name: string): HostTensor {
  let data: HostData | null = null;
  const t: HostTensor = {
    type, dims,
    get data(): HostData {
      if (!data) data = readRaw(raw, 0, raw.length, name);
      return data;
    },
  };
  // rows along the first axis straight from the source: a decoder's embedding table (a quarter of a
  // q4 file) is gathered a few rows per token, never held whole
  if (dims.length > 0 && dims[0] > 0 && ROW_READABLE.includes(name)) rowReaders.set(t, rowsOf(raw, raw.length / dims[0], name));
  return t;
}

function readRaw(raw: DeferredRaw, offset: number, length: number, name: string): HostData {
  const bytes = raw.source.read(raw.offset + offset, length);
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) throw new ModelError(`model source: read(${raw.offset + offset}, ${length}) returned ${bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes}`);
  return rawTensorData(bytes, name);
}

// its own scope: a closure beside the getter's would keep the tensor's whole data alive after
// released-weights.ts has handed it to a layer
const rowsOf = (raw: DeferredRaw, rowBytes: number, name: string) => (first: number, count: number): HostData => readRaw(raw, first * rowBytes, count * rowBytes, name);

const ROW_READABLE = ['float', 'int8', 'uint8', 'bool'];
const rowReaders = new WeakMap<HostTensor, (first: number, count: number) => HostData>();

/**
 * For an initializer a ModelSource holds (float32, int8, uint8, bool): a function returning rows
 * [first, first + count) of its first axis, read from the source (no whole copy), else null.
 */
export function rowReaderOf(t: HostTensor): ((first: number, count: number) => HostData) | null {
  return rowReaders.get(t) ?? null;
}

/**
 * raw_data as the tensor's data. float32, int8, uint8 and bool are held as they are: a view into the
 * file's bytes (protobufjs hands out views, not copies) when the offset is aligned for the element,
 * so a model's weights are not held twice while it loads; copied only when misaligned. The other
 * types are converted (to float64 numbers or float32), which copies anyway.
 */
function rawTensorData(raw: Uint8Array, name: string): HostData {
  const { buffer, byteOffset: at, length } = raw;
  switch (name) {
    case 'float': return at % 4 === 0 ? new Float32Array(buffer, at, length / 4) : new Float32Array(aligned(raw).buffer);
    case 'int8': return new Int8Array(buffer, at, length);
    case 'uint8': case 'bool': return new Uint8Array(buffer, at, length); // a plain Uint8Array, not a Node Buffer (whose slice() is a view)
    case 'double': return Float64Array.from(new Float64Array(aligned(raw).buffer));
    case 'float16': return Float64Array.from(halfToFloat(new Uint16Array(aligned(raw).buffer)));
    case 'int32': return Float64Array.from(new Int32Array(aligned(raw).buffer));
    case 'int64': return Float64Array.from(new BigInt64Array(aligned(raw).buffer), clampBig);
    default: throw new ModelError(`raw data of element type ${name}: not read`);
  }
}

/** bytes copied to a fresh buffer (offset 0, so aligned for any element type) */
const aligned = (raw: Uint8Array): Uint8Array => new Uint8Array(raw); // not raw.slice(): a Node Buffer's slice is a view

/**
 * An int64 as a number. Within ±(2^53 − 1), the range lowbit holds integers in exactly, as it is;
 * beyond, clamped to ±2^53: still "past every size" (Slice's INT64_MAX ends), and not a safe
 * integer, so a model output that carries it is refused (outputs.ts), never returned rounded.
 */
export function clampBig(v: bigint): number {
  const max = 2n ** 53n;
  return Number(v > max ? max : v < -max ? -max : v);
}

function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i], s = x & 0x8000 ? -1 : 1, e = (x >> 10) & 31, m = x & 1023;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

function attrFromProto(a: onnxproto.onnx.IAttributeProto, what: string): AttrValue {
  const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());
  switch (a.type) {
    case 1: return a.f ?? 0;
    case 2: return num(a.i);
    case 3: return text(a.s);
    case 4: return tensorFromProto(a.t ?? {}, what);
    case 6: return [...(a.floats ?? [])];
    case 7: return (a.ints ?? []).map(num);
    case 8: return (a.strings ?? []).map(text);
    default: throw new ModelError(`${what}: attribute type ${a.type} (a list of graphs, sparse tensors) is not supported`);
  }
}

function constantValue(attrs: Map<string, AttrValue>, name: string): HostTensor {
  const v = attrs.get('value');
  if (v && typeof v === 'object' && 'data' in v) return v;
  const f = attrs.get('value_float'), fs = attrs.get('value_floats'), i = attrs.get('value_int'), is = attrs.get('value_ints');
  if (typeof f === 'number') return { type: 'float32', dims: [], data: Float32Array.of(f) };
  if (Array.isArray(fs)) return { type: 'float32', dims: [fs.length], data: Float32Array.from(fs as number[]) };
  if (typeof i === 'number') return { type: 'int64', dims: [], data: Float64Array.of(i) };
  if (Array.isArray(is)) return { type: 'int64', dims: [is.length], data: Float64Array.from(is as number[]) };
  throw new UnsupportedOperatorError(`Constant node '${name}': needs a 'value' tensor or value_float(s)/value_int(s) attribute`);
}

/** ONNX requires topological order; exporters sometimes break it, so sort (and find cycles). */
function topologicalOrder(nodes: GraphNode[], available: Iterable<string>): GraphNode[] {
  const ready = new Set<string>([...available, '']);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => {
    if (o === '') return; // an omitted optional output
    if (producer.has(o) || ready.has(o)) throw new ModelError(`model: value '${o}' is produced twice (second time by ${n.op} node '${n.name}')`);
    producer.set(o, i);
  }));
  const out: GraphNode[] = [];
  const state = new Uint8Array(nodes.length); // 0 new, 1 visiting, 2 done
  const visit = (i: number) => {
    if (state[i] === 2) return;
    if (state[i] === 1) throw new ModelError(`model: the graph has a cycle through ${nodes[i].op} node '${nodes[i].name}'`);
    state[i] = 1;
    for (const x of nodes[i].inputs) {
      if (ready.has(x)) continue;
      const p = producer.get(x);
      if (p === undefined) throw new ModelError(`model: ${nodes[i].op} node '${nodes[i].name}' reads '${x}', which no node, input or initializer provides`);
      visit(p);
    }
    state[i] = 2;
    out.push(nodes[i]);
  };
  // iterative over roots; recursion depth is bounded by the longest chain, so guard it
  for (let i = 0; i < nodes.length; i++) {
    try {
      visit(i);
    } catch (e) {
      if (e instanceof RangeError) throw new ModelError('model: the graph is too deep to order');
      throw e;
    }
  }
  return out;
}

function validate(g: Graph, versionOf: (domain: string) => number): void {
  const have = new Set<string>([...g.inputs.map((i) => i.name), ...g.constants.keys()]);
  checkNodes(g.nodes, versionOf);
  for (const n of g.nodes) for (const o of n.outputs) have.add(o);
  for (const o of g.outputs) if (!have.has(o)) throw new ModelError(`model: graph output '${o}' is not produced by any node`);
  if (g.inputs.length === 0) throw new ModelError('model: the graph has no inputs');
}

/** Opset ranges and attribute checks of every node, subgraphs included. */
function checkNodes(nodes: readonly GraphNode[], versionOf: (domain: string) => number): void {
  for (const n of nodes) {
    checkOperator(n, versionOf(n.domain));
    for (const a of n.attrs.values()) if (isSubgraph(a)) checkNodes(a.nodes, versionOf);
  }
}
