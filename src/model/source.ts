// The .onnx bytes a graph was imported from, kept by reference (not copied) so exportOnnx can start
// from the file's own ModelProto: attribute types, doc strings and every node lowbit rewrote at load
// are there as the file has them. Keyed by the graph, so quantizeModel's and loadQuantized's models
// (which share their float model's graph) find it too. loadModel(..., { keepSource: false }) skips it.

import type { Graph } from './graph.js';

const sources = new WeakMap<Graph, Uint8Array>();

export function keepSource(graph: Graph, bytes: Uint8Array): void {
  sources.set(graph, bytes);
}

export function sourceOf(graph: Graph): Uint8Array | undefined {
  return sources.get(graph);
}
