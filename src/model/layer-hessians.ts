// Each weight layer's input second moment H = XᵀX / rows (K x K, float64) over the calibration
// inputs, taken from the FLOAT model: the rows are a linear layer's input rows, or a convolution's
// im2col rows (one per output pixel, K in weightRows' order: tap-major, input channel minor, zeros
// where the window leaves the padded image). A stand-in for quantizeModel's GPTQ pass, which takes
// H from the inputs propagated through the layers already quantized; it is used only when ANT's
// type is chosen by effect (quantizeModel's antChoice: 'effect'), and it is a separate file so that
// the GPTQ pass can replace it.
// Cost: rows·K²/2 multiply-adds per layer, in wasm (XtxSum, as the GPTQ pass; the rows of a
// convolution built by the pass's addLayerInput).

import { XtxSum } from '../kernels/xtx.js';
import { addLayerInput } from './gptq-pass.js';
import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { Model } from './model.js';

/**
 * H = XᵀX / rows of each weight layer's input (group-1 convolutions and linear layers) over the
 * calibration inputs, run through the float model; `want` picks the layers (default all); `rows`,
 * when given, gets each layer's number of rows.
 */
export async function layerHessians(
  model: Model, calibration: Feeds[], want: (node: GraphNode) => boolean = () => true, onProgress?: (done: number, total: number) => void, rows?: Map<GraphNode, number>,
): Promise<Map<GraphNode, Float64Array>> {
  const accs = new Map<GraphNode, XtxSum>();
  for (const [i, feeds] of calibration.entries()) {
    await model.run(feeds, {
      beforeStep: (step, ins) => {
        const node = step.node;
        const spec = node && step.layer ? model.layerSpecs.get(node) : undefined;
        if (!node || !spec || !ins[0] || (spec.type === 'conv' && spec.geometry.group !== 1) || !want(node)) return;
        const k = spec.type === 'conv' ? spec.geometry.kh * spec.geometry.kw * spec.geometry.cin : spec.k;
        let acc = accs.get(node);
        if (!acc) accs.set(node, (acc = new XtxSum(model.rt, k)));
        // a copy: XtxSum allocates linear memory, which may grow it and detach the view
        const x = new Float32Array(ins[0].length);
        x.set(ins[0]);
        addLayerInput(acc, spec, step.ins[0]!, x);
      },
    });
    onProgress?.(i + 1, calibration.length);
  }
  const out = new Map<GraphNode, Float64Array>();
  for (const [node, acc] of accs) {
    rows?.set(node, acc.rows);
    out.set(node, acc.result(acc.rows > 0 ? 1 / acc.rows : 0));
  }
  return out;
}
