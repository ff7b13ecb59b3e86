// The 'auto' search's weights per (layer, format), quantized once and kept: the search builds a
// layer in each candidate format, then again and again as mixes are tried, and GPTQ's O(K³ + N·K²)
// per layer must not be paid per try. With the layers' input Hessians (H = XᵀX / rows from the
// float model on the calibration inputs, layer-hessians.ts) the formats that can use one get it:
// int4 is GPTQ (act-order by default), ant4 chooses its type and clips by the layer output's error
// and then runs GPTQ, fpx chooses its split by effect. That is the stand-in for quantizeModel's
// sequential GPTQ pass, which needs the layers before a layer fixed and so cannot serve a search
// over them. A layer's Hessian is dropped once the search has quantized all of its candidates.

import type { LayerWeights } from '../formats/format.js';
import type { GraphNode } from './graph.js';
import type { LayerScheme } from './quantize-options.js';

export class CandidateWeights {
  private readonly cache = new Map<GraphNode, Map<LayerScheme, LayerWeights | null>>();

  /**
   * `quantize` gives a layer's weights in a scheme (null: float32) from its Hessian when there is one;
   * `hessians` are the layers' (absent: every candidate rounds to nearest).
   */
  constructor(
    private readonly quantize: (node: GraphNode, scheme: LayerScheme, hessian?: Float64Array) => LayerWeights | null,
    private readonly hessians: Map<GraphNode, Float64Array> = new Map(),
  ) {}

  /** The layer's weights in this scheme (quantized on first use, then the same object). */
  get(node: GraphNode, scheme: LayerScheme): LayerWeights | null {
    let byScheme = this.cache.get(node);
    if (!byScheme) this.cache.set(node, (byScheme = new Map()));
    if (!byScheme.has(scheme)) byScheme.set(scheme, this.quantize(node, scheme, this.hessians.get(node)));
    return byScheme.get(scheme)!;
  }

  /** Drops the layer's Hessian (K² doubles): its candidates are quantized; a scheme asked for later rounds to nearest. */
  release(node: GraphNode): void {
    this.hessians.delete(node);
  }

  /** whether the layer has a Hessian (its candidates that can use it do) */
  hasHessian(node: GraphNode): boolean {
    return this.hessians.has(node);
  }
}
