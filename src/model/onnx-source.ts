// Reading an .onnx file through random access, never whole. A 4-bit LLM's file is mostly the
// raw_data of its initializers; held as one buffer while the layers pack the weights into wasm
// memory, it doubles the memory a load needs (and a file past 2 GiB does not fit a JS buffer at
// all). So the protobuf's structure is copied into a small "skeleton" ModelProto without the large
// raw_data fields of the main graph's initializers (onnx-proto decodes it as usual), and each of
// those is read on its own when its tensor's data is first used (onnx.ts): a MatMulNBits weight
// only while its layer packs it, an unused initializer never.

import { ModelError } from '../errors.js';
import { readVarint, skipVarint } from './protobuf-varint.js';

/** Random access to a model file: `read` returns `length` bytes from `offset` (a fresh buffer, or one the caller will not reuse). */
export interface ModelSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

/** Where a tensor's raw_data lies in the source. */
export interface DeferredRaw {
  readonly source: ModelSource;
  readonly offset: number;
  readonly length: number;
}

export const isModelSource = (v: unknown): v is ModelSource =>
  typeof v === 'object' && v !== null && typeof (v as ModelSource).size === 'number' && typeof (v as ModelSource).read === 'function';

/** raw_data at least this long stays in the file until used; smaller tensors go into the skeleton */
const DEFER_BYTES = 4096;

// field numbers: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data
const MODEL_GRAPH = 7, GRAPH_INITIALIZER = 5, TENSOR_RAW = 9;

/**
 * The skeleton ModelProto's bytes, and for the main graph's initializers (by their index among the
 * graph's initializer fields) whose raw_data was left out, where it lies.
 */
export function skeletonOf(source: ModelSource): { bytes: Uint8Array; deferred: Map<number, DeferredRaw> } {
  if (!Number.isSafeInteger(source.size) || source.size < 0) throw new ModelError(`model source: size must be a byte count, got ${source.size}`);
  const deferred = new Map<number, DeferredRaw>();
  const read = (offset: number, length: number): Uint8Array => {
    const b = source.read(offset, length);
    if (!(b instanceof Uint8Array) || b.length !== length) throw new ModelError(`model source: read(${offset}, ${length}) returned ${b instanceof Uint8Array ? `${b.length} bytes` : typeof b}`);
    return b;
  };
  let initializers = 0;
  // each level copies its fields as they are, except the one it descends into
  const message = (start: number, end: number, visit: (field: number, at: number, length: number) => Uint8Array[] | null): Uint8Array[] => {
    const out: Uint8Array[] = [];
    let pos = start;
    while (pos < end) {
      const [tag, p1] = varint(read, pos, end);
      const field = tag >>> 3, wire = tag & 7;
      let next: number;
      if (wire === 2) {
        const [len, p2] = varint(read, p1, end);
        next = p2 + len;
        if (next > end) throw new ModelError(`model: a length-delimited field at byte ${pos} runs past its message (byte ${end})`);
        const inner = visit(field, p2, len);
        if (inner) {
          out.push(encodeVarint(tag), encodeVarint(inner.reduce((s, b) => s + b.length, 0)), ...inner);
          pos = next;
          continue;
        }
      } else if (wire === 0) next = skipValue(read, p1, end); // any 64-bit value, as the framing check
      else if (wire === 1) next = p1 + 8;
      else if (wire === 5) next = p1 + 4;
      else throw new ModelError(`model: not a valid ONNX protobuf (wire type ${wire} at byte ${pos})`);
      if (next > end) throw new ModelError(`model: a field at byte ${pos} runs past its message (byte ${end})`);
      out.push(read(pos, next - pos));
      pos = next;
    }
    return out;
  };
  const tensor = (index: number) => (field: number, at: number, length: number): Uint8Array[] | null => {
    if (field !== TENSOR_RAW) return null;
    deferred.set(index, { source, offset: at, length });
    return []; // left out: an empty raw_data in the skeleton
  };
  const graph = (field: number, at: number, length: number): Uint8Array[] | null => {
    if (field !== GRAPH_INITIALIZER) return null;
    const index = initializers++;
    return length >= DEFER_BYTES ? message(at, at + length, tensor(index)) : null;
  };
  const parts = message(0, source.size, (field, at, length) => (field === MODEL_GRAPH ? message(at, at + length, graph) : null));
  const bytes = new Uint8Array(parts.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, deferred };
}

/** A varint read through the source: at most its 10 bytes, the same rules as the framing check. */
function varint(read: (offset: number, length: number) => Uint8Array, pos: number, end: number): [number, number] {
  const b = read(pos, Math.min(10, end - pos));
  const [v, n] = readVarint(b, 0, b.length, pos);
  return [v, pos + n];
}

function skipValue(read: (offset: number, length: number) => Uint8Array, pos: number, end: number): number {
  const b = read(pos, Math.min(10, end - pos));
  return pos + skipVarint(b, 0, b.length, pos);
}

function encodeVarint(v: number): Uint8Array {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}
