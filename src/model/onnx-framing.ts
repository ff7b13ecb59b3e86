// The protobuf framing of an .onnx file, checked before onnx-proto decodes it. protobufjs is lenient
// where a corrupted file needs strictness: a nested message whose length runs past its parent's end
// is read on into the parent's next bytes, and a field of a known number is read whatever its wire
// type says, so a file with a flipped length or tag can decode into a different, plausible model.
// This walks every message the importer reads (model, graphs and subgraphs, nodes, attributes,
// tensors, value infos) and refuses a wire type protobuf 3 never writes (groups, 6, 7) and any
// field that runs past its message.

import { ModelError } from '../errors.js';
import { readVarint as varint, skipVarint } from './protobuf-varint.js';

/** Which fields of a message are messages the walk descends into (by field number). */
interface Shape {
  [field: number]: Shape;
}

// field numbers from onnx.proto
const LEAF: Shape = {}; // walked (its fields framed), not descended: TensorProto, ValueInfoProto, OperatorSetIdProto
const GRAPH: Shape = {};
const ATTRIBUTE: Shape = { 5: LEAF, 6: GRAPH, 10: LEAF, 11: GRAPH }; // t, g, tensors, graphs
const NODE: Shape = { 5: ATTRIBUTE };
Object.assign(GRAPH, { 1: NODE, 5: LEAF, 11: LEAF, 12: LEAF, 13: LEAF }); // node, initializer, input, output, value_info
const MODEL: Shape = { 7: GRAPH, 8: LEAF }; // graph, opset_import

/** Messages nested deeper than this are refused (subgraphs are limited to 32 levels later anyway). */
const MAX_DEPTH = 160;

export function checkFraming(bytes: Uint8Array): void {
  walk(bytes, 0, bytes.length, MODEL, 0);
}

function walk(b: Uint8Array, start: number, end: number, shape: Shape, depth: number): void {
  if (depth > MAX_DEPTH) throw new ModelError(`model: messages nested more than ${MAX_DEPTH} deep`);
  let pos = start;
  while (pos < end) {
    const [tag, p1] = varint(b, pos, end);
    const field = tag >>> 3, wire = tag & 7;
    if (field === 0) throw new ModelError(`model: not a valid ONNX protobuf (field number 0 at byte ${pos})`);
    let next: number;
    if (wire === 0) next = skipVarint(b, p1, end); // a value: an int64 -1 is ten bytes, beyond a double
    else if (wire === 1) next = p1 + 8;
    else if (wire === 5) next = p1 + 4;
    else if (wire === 2) {
      const [len, p2] = varint(b, p1, end);
      next = p2 + len;
      if (next > end) throw new ModelError(`model: not a valid ONNX protobuf (a field at byte ${pos} runs past its message, which ends at byte ${end})`);
      const inner = shape[field];
      if (inner) walk(b, p2, next, inner, depth + 1);
    } else throw new ModelError(`model: not a valid ONNX protobuf (wire type ${wire} at byte ${pos})`);
    if (next > end) throw new ModelError(`model: not a valid ONNX protobuf (a field at byte ${pos} runs past its message, which ends at byte ${end})`);
    pos = next;
  }
}
