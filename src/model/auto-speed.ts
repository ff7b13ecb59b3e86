// 'auto''s speed budget: the mix's step time, summed over the searched layers, may exceed all-int8's
// by at most autoBudget.maxSlowdown (default 5%); a format whose extra time at one layer alone is over
// that allowance is not that layer's candidate, and a chosen mix over it gives back its changes
// (mix-speed.ts). On PP-OCRv4 the search without a speed budget returned a mix 18% smaller than
// int8 but at 0.93x float32's speed against int8's 1.26x: its fpx layers ran the FP8 kernel and 15
// layers stayed float32.
// Where the times come from (QuantizeOptions.speed):
// - 'shape' (the default): the cost table by GEMM shape (format-cost.ts), so the choice is the same
//   on every machine and under any load;
// - 'measured': each layer's step timed here inside whole runs (its real input, cache state and
//   neighbours): the model is built with every layer that has a candidate in one format, then the
//   next format, passes interleaved so drift on a shared machine hits them alike, the least time
//   kept (other processes only ever add time). A test passes its own timer (autoStepTimer).

import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { Model } from './model.js';
import type { RangeStats } from './calibrate.js';
import { gemmShape } from './int8-shape-rule.js';
import { stepCostMs } from './format-cost.js';

/** One run's step time (ms) of every weight layer of `model` on `feeds`, by node. */
export type StepTimer = (model: Model, feeds: Feeds) => Promise<Map<GraphNode, number>>;

/** The default: Model.run's own step timings. */
export const stepTimes: StepTimer = async (model, feeds) => {
  const timings: { step: { layer: unknown; node: GraphNode | null }; ms: number }[] = [];
  await model.run(feeds, { timings: timings as never });
  const out = new Map<GraphNode, number>();
  for (const t of timings) if (t.step.layer && t.step.node) out.set(t.step.node, (out.get(t.step.node) ?? 0) + t.ms);
  return out;
};

/** The default slowdown a dB budget allows against all-int8, over the searched layers. */
export const DEFAULT_MAX_SLOWDOWN = 0.05;

/**
 * Each format's least step time per layer: 'int8' for every layer in `layers`, and each format of
 * `formats` for the layers listed with it. `set(node, scheme)` makes the model build that layer in
 * that scheme (int8: the baseline); every layer is int8 again on return. One warm-up run after each
 * switch (layers are built on the first run), then `runs` timed runs, over `passes` passes.
 */
export async function formatLatencies(
  model: Model, layers: readonly GraphNode[], formats: ReadonlyMap<string, readonly GraphNode[]>,
  set: (node: GraphNode, scheme: string) => void, feeds: Feeds, timer: StepTimer = stepTimes, passes = 3, runs = 2,
): Promise<Map<string, Map<GraphNode, number>>> {
  const configs: [string, readonly GraphNode[]][] = [['int8', layers], ...[...formats].filter(([s, n]) => s !== 'int8' && n.length > 0)];
  const out = new Map<string, Map<GraphNode, number>>(configs.map(([s]) => [s, new Map()]));
  for (let p = 0; p < passes; p++) {
    for (const [scheme, nodes] of configs) {
      for (const node of layers) set(node, 'int8');
      for (const node of nodes) set(node, scheme);
      await model.rebuild(layers);
      await timer(model, feeds); // builds the layers
      for (let r = 0; r < runs; r++) {
        const t = await timer(model, feeds);
        const least = out.get(scheme)!;
        for (const node of nodes) {
          const ms = t.get(node);
          if (ms !== undefined) least.set(node, Math.min(least.get(node) ?? Infinity, ms));
        }
      }
    }
  }
  for (const node of layers) set(node, 'int8');
  await model.rebuild(layers);
  return out;
}

/**
 * The cost table's step times (format-cost.ts), in formatLatencies' shape: 'int8' for every layer,
 * each format of `formats` (and float32) for its layers, at the GEMM shape of the layer's
 * calibrated input dims. A layer or format the table cannot cost is left out (never too slow).
 */
export function shapeLatencies(
  model: Model, layers: readonly GraphNode[], formats: ReadonlyMap<string, readonly GraphNode[]>, stats: ReadonlyMap<GraphNode, RangeStats>,
): Map<string, Map<GraphNode, number>> {
  const configs: [string, readonly GraphNode[]][] = [['int8', layers], ...[...formats].filter(([s]) => s !== 'int8')];
  const out = new Map<string, Map<GraphNode, number>>(configs.map(([s]) => [s, new Map()]));
  for (const [scheme, nodes] of configs) {
    for (const node of nodes) {
      const spec = model.layerSpecs.get(node), dims = stats.get(node)?.dims;
      const shape = spec && dims ? gemmShape(spec, dims) : null;
      const ms = shape ? stepCostMs(scheme, ...shape) : undefined;
      if (ms !== undefined) out.get(scheme)!.set(node, ms);
    }
  }
  return out;
}

/**
 * Whether a layer's format adds more time over int8's there than the whole model's allowance
 * (`allowanceMs`: maxSlowdown times all-int8's summed time), so it can never be part of a mix
 * within the budget. An unmeasured (uncosted) layer is never too slow.
 */
export function tooSlow(ms: number | undefined, int8Ms: number | undefined, allowanceMs: number): boolean {
  return ms !== undefined && int8Ms !== undefined && ms - int8Ms > allowanceMs;
}
