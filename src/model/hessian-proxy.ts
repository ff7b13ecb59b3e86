// The 'auto' search's cheap second signal: per layer and format, tr(dW H dW^T) / tr(W H W^T) with
// H = X^T X of the layer's GEMM input rows X (im2col rows for convolutions) sampled while the float
// model runs the search inputs. That is the layer's own output noise over its output signal, so it
// is reported as a layer SQNR in dB. A format with a static uint8 input range (needsInputRange) adds
// its input rounding noise, step^2/12 per input value, through the weights (||W||^2 step^2 / 12).
// Dynamic per-row activations (the 4-bit formats' int8 rows) are not modelled: they are finer.
// H is never formed: tr(dW H dW^T) = sum over sampled rows x of ||dW x||^2.

import type { Feeds } from './calibrate.js';
import type { GraphNode } from './graph.js';
import type { LayerSpec, Model } from './model.js';
import type { PlanValue } from './plan-types.js';

/** Sampled GEMM input rows of a layer, each of length K (the order weightRows uses). */
export type LayerRows = Float32Array[];

/** Up to `perInput` evenly spaced GEMM input rows of each listed layer per input, from float runs. */
export async function sampleLayerRows(float: Model, inputs: readonly Feeds[], nodes: ReadonlySet<GraphNode>, perInput = 4): Promise<Map<GraphNode, LayerRows>> {
  const rows = new Map<GraphNode, LayerRows>();
  for (const f of inputs) {
    await float.run(f, {
      beforeStep: (step, ins) => {
        const spec = step.node && nodes.has(step.node) ? float.layerSpecs.get(step.node) : undefined;
        if (!spec || !ins[0] || !step.ins[0]) return;
        const list = rows.get(step.node!) ?? [];
        rows.set(step.node!, list);
        list.push(...gemmRows(spec, step.ins[0], ins[0], perInput));
      },
    });
  }
  return rows;
}

function gemmRows(spec: LayerSpec, v: PlanValue, x: Float32Array, count: number): LayerRows {
  if (spec.type === 'linear') {
    const m = Math.floor(x.length / spec.k);
    return spaced(m, count).map((r) => x.slice(r * spec.k, (r + 1) * spec.k));
  }
  const g = spec.geometry;
  const [b, c, h, w] = v.dims;
  const oh = Math.floor((h + g.pt + g.pb - g.dh * (g.kh - 1) - 1) / g.sh) + 1;
  const ow = Math.floor((w + g.pl + g.pr - g.dw * (g.kw - 1) - 1) / g.sw) + 1;
  const at = v.nhwc ? (n: number, ci: number, y: number, xx: number) => ((n * h + y) * w + xx) * c + ci : (n: number, ci: number, y: number, xx: number) => ((n * c + ci) * h + y) * w + xx;
  return spaced(b * oh * ow, count).map((p) => {
    const n = Math.floor(p / (oh * ow)), oy = Math.floor(p / ow) % oh, ox = p % ow;
    const row = new Float32Array(g.kh * g.kw * g.cin);
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        const iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        const t = ky * g.kw + kx;
        for (let ci = 0; ci < g.cin; ci++) row[t * g.cin + ci] = x[at(n, ci, iy, ix)];
      }
    }
    return row;
  });
}

/** `count` indices spread evenly over 0..total-1 (fewer when total is smaller). */
function spaced(total: number, count: number): number[] {
  const k = Math.min(total, count);
  return Array.from({ length: k }, (_, i) => Math.floor(((i + 0.5) * total) / k));
}

/**
 * The layer's output SQNR (dB) with weights `wq` instead of `w` (rows [N][K]) on the sampled input
 * rows, plus a static input rounding of step `inputStep` when given.
 */
export function proxySqnrDb(w: Float32Array, wq: Float32Array, n: number, k: number, rows: LayerRows, inputStep?: number): number {
  let signal = 0, noise = 0, wSq = 0;
  for (let i = 0; i < w.length; i++) wSq += w[i] * w[i];
  for (const x of rows) {
    for (let o = 0; o < n; o++) {
      let y = 0, dy = 0;
      for (let t = 0, base = o * k; t < k; t++) {
        y += w[base + t] * x[t];
        dy += (wq[base + t] - w[base + t]) * x[t];
      }
      signal += y * y;
      noise += dy * dy;
    }
  }
  if (inputStep !== undefined) noise += (rows.length * wSq * inputStep * inputStep) / 12;
  if (noise === 0) return Infinity;
  return signal === 0 ? -Infinity : 10 * Math.log10(signal / noise);
}
