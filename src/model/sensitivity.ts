// How close a model's outputs are to float32's, for any model: output SQNR and cosine always,
// top-1 agreement only where the output is a classifier's, and the user's task metric.
// An output a final Softmax or LogSoftmax makes is judged on that node's input, the logits: a
// probability saturates (a confident frame's noise vanishes, a frame near a tie decides the SQNR),
// so a softmax output's SQNR moves by dB when one layer changes; the logits' noise adds up. Top-1 is
// the same on both; the user's metric always gets the real outputs.

import type { Feeds } from './calibrate.js';
import type { Model, ModelTensor } from './model.js';
import type { OutputMetric, OutputScore } from './quantize-options.js';
import { outputValues } from './outputs.js';

/** One record of outputs per input. */
export type Outputs = Record<string, ModelTensor>[];

/** A model's outputs on some inputs, and what they are judged on (`judged`: logits in place of a final softmax's output). */
export interface Measured {
  outputs: Outputs;
  judged: Outputs;
  /** outputs a final Softmax/LogSoftmax makes: by default the only ones top-1 is taken of */
  softmaxMade?: ReadonlySet<string>;
}

/** The ops whose input (the logits) is judged in place of their output, when they make a model output. */
const SOFTMAX_OPS = new Set(['Softmax', 'LogSoftmax']);

/** What each model output is judged on, in words ('logits' only where a final softmax makes it). */
export function judgedOn(model: Model, logits: boolean): Record<string, string> {
  const made = new Map(model.graph.nodes.map((n) => n.outputs.map((o) => [o, n] as const)).flat());
  return Object.fromEntries(model.graph.outputs.map((o) => {
    const n = made.get(o);
    return [o, logits && n && SOFTMAX_OPS.has(n.op) ? `logits (the input of ${n.op} '${n.name || o}')` : 'output'];
  }));
}

/** The model's outputs on each input; with `logits`, a final Softmax/LogSoftmax's input is judged in place of its output. */
export async function outputsOf(model: Model, inputs: readonly Feeds[], logits = false): Promise<Measured> {
  const outputs: Outputs = [], judged: Outputs = [];
  const names = new Set(model.graph.outputs);
  for (const f of inputs) {
    const before: Record<string, ModelTensor> = {};
    const out = await model.run(f, logits ? {
      beforeStep: (step, ins) => {
        const o = step.outs[0]?.name;
        if (SOFTMAX_OPS.has(step.op) && o !== undefined && names.has(o) && ins[0]) before[o] = { type: 'float32', dims: step.ins[0]!.dims, data: ins[0].slice() };
      },
    } : {});
    outputs.push(out);
    judged.push(Object.keys(before).length ? { ...out, ...before } : out);
  }
  const made = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n.op] as const)));
  return { outputs, judged, softmaxMade: new Set([...names].filter((o) => SOFTMAX_OPS.has(made.get(o) ?? ''))) };
}

/**
 * Whether top-1 along the last axis means something for this output (see QuantizeOptions.classifier):
 * by default only where a final Softmax/LogSoftmax makes it. A detector's map or an embedding has a
 * last axis > 1 too, and its "top-1 along the width" let a mix 4 dB under int8's SQNR through.
 */
export function isClassifierOutput(t: ModelTensor, classifier: boolean | undefined, softmaxMade: boolean): boolean {
  const last = t.dims[t.dims.length - 1] ?? 1;
  return classifier !== false && last > 1 && (classifier === true || softmaxMade);
}

/** Output noise and signal energy (sums of squares over every output value). */
export function noiseAndSignal(ref: Outputs, got: Outputs): { noise: number; signal: number } {
  let noise = 0, signal = 0;
  ref.forEach((r, i) => {
    for (const [name, t] of Object.entries(r)) {
      const x = outputValues(t), g = outputValues(got[i][name]);
      for (let j = 0; j < x.length; j++) {
        const d = x[j] - g[j];
        signal += x[j] * x[j];
        noise += d * d;
      }
    }
  });
  return { noise, signal };
}

export function sqnrDb(noise: number, signal: number): number {
  return noise === 0 ? Infinity : 10 * Math.log10(signal / noise);
}

/** SQNR, cosine and top-1 on what is judged (logits where a softmax makes the output); the metric on the real outputs. */
export function scoreOutputs(measuredRef: Measured, measuredGot: Measured, classifier: boolean | undefined, metric?: OutputMetric): OutputScore {
  const [ref, got] = [measuredRef.judged, measuredGot.judged];
  const { noise, signal } = noiseAndSignal(ref, got);
  // cosine per output over every input's values (one value per input still makes a vector)
  const names = ref.length ? Object.keys(ref[0]) : [];
  let cos = 0, same = 0, rows = 0;
  for (const name of names) {
    cos += cosine(ref.map((r) => outputValues(r[name])), got.map((g) => outputValues(g[name])));
    for (const [i, r] of ref.entries()) {
      const t = r[name];
      if (!isClassifierOutput(t, classifier, measuredRef.softmaxMade?.has(name) ?? false)) continue;
      const x = outputValues(t), g = outputValues(got[i][name]), n = t.dims[t.dims.length - 1];
      for (let o = 0; o + n <= x.length; o += n) {
        if (argmax(x, o, n) === argmax(g, o, n)) same++;
        rows++;
      }
    }
  }
  const score: OutputScore = { sqnrDb: sqnrDb(noise, signal), cosine: names.length ? cos / names.length : 1 };
  if (rows > 0) score.top1 = same / rows;
  if (metric) score.metric = metric.score(measuredRef.outputs, measuredGot.outputs);
  return score;
}

function cosine(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
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

function argmax(x: ArrayLike<number>, o: number, n: number): number {
  let a = o;
  for (let j = o + 1; j < o + n; j++) if (x[j] > x[a]) a = j;
  return a;
}
