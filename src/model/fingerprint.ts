// A graph's fingerprint: SHA-256 over everything that decides what the graph computes (opset,
// inputs, outputs, every node's name, op, domain, inputs, outputs and attributes, every constant's
// name, type, dims and bytes). A saved quantized model records it, so a file loads only onto the
// graph it was quantized from: the same architecture with other weights, or a changed attribute,
// is another graph. The .onnx bytes themselves are not needed (a model does not keep them), and
// doc strings or producer names, which change nothing, do not count. Cached per graph (~0.1 s per
// 10 MB of weights).

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { AttrValue, Graph, HostTensor } from './graph.js';

const cache = new WeakMap<Graph, string>();

export function graphFingerprint(graph: Graph): string {
  let fp = cache.get(graph);
  if (fp) return fp;
  const h = sha256.create();
  const text = (v: unknown) => h.update(utf8ToBytes(JSON.stringify(v) + '\n'));
  const tensor = (t: HostTensor) => {
    text([t.type, t.dims]);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  };
  text(['lowbit graph', graph.opset, graph.inputs, graph.outputs]);
  for (const node of graph.nodes) {
    text([node.name, node.op, node.domain, node.inputs, node.outputs]);
    for (const name of [...node.attrs.keys()].sort()) {
      const v: AttrValue = node.attrs.get(name)!;
      if (typeof v === 'object' && v !== null && 'data' in v) {
        text([name, 'tensor']);
        tensor(v);
      } else text([name, v]);
    }
  }
  for (const name of [...graph.constants.keys()].sort()) {
    text(['constant', name]);
    tensor(graph.constants.get(name)!);
  }
  fp = bytesToHex(h.digest());
  cache.set(graph, fp);
  return fp;
}

/** SHA-256 of bytes, as hex. */
export function sha256Hex(data: ArrayBufferView): string {
  return bytesToHex(sha256(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
}
