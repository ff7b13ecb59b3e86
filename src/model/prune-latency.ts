// int8-sparse's latency budget (issue 16, CPrune): `sparsity: { latency: 0.7 }` prunes each layer as
// far as it must for the prunable layers together to run in at most 0.7 × their dense int8 time, at
// the least output error. For every prunable layer (the ones int8-sparse covers: linear layers and
// group-1 convolutions that calibration reached):
//   - the latency table: its dense int8 GEMM and the int8-sparse GEMM of every candidate (pattern,
//     target), built from the format table on this engine with the layer's bias and activation
//     (what differs between formats; a convolution's im2col is the same for both and not timed),
//     timed on the layer's real shape (K, N and
//     M = its input rows per calibration input), interleaved, least times; the timer can be injected
//     (tests give a table, so the search is deterministic);
//   - the accuracy cost: each candidate pruned by OBC (or magnitude) from the layer input's Hessian
//     H = XᵀX / rows over the calibration inputs through the FLOAT model (layer-hessians.ts), as the
//     relative output error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ); dense int8's the same way.
// Then src/quant/latency-search.ts chooses per layer, and the candidates' weights are the layers'.
// The Hessians are the float model's, not GPTQ's sequential pass's (that pass would prune each
// layer again after the choice, doubling the OBC time; the chosen weights are the ones measured).

import { ArgumentError } from '../errors.js';
import type { LayerWeights } from '../formats/format.js';
import type { GemmImpl } from '../layers/gemm.js';
import { rowQuadForms } from '../quant/hessian.js';
import { latencySearch } from '../quant/latency-search.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Feeds } from './calibrate.js';
import { nodeLabel, type GraphNode } from './graph.js';
import { layerHessians } from './layer-hessians.js';
import type { LayerSpec, Model } from './model.js';

/** One candidate of a layer, as the timer sees it: its label and its GEMM (packed in linear memory). */
export interface TimedCandidate {
  label: string;
  gemm: GemmImpl;
}

/**
 * Times a layer's candidates (the first is dense int8): µs per call of each, in order. The default
 * runs them (latencyTimer); a test passes a table.
 */
export type LayerTimer = (layer: { label: string; m: number; k: number; n: number }, candidates: readonly TimedCandidate[]) => Promise<number[]> | number[];

/** A candidate: int8-sparse's sparsity options for one layer, or dense int8 (null). */
export interface PruneCandidate {
  label: string;
  sparsity: { pattern: string; target: number; method?: string } | null;
}

/** One layer of the plan, for reports. */
export interface PruneLayerReport {
  node: GraphNode;
  label: string;
  k: number;
  n: number;
  /** input rows per call the timing used */
  m: number;
  /** the candidate chosen ('dense' for int8) */
  chosen: string;
  denseUs: number;
  us: number;
  /** relative output error of dense int8 and of the choice: tr(ΔW H ΔWᵀ) / tr(W H Wᵀ) */
  denseError: number;
  error: number;
  /** every candidate measured: label, µs, relative error */
  candidates: { label: string; us: number; error: number }[];
}

export interface PrunePlan {
  budget: number;
  layers: PruneLayerReport[];
  /** the prunable layers' total µs: all dense, and chosen */
  denseUs: number;
  us: number;
  /** the layer indices in the order the search pruned them */
  steps: number[];
  /** the chosen weights per node */
  weights: Map<GraphNode, LayerWeights>;
  /**
   * every candidate's weights per node, in the candidates' order: with the table, what another
   * budget needs (quantizeModel's `latencyTable`: search again without measuring or pruning again)
   */
  candidateWeights: Map<GraphNode, LayerWeights[]>;
}

/** The plan for another budget from a plan's table and candidates (same model, calibration and candidates). */
export function replan(table: PrunePlan, budget: number): PrunePlan {
  const plan = latencySearch(table.layers.map((l) => ({ name: l.label, candidates: l.candidates })), budget);
  const layers = table.layers.map((l, i) => ({ ...l, chosen: l.candidates[plan.choice[i]].label, us: l.candidates[plan.choice[i]].us, error: l.candidates[plan.choice[i]].error }));
  const weights = new Map(layers.map((l, i) => [l.node, table.candidateWeights.get(l.node)![plan.choice[i]]]));
  return { budget, layers, denseUs: plan.denseUs, us: plan.us, steps: plan.steps, weights, candidateWeights: table.candidateWeights };
}

/**
 * The default timer: every candidate's GEMM on the same input rows, after a warm-up call each, in
 * interleaved rounds (a load change hits all candidates alike) until each has at least `minRuns`
 * calls and `minMs` in all; the least µs of each. The least, not the median, as speed-check.ts:
 * other processes only ever add time, and on 2 shared cores at load 13 the medians of one dense
 * layer read 1.0 to 13 ms between neighbours of the same cost, which the search took for speed-ups.
 */
export function latencyTimer(rt: Runtime, minRuns = 15, minMs = 30, maxRuns = 300): LayerTimer {
  return async ({ m, k, n }, candidates) => {
    const x = new Float32Array(m * k);
    let seed = 12345;
    for (let i = 0; i < x.length; i++) x[i] = ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const scratch = Math.max(...candidates.map((c) => c.gemm.scratchBytes?.(m) ?? 0)) + 64;
    const px = rt.put(x, 16), py = rt.alloc(m * n * 4 + 16), ps = rt.alloc(scratch);
    try {
      const times = candidates.map(() => [] as number[]);
      for (const c of candidates) await c.gemm.run(m, px, py, ps);
      for (let r = 0; r < maxRuns; r++) {
        for (const [i, c] of candidates.entries()) {
          const t0 = performance.now();
          await c.gemm.run(m, px, py, ps);
          times[i].push(performance.now() - t0);
        }
        if (r + 1 >= minRuns && times.every((t) => t.reduce((s, v) => s + v, 0) >= minMs)) break;
      }
      // µs, never 0 (a timer's resolution): the search divides by time saved
      return times.map((t) => Math.max(Math.min(...t) * 1000, 1e-3));
    } finally {
      rt.free(px);
      rt.free(py);
      rt.free(ps);
    }
  };
}

export interface PruneByLatencyArgs {
  float: Model;
  calibration: Feeds[];
  budget: number;
  candidates: readonly PruneCandidate[];
  /** the layers to plan (calibrated, int8-sparse applies) */
  want: (node: GraphNode, spec: LayerSpec) => boolean;
  /** a node's weights in one candidate (null: dense int8), from its Hessian */
  quantize: (node: GraphNode, candidate: PruneCandidate, hessian: Float64Array) => LayerWeights | null;
  /** the weights as float32 rows [N][K], as the GEMM sees them (the format's dequantize) */
  weightsOf: (node: GraphNode) => { wnk: Float32Array; n: number; k: number };
  timer?: LayerTimer;
  onProgress?: (done: number, total: number, phase: string) => void;
}

/** The latency table of every prunable layer, the search, and the chosen weights (see the header). */
export async function pruneByLatency(a: PruneByLatencyArgs): Promise<PrunePlan> {
  if (a.candidates.length === 0 || a.candidates[0].sparsity !== null) throw new ArgumentError('candidates: expected dense int8 first, then the pruned ones');
  const rt = a.float.rt;
  const rows = new Map<GraphNode, number>();
  const hessians = await layerHessians(a.float, a.calibration, (node) => a.want(node, a.float.layerSpecs.get(node)!), (d, t) => a.onProgress?.(d, t, 'layer Hessians'), rows);
  const timer = a.timer ?? latencyTimer(rt);
  // fewer input rows than K: H is singular and OBC fits the calibration rows (PP-OCRv4's squeeze-excite
  // 1x1 convolutions, one row per line: their block4x4 25% read 60 dB there, above dense int8's 52),
  // which the search, judging on the same rows, would believe; they stay dense (quantizeModel builds
  // them int8). As 'auto''s candidates (quantize.ts, autoHessians).
  const nodes = [...hessians.keys()].filter((node) => rows.get(node)! >= a.weightsOf(node).k);
  const reports: PruneLayerReport[] = [];
  const weights: LayerWeights[][] = [];
  for (const [li, node] of nodes.entries()) {
    const h = hessians.get(node)!;
    hessians.delete(node); // K² doubles: one at a time
    const { wnk, n, k } = a.weightsOf(node);
    const signal = rowQuadForms(h, k, wnk, null, n).reduce((s, v) => s + v, 0) || 1;
    const ws = a.candidates.map((c) => a.quantize(node, c, h));
    if (ws.some((w) => w === null)) throw new ArgumentError(`sparsity.latency: layer ${nodeLabel(node)} has no int8 weights in every candidate`);
    const lw = ws as LayerWeights[];
    const errors = lw.map((w) => rowQuadForms(h, k, wnk, w.format.dequantize(w.data), n).reduce((s, v) => s + v, 0) / signal);
    // with the layer's bias and activation: SpMM applies an activation in a pass of its own, int8 in its epilogue
    const spec = a.float.layerSpecs.get(node)!;
    const gemms = lw.map((w) => w.format.gemm(rt, w.data, spec.bias ?? null, spec.activation ?? null));
    const m = Math.max(1, Math.round(rows.get(node)! / a.calibration.length));
    const label = nodeLabel(node);
    let us: number[];
    try {
      us = await timer({ label, m, k, n }, gemms.map((gemm, i) => ({ label: a.candidates[i].label, gemm })));
    } finally {
      for (const g of gemms) g.dispose();
    }
    if (us.length !== gemms.length) throw new ArgumentError(`timer: expected ${gemms.length} times for layer ${label}, got ${us.length}`);
    const candidates = a.candidates.map((c, i) => ({ label: c.label, us: us[i], error: errors[i] }));
    weights.push(lw);
    reports.push({ node, label, k, n, m, chosen: 'dense', denseUs: us[0], us: us[0], denseError: errors[0], error: errors[0], candidates });
    a.onProgress?.(li + 1, nodes.length, 'latency table');
  }
  const candidateWeights = new Map(reports.map((r, i) => [r.node, weights[i]]));
  return replan({ budget: a.budget, layers: reports, denseUs: 0, us: 0, steps: [], weights: new Map(), candidateWeights }, a.budget);
}
