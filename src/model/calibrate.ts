// Calibration: run the float model on user inputs and record what each weight layer's input
// looked like (its extremes and a bounded sample for percentiles), keyed by graph node.

import type { GraphNode } from './graph.js';
import type { Model, ModelInputs } from './model.js';

/** The inputs of one run (Model.run's feeds). */
export type Feeds = ModelInputs;

/** Running statistics of one tensor over calibration: extremes and a bounded sample for percentiles. */
export class RangeStats {
  min = Infinity;
  max = -Infinity;
  private samples: Float32Array[] = [];

  add(x: Float32Array): void {
    let lo = this.min, hi = this.max;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
    // keep a bounded sample for percentiles (every k-th value)
    const step = Math.max(1, Math.floor(x.length / 4096));
    const s = new Float32Array(Math.ceil(x.length / step));
    for (let i = 0, j = 0; i < x.length; i += step) s[j++] = x[i];
    this.samples.push(s);
  }

  /** [min, max] narrowed to the given percentile of each side */
  percentile(p: number): [number, number] {
    const all = Float32Array.from(this.samples.flatMap((s) => Array.from(s))).sort();
    if (all.length === 0) return [0, 0];
    const at = (q: number) => all[Math.min(all.length - 1, Math.max(0, Math.round((q / 100) * (all.length - 1))))];
    return [Math.max(this.min, at(100 - p)), Math.min(this.max, at(p))];
  }
}

/** Each weight layer's input statistics over the calibration inputs. */
export async function calibrate(model: Model, calibration: Feeds[], onProgress?: (done: number, total: number) => void): Promise<Map<GraphNode, RangeStats>> {
  const stats = new Map<GraphNode, RangeStats>();
  for (const [i, feeds] of calibration.entries()) {
    await model.run(feeds, {
      beforeStep: (step, ins) => {
        if (!step.layer || !step.node || !ins[0]) return;
        let s = stats.get(step.node);
        if (!s) stats.set(step.node, (s = new RangeStats()));
        s.add(ins[0]);
      },
    });
    onProgress?.(i + 1, calibration.length);
  }
  return stats;
}

