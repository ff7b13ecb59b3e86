// 'auto''s speed rule: a format is a candidate for a layer only where its step is not slower than
// int8's there by more than the budget's maxSlowdown (default 5%), so the mix is not slower than
// all-int8 (the sum of the per-layer bounds). On PP-OCRv4 the search without it returned a mix 18%
// smaller than int8 but at 0.93x float32's speed against int8's 1.26x: its fpx layers ran the FP8
// kernel and 15 layers stayed float32. Times are measured here, each layer's step inside whole runs
// (its real input, cache state and neighbours): the model is built with every layer that has a
// candidate in one format, then the next format, passes interleaved so drift on a shared machine
// hits them alike, and the least time kept (other processes only ever add time). A test passes its
// own timer: the choice then does not depend on the machine.

import type { GraphNode } from './graph.js';
import type { Feeds } from './calibrate.js';
import type { Model } from './model.js';

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

/** The default slowdown a dB budget allows against int8, per layer (and so overall). */
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

/** Whether a layer's step in a format is slower than int8's there beyond the allowance. */
export function tooSlow(ms: number | undefined, int8Ms: number | undefined, maxSlowdown: number): boolean {
  return ms !== undefined && int8Ms !== undefined && ms > int8Ms * (1 + maxSlowdown);
}
