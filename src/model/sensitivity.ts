// How close a model's outputs are to float32's, for any model: output SQNR and cosine always,
// top-1 agreement only where the output is a classifier's, and the user's task metric.

import type { Feeds } from './calibrate.js';
import type { Model, ModelTensor } from './model.js';
import type { OutputMetric, OutputScore } from './quantize-options.js';

/** One record of outputs per input. */
export type Outputs = Record<string, ModelTensor>[];

export async function outputsOf(model: Model, inputs: readonly Feeds[]): Promise<Outputs> {
  const out: Outputs = [];
  for (const f of inputs) out.push(await model.run(f));
  return out;
}

/** Whether top-1 along the last axis means something for this output (see QuantizeOptions.classifier). */
export function isClassifierOutput(t: ModelTensor, classifier: boolean | undefined): boolean {
  const last = t.dims[t.dims.length - 1] ?? 1;
  return classifier !== false && last > 1;
}

/** Output noise and signal energy (sums of squares over every output value). */
export function noiseAndSignal(ref: Outputs, got: Outputs): { noise: number; signal: number } {
  let noise = 0, signal = 0;
  ref.forEach((r, i) => {
    for (const [name, t] of Object.entries(r)) {
      const g = got[i][name].data;
      for (let j = 0; j < t.data.length; j++) {
        const d = t.data[j] - g[j];
        signal += t.data[j] * t.data[j];
        noise += d * d;
      }
    }
  });
  return { noise, signal };
}

export function sqnrDb(noise: number, signal: number): number {
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

export function scoreOutputs(ref: Outputs, got: Outputs, classifier: boolean | undefined, metric?: OutputMetric): OutputScore {
  const { noise, signal } = noiseAndSignal(ref, got);
  // cosine per output over every input's values (one value per input still makes a vector)
  const names = ref.length ? Object.keys(ref[0]) : [];
  let cos = 0, same = 0, rows = 0;
  for (const name of names) {
    cos += cosine(ref.map((r) => r[name].data), got.map((g) => g[name].data));
    for (const [i, r] of ref.entries()) {
      const t = r[name];
      if (!isClassifierOutput(t, classifier)) continue;
      const g = got[i][name].data, n = t.dims[t.dims.length - 1];
      for (let o = 0; o + n <= t.data.length; o += n) {
        if (argmax(t.data, o, n) === argmax(g, o, n)) same++;
        rows++;
      }
    }
  }
  const score: OutputScore = { sqnrDb: sqnrDb(noise, signal), cosine: names.length ? cos / names.length : 1 };
  if (rows > 0) score.top1 = same / rows;
  if (metric) score.metric = metric.score(ref, got);
  return score;
}

function cosine(a: Float32Array[], b: Float32Array[]): number {
  let ab = 0, aa = 0, bb = 0;
  a.forEach((x, k) => {
    const y = b[k];
    for (let i = 0; i < x.length; i++) {
      ab += x[i] * y[i];
      aa += x[i] * x[i];
      bb += y[i] * y[i];
    }
  });
  // two zero vectors agree; one zero vector against another does not
  return aa === 0 && bb === 0 ? 1 : aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

function argmax(x: Float32Array, o: number, n: number): number {
  let a = o;
  for (let j = o + 1; j < o + n; j++) if (x[j] > x[a]) a = j;
  return a;
}
