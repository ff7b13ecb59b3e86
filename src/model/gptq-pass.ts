// quantizeModel's GPTQ pass (method 'gptq'): the layers are quantized one after another in execution
// order, each from the Hessian of its input, H = XᵀX / rows (im2col rows, in weightRows' K order,
// for convolutions), taken on the calibration inputs as they reach it through the layers already
// quantized before it: the paper's sequential scheme (GPTQ quantizes a transformer block's layers
// on the inputs the quantized blocks before it produce), for any graph.
//
// How: the quantized model is built with every GPTQ layer pending (float32). Each round runs the
// calibration inputs; the first pending layer reached (and the pending layers that read the very
// same value, e.g. q/k/v projections) gets its input's XᵀX accumulated (a running sum: the rows
// are not kept), and the run stops there, as nothing after it is needed. Those layers are then
// rebuilt quantized with their Hessians, and the next round starts. Each run keeps its live values
// at the frontier (Model's RunState: one copy per calibration input, about 1 MB for a text line),
// and the next round resumes there, so the quantized prefix is not run again: about one model run
// per calibration input in all, not L/2 for L layers (PP-OCRv4, 33 layers, 68 lines: 44 s of
// model runs became 6 s). A frontier inside If or Loop is not kept: that round's runs start from
// the feeds and go on to the next pending layer that reads another value, as before.
// A layer inside a Loop body that feeds itself sees its input from its own float iterations.

import { LowbitError, ValueRangeError } from '../errors.js';
import type { LayerWeights } from '../formats/format.js';
import { weightFormat } from '../formats/table.js';
import type { HessianSum } from '../quant/gptq.js';
import { XtxSum } from '../kernels/xtx.js';
import type { Feeds } from './calibrate.js';
import { nodeLabel, type GraphNode } from './graph.js';
import type { ModelLayer } from './layers.js';
import type { LayerSpec, Model, RunState } from './model.js';
import type { PlanValue } from './plan-types.js';

/** Thrown inside beforeStep to end a calibration run early; never leaves this file. */
class StopRun extends LowbitError {
  constructor() {
    super('ERR_ARGUMENT', 'gptq: run stopped after the layers of this round');
  }
}

/** Which layers wait for their Hessian, the Hessians ready for the builder, and the weights built from them. */
export class GptqLayers {
  /** layers built float32 until their Hessian is known */
  readonly pending = new Set<GraphNode>();
  private readonly hessians = new Map<GraphNode, Float64Array>();
  private readonly weights = new Map<GraphNode, LayerWeights | null>();
  private running = true;

  /** whether the layer of this node in this scheme is quantized with its Hessian */
  static wants(spec: LayerSpec, scheme: string): boolean {
    if (scheme === 'float32') return false;
    const format = weightFormat(scheme);
    if (!format.usesHessian) return false;
    if (spec.type === 'conv' && spec.geometry.group !== 1) return false;
    return !(spec.type === 'linear' && spec.fileWeights?.format === format);
  }

  /**
   * The layer for a GPTQ node: float32 while it waits for its Hessian (during the pass), else
   * `quantize(hessian)`'s weights (kept, so a rebuild gives the same layer; without a Hessian —
   * a layer the calibration inputs never reached — round to nearest).
   */
  layer(node: GraphNode, float: () => ModelLayer, quantize: (hessian?: Float64Array) => LayerWeights | null, build: (w: LayerWeights | null) => ModelLayer): ModelLayer {
    let w = this.weights.get(node);
    if (w === undefined) {
      const h = this.hessians.get(node);
      if (!h && this.running) {
        this.pending.add(node);
        return float();
      }
      try {
        w = quantize(h);
      } catch (e) {
        // a Hessian GPTQ cannot factor (too few calibration rows for K, dampPercent 0): name the layer
        if (h && e instanceof ValueRangeError && /positive definite|^hessian/i.test(e.message)) throw new ValueRangeError(`gptq: layer ${nodeLabel(node)}: ${e.message}`);
        throw e;
      }
      this.weights.set(node, w);
      this.hessians.delete(node); // K×K float64: not kept once used
    }
    return build(w);
  }

  /** runs the rounds (see the header) until no layer is pending, then builds the unreached ones by rounding */
  async run(model: Model, calibration: Feeds[], onProgress?: (done: number, total: number) => void): Promise<void> {
    let done = 0;
    // per calibration input: its live values at the last round's first pending layer, to resume from
    const states: (RunState | undefined)[] = new Array(calibration.length);
    for (;;) {
      const group = new Map<GraphNode, XtxSum>();
      let input: string | null = null;
      const add = (node: GraphNode, v: PlanValue, x: Float32Array) => {
        const spec = model.layerSpecs.get(node)!;
        let sum = group.get(node);
        if (!sum) group.set(node, (sum = new XtxSum(model.rt, spec.type === 'conv' ? spec.geometry.kh * spec.geometry.kw * spec.geometry.cin : spec.k)));
        addLayerInput(sum, spec, v, x);
      };
      for (const [i, feeds] of calibration.entries()) {
        const resume = states[i];
        states[i] = undefined;
        try {
          await model.run(feeds, {
            resume,
            beforeStep: (step, ins, place) => {
              if (!step.layer || !step.node || !this.pending.has(step.node)) return;
              const v = step.ins[0]!;
              input ??= v.name;
              if (v.name !== input) throw new StopRun();
              // a copy: XtxSum allocates linear memory, which may grow it and detach the view
              const x = new Float32Array(ins[0]!.length);
              x.set(ins[0]!);
              add(step.node, v, x);
              if (!place) return; // inside If or Loop: on to the group's other layers
              // the frontier: kept for the next round, and the pending layers that read this very value take it now
              states[i] = place.state();
              for (const s of place.plan.steps.slice(place.index + 1)) {
                if (s.layer && s.node && this.pending.has(s.node) && s.ins[0]?.name === v.name) add(s.node, s.ins[0], x);
              }
              throw new StopRun();
            },
          });
        } catch (e) {
          if (!(e instanceof StopRun)) throw e;
        }
      }
      if (group.size === 0) break;
      for (const [node, sum] of group) {
        this.hessians.set(node, sum.result(1 / sum.rows));
        this.pending.delete(node);
      }
      done += group.size;
      onProgress?.(done, done + this.pending.size);
      await model.rebuild(group.keys());
    }
    this.running = false;
    // layers built during the pass but never reached: round to nearest from now on
    await model.rebuild(this.pending);
    this.pending.clear();
  }
}

/** Adds a layer input's rows to XᵀX: rows of K for a linear layer, im2col rows for a convolution. */
export function addLayerInput(sum: Pick<HessianSum, 'addRow'>, spec: LayerSpec, v: Pick<PlanValue, 'dims' | 'nhwc'>, x: Float32Array): void {
  if (spec.type === 'linear') {
    const k = spec.k;
    for (let r = 0; r < x.length / k; r++) sum.addRow(x, r * k);
    return;
  }
  const g = spec.geometry;
  const [n, c, h, w] = v.dims;
  // element (b, ci, y, x) of the input, as laid out (NHWC data under NCHW dims, or NCHW)
  const sc = v.nhwc ? 1 : h * w, sy = v.nhwc ? w * c : w, sx = v.nhwc ? c : 1, sb = c * h * w;
  const oh = Math.floor((h + g.pt + g.pb - g.dh * (g.kh - 1) - 1) / g.sh) + 1;
  const ow = Math.floor((w + g.pl + g.pr - g.dw * (g.kw - 1) - 1) / g.sw) + 1;
  const row = new Float64Array(g.kh * g.kw * g.cin);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.sh - g.pt + ky * g.dh;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.sw - g.pl + kx * g.dw;
            const t0 = (ky * g.kw + kx) * g.cin; // weightRows' K order: tap-major, then input channel
            if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
              const base = b * sb + iy * sy + ix * sx;
              for (let ci = 0; ci < g.cin; ci++) row[t0 + ci] = x[base + ci * sc];
            } else row.fill(0, t0, t0 + g.cin);
          }
        }
        sum.addRow(row, 0);
      }
    }
  }
}
