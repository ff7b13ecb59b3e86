// MatMulNBits initializers handed over to the layer that packed them. Without this a 4-bit model
// holds its weights twice for its whole life: the file's bytes (B, scales) in the graph, and the
// packed copy in wasm memory that the W4A32 layer runs on.
//
// The contract: once a float model's Int4FileLinearLayer has packed a node's weights, the graph's B
// and scales tensors (the very objects every plan, layer spec and model sharing the graph holds)
// stop holding bytes. Reading their `data` decodes it from the packed copy: the bytes the file had,
// exactly (packing is lossless, and only tensors it reproduces exactly are released: K a whole
// number of blocks, uint8 B, float32 or float16 scales, both read by this node alone; zero points
// are small and stay). Nothing in a run reads them. When the layer is disposed, the bytes are
// decoded back into the tensors first, so a model sharing the graph (quantizeModel's, loadQuantized's),
// the graph's fingerprint and exportOnnx keep working after the float model is gone.

import type { Graph, GraphNode, HostData, HostTensor } from './graph.js';
import { toMatMulNBits, type Int4Blocks } from '../quant/int4.js';

const released = new WeakSet<HostTensor>();

/** Whether `t`'s bytes live in a layer's packed copy now (decoded on each read of `data`). */
export function isReleased(t: HostTensor): boolean {
  return released.has(t);
}

/**
 * Releases the B and scales initializers of MatMulNBits `node` to the layer that packed them (`unpack`
 * reads its blocks back). Returns the function that puts the bytes back (call it before the layer's
 * memory goes), or null when they stay in the graph.
 */
export function releaseNBitsWeights(graph: Graph, node: GraphNode, unpack: () => Int4Blocks): (() => void) | null {
  const [, bName, sName] = node.inputs;
  const b = graph.constants.get(bName), s = graph.constants.get(sName);
  if (!b || !s || released.has(b) || released.has(s)) return null;
  if (b.type !== 'uint8' || (s.type !== 'float32' && s.type !== 'float16')) return null;
  const k = node.attrs.get('K'), bs = node.attrs.get('block_size');
  if (typeof k !== 'number' || typeof bs !== 'number' || k % bs !== 0) return null; // padding nibbles would not come back
  if (graph.outputs.includes(bName) || graph.outputs.includes(sName)) return null;
  for (const other of graph.nodes) if (other !== node && (other.inputs.includes(bName) || other.inputs.includes(sName))) return null;
  const bytes = (): HostData => toMatMulNBits(unpack()).B;
  const scales = (): HostData => (s.type === 'float32' ? unpack().scales : Float64Array.from(unpack().scales));
  const lazy: [HostTensor, () => HostData][] = [[b, bytes], [s, scales]];
  for (const [t, decode] of lazy) {
    Object.defineProperty(t, 'data', { get: decode, enumerable: true, configurable: true });
    released.add(t);
  }
  return () => {
    for (const [t, decode] of lazy) {
      Object.defineProperty(t, 'data', { value: decode(), writable: false, enumerable: true, configurable: true });
      released.delete(t);
    }
  };
}
