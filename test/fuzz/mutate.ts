// Mutations of the fuzzer's inputs, as plain data that fast-check generates and shrinks: byte-level
// (bit flips, bytes set to boundary values, truncation, inserted junk) for any file, and
// structure-aware ones for ONNX models (an attribute, a dimension, a data type, a wiring, an
// operator or a node changed, dropped or repeated: the edits that reach deep checks, where random
// bytes mostly break the protobuf framing).

import fc from 'fast-check';
import onnxproto from 'onnx-proto';

const { onnx } = onnxproto;

/** Boundary values a mutated integer field takes. */
const INTERESTING = [0, 1, -1, 2, 3, -2, 7, 8, 16, 255, 256, 65535, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2 ** 53)];
const OPS = ['Conv', 'MatMul', 'Gemm', 'Relu', 'Add', 'Mul', 'Reshape', 'Gather', 'Slice', 'Concat', 'Transpose', 'Resize', 'Pad', 'MaxPool', 'If', 'LSTM', 'Softmax', 'Flatten', 'QuantizeLinear', 'Cast', 'Split', 'Expand', 'NoSuchOp'];

export type ByteMutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] };

export type ModelMutation =
  | { kind: 'attr'; node: number; attr: number; value: number; elem: number }
  | { kind: 'dim'; tensor: number; dim: number; value: number }
  | { kind: 'dtype'; tensor: number; value: number }
  | { kind: 'wire'; node: number; slot: number; to: number }
  | { kind: 'op'; node: number; op: number }
  | { kind: 'drop-node'; node: number }
  | { kind: 'repeat-node'; node: number }
  | { kind: 'drop-init'; tensor: number }
  | { kind: 'raw'; tensor: number; keep: number }
  | { kind: 'input-dim'; dim: number; value: number }
  | { kind: 'opset'; value: number };

const pick = fc.nat({ max: 1 << 16 });
const interesting = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: -4, max: 64 }));

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: pick, bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: pick, value: fc.constantFrom(0, 1, 0x7f, 0x80, 0xff) }),
  fc.record({ kind: fc.constant('truncate' as const), at: pick }),
  fc.record({ kind: fc.constant('insert' as const), at: pick, bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 8 }) }),
);

export const modelMutation: fc.Arbitrary<ModelMutation> = fc.oneof(
  fc.record({ kind: fc.constant('attr' as const), node: pick, attr: pick, value: interesting, elem: pick }),
  fc.record({ kind: fc.constant('dim' as const), tensor: pick, dim: pick, value: interesting }),
  fc.record({ kind: fc.constant('dtype' as const), tensor: pick, value: fc.integer({ min: 0, max: 25 }) }),
  fc.record({ kind: fc.constant('wire' as const), node: pick, slot: pick, to: pick }),
  fc.record({ kind: fc.constant('op' as const), node: pick, op: fc.nat({ max: OPS.length - 1 }) }),
  fc.record({ kind: fc.constant('drop-node' as const), node: pick }),
  fc.record({ kind: fc.constant('repeat-node' as const), node: pick }),
  fc.record({ kind: fc.constant('drop-init' as const), tensor: pick }),
  fc.record({ kind: fc.constant('raw' as const), tensor: pick, keep: pick }),
  fc.record({ kind: fc.constant('input-dim' as const), dim: pick, value: interesting }),
  fc.record({ kind: fc.constant('opset' as const), value: fc.constantFrom(1, 6, 7, 9, 10, 11, 12, 14, 17, 19, 21, 23, 99) }),
);

export function applyBytes(bytes: Uint8Array, muts: readonly ByteMutation[]): Uint8Array {
  let b = Uint8Array.from(bytes);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] ^= 1 << m.bit;
    else if (m.kind === 'set') b[at] = m.value;
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]);
  }
  return b;
}

/** The model with the mutations applied (re-encoded), or null when one does not apply to it. */
export function applyModel(bytes: Uint8Array, muts: readonly ModelMutation[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = graph.node, inits = graph.initializer;
  const names = [...new Set([...nodes.flatMap((n) => [...n.input, ...n.output]), ...inits.map((t) => t.name), ...graph.input.map((i) => i.name), ''])];
  for (const m of muts) {
    const node = nodes.length ? nodes[('node' in m ? m.node : 0) % nodes.length] : undefined;
    const tensor = inits.length ? inits[('tensor' in m ? m.tensor : 0) % inits.length] : undefined;
    switch (m.kind) {
      case 'attr': {
        const a = node?.attribute.length ? node.attribute[m.attr % node.attribute.length] : undefined;
        if (!a) break;
        if (a.ints?.length) a.ints[m.elem % a.ints.length] = m.value;
        else if (a.floats?.length) a.floats[m.elem % a.floats.length] = m.value;
        else if (a.type === onnx.AttributeProto.AttributeType.FLOAT) a.f = m.value;
        else a.i = m.value;
        break;
      }
      case 'dim':
        if (tensor?.dims.length) tensor.dims[m.dim % tensor.dims.length] = m.value;
        break;
      case 'dtype':
        if (tensor) tensor.dataType = m.value;
        break;
      case 'wire':
        if (node?.input.length) node.input[m.slot % node.input.length] = names[m.to % names.length];
        break;
      case 'op':
        if (node) node.opType = OPS[m.op];
        break;
      case 'drop-node':
        if (node) nodes.splice(nodes.indexOf(node), 1);
        break;
      case 'repeat-node':
        if (node) nodes.push(onnx.NodeProto.fromObject(onnx.NodeProto.toObject(node)));
        break;
      case 'drop-init':
        if (tensor) inits.splice(inits.indexOf(tensor), 1);
        break;
      case 'raw':
        if (tensor?.rawData?.length) tensor.rawData = tensor.rawData.slice(0, m.keep % tensor.rawData.length);
        break;
      case 'input-dim': {
        const dims = graph.input[0]?.type?.tensorType?.shape?.dim;
        if (dims?.length) dims[m.dim % dims.length] = { dimValue: m.value };
        break;
      }
      case 'opset':
        if (model.opsetImport[0]) model.opsetImport[0].version = m.value;
        break;
    }
  }
  return onnx.ModelProto.encode(model).finish();
}
