// The final gate on an 'auto' mix: is it worse than all-int8 where the search did not look?
//
// The search's own checks (mix-search.ts) compare pooled output SQNR on 16 inputs. On PP-OCRv4 a
// mix passed them and then read 1.5 points fewer test lines than int8: a few frames flipping in a
// few lines barely move a pooled SQNR. This gate scores per input and per output frame on every
// held-back calibration input (not the others: the candidates' weights were fitted on them), and
// requires the mix to be no worse than int8:
//   - inputs whose every output frame has float32's top-1 (a line read as float32 reads it): at
//     least int8's count (tolerance 0 inputs);
//   - output frames with float32's top-1: at least int8's count less GATE_FRAME_TOLERANCE of them;
//   - the user's metric, when given: at least int8's less its allowance.
//   - where the mix reads as many inputs as int8 (whole-input counts tie, as they mostly do on a few
//     dozen lines), finer signals decide:
//     - the CTC logit margin: per frame, how far float32's top-1 stands above the best other class
//       in the judged output (logits), as a loss log(1 + e^-margin) summed over frames; no more
//       than int8's (GATE_MARGIN_TOLERANCE). It grows as frames near a flip, before any flips;
//     - where a final softmax makes the output (the search judges its logits): the output's own SQNR
//       no lower than int8's (GATE_SOFTMAX_DB). A probability's error is large only at frames near a
//       tie, the frames that flip a reading; on PP-OCRv4 a mix read 3 of 196 test lines fewer than
//       int8 with its test softmax SQNR 2.3 dB under int8's, while its logit SQNR matched int8's.
//     A mix that reads more inputs than int8 is not held to them.
// A user who loosens top-1 (top1Allowance: frames' share it may lose; top1Budget: the share to keep)
// gets that instead of the two top-1 rules: a dB budget alone does not loosen them.
// Outputs with no top-1 (not a classifier's) are gated by pooled SQNR within the dB budget instead.
// With a dB budget B, every model is also held to a paired per-input rule (pairedGate): per held-back
// input, d = the mix's SQNR minus int8's; the one-sided 95% lower bound of d's mean (Student t) must
// be at least -B, and d >= -B on more than half the inputs. A pooled figure is decided by its loudest
// inputs: on the wake-word embedding a mix pooled 0.1 dB over all-int8 on 21 held-back inputs while
// 11 of them lost (mean -1.3 dB). Where the held-back inputs cannot resolve the budget (unresolved:
// the bound's half-width over the budget, or under GATE_MIN_INPUTS inputs) the gate does not judge:
// auto stays int8 and says so (the detector's 12 pages give 4 held back: ±2.6 dB for 1 dB).

import type { Measured } from './sensitivity.js';
import { isClassifierOutput, noiseAndSignal, sqnrDb } from './sensitivity.js';
import { outputValues } from './outputs.js';
import type { GateScore, OutputMetric, PairedGate } from './quantize-options.js';

/** Share of frames the mix may lose against int8 (0.1%: one frame in a thousand, noise in a decoder's blank frames). */
export const GATE_FRAME_TOLERANCE = 0.001;
/** dB the softmax output's SQNR may be under int8's: none (the rule the 17 held-back PP-OCRv4 lines can still resolve). */
export const GATE_SOFTMAX_DB = 0;
/** Share by which the mix's margin loss may exceed int8's where whole-input counts tie: none. */
export const GATE_MARGIN_TOLERANCE = 0;

/** Fewer held-back inputs than this give no spread to judge by: the mix is refused, auto stays int8. */
export const GATE_MIN_INPUTS = 3;
/** one-sided 95% Student t quantiles, 1 to 30 degrees of freedom */
const T95 = [6.314, 2.92, 2.353, 2.132, 2.015, 1.943, 1.895, 1.86, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.74, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697];
/** per-input SQNR is capped here (a noiseless input would make d infinite) */
const INPUT_DB_CAP = 150;

/**
 * Why the held-back inputs cannot resolve the dB budget for this mix, or undefined when they can: fewer than
 * GATE_MIN_INPUTS, or the 95% bound's half-width on the per-input difference wider than the budget (it could
 * not tell a mix as good as int8 from one the budget's width under it). The detector's 4 held-back pages:
 * ±2.6 dB for a 1 dB budget.
 */
export function unresolved(mixDb: readonly number[], int8Db: readonly number[], maxSqnrDropDb: number | undefined): string | undefined {
  if (maxSqnrDropDb === undefined) return undefined;
  const n = mixDb.length;
  const more = 'give more calibration inputs or a larger holdOut';
  if (n < GATE_MIN_INPUTS) return `${n} held-back inputs are too few to judge a mix (the gate needs ${GATE_MIN_INPUTS}): ${more}`;
  const v = pairedGate(mixDb, int8Db, maxSqnrDropDb), half = v.meanDb - v.lowerDb;
  if (half > maxSqnrDropDb) return `${n} held-back inputs resolve the mix's per-input SQNR difference from int8 to ±${half.toFixed(2)} dB (95%; spread ${v.sdDb.toFixed(2)} dB), wider than the ${maxSqnrDropDb} dB budget: too few to judge it; ${more}`;
  return undefined;
}

/** The paired rule (see the header) on per-input SQNRs of the mix and int8 over the same inputs. */
export function pairedGate(mixDb: readonly number[], int8Db: readonly number[], maxSqnrDropDb: number): PairedGate {
  const n = mixDb.length;
  const d = mixDb.map((m, i) => m - int8Db[i]);
  const meanDb = d.reduce((a, b) => a + b, 0) / n;
  const sdDb = n > 1 ? Math.sqrt(d.reduce((a, x) => a + (x - meanDb) ** 2, 0) / (n - 1)) : Infinity;
  const t = n - 1 <= T95.length ? T95[Math.max(n - 2, 0)] : 1.645 + 1.56 / (n - 1);
  const lowerDb = meanDb - (t * sdDb) / Math.sqrt(n);
  const within = d.filter((x) => x >= -maxSqnrDropDb).length;
  const v: PairedGate = { inputs: n, meanDb, sdDb, lowerDb, within };
  if (!(lowerDb >= -maxSqnrDropDb)) v.miss = `per input, the mix's SQNR minus int8's: mean ${meanDb.toFixed(2)} dB, sd ${sdDb.toFixed(2)}, 95% lower bound ${lowerDb.toFixed(2)} dB under the -${maxSqnrDropDb} dB budget (${n} inputs)`;
  else if (2 * within <= n) v.miss = `within the ${maxSqnrDropDb} dB budget of int8 on ${within} of ${n} inputs only (mean ${meanDb.toFixed(2)} dB)`;
  return v;
}

/** Per input: frames (rows along the last axis of classifier outputs) with float32's top-1, and whether all of them have it. */
export function gateScore(ref: Measured, got: Measured, classifier: boolean | undefined, metric?: OutputMetric): GateScore {
  let frames = 0, total = 0, inputs = 0, marginLoss = 0;
  ref.judged.forEach((r, i) => {
    let all = true;
    for (const [name, t] of Object.entries(r)) {
      if (!isClassifierOutput(t, classifier, ref.softmaxMade?.has(name) ?? false)) continue;
      const x = outputValues(t), g = outputValues(got.judged[i][name]), n = t.dims[t.dims.length - 1];
      for (let o = 0; o + n <= x.length; o += n) {
        const top = argmax(x, o, n);
        const same = top === argmax(g, o, n);
        marginLoss += softplus(-margin(g, o, n, top));
        frames += same ? 1 : 0;
        all &&= same;
        total++;
      }
    }
    inputs += all ? 1 : 0;
  });
  const { noise, signal } = noiseAndSignal(ref.judged, got.judged);
  const inputDb = ref.judged.map((r, i) => {
    const o = noiseAndSignal([r], [got.judged[i]]);
    return Math.max(-INPUT_DB_CAP, Math.min(INPUT_DB_CAP, sqnrDb(o.noise, o.signal)));
  });
  const s: GateScore = { inputs, frames, totalFrames: total, sqnrDb: sqnrDb(noise, signal), inputDb, ...(total > 0 && { marginLoss }) };
  if (ref.judged.some((r, i) => r !== ref.outputs[i])) {
    const o = noiseAndSignal(ref.outputs, got.outputs);
    s.outputSqnrDb = sqnrDb(o.noise, o.signal);
  }
  if (metric) s.metric = metric.score(ref.outputs, got.outputs);
  return s;
}

/** Whether the mix's gate score is no worse than int8's (see the header); a reason in words when it is. */
export function gateMiss(mix: GateScore, int8: GateScore, maxSqnrDropDb: number | undefined, metric?: OutputMetric, top1?: { allowance?: number; budget?: number }): string | undefined {
  if (int8.totalFrames > 0 && (top1?.budget !== undefined || top1?.allowance !== undefined)) {
    const keep = top1.budget ?? int8.frames / int8.totalFrames - top1.allowance!;
    if (mix.frames / mix.totalFrames < keep) return `top-1 as float32's on ${(100 * mix.frames / mix.totalFrames).toFixed(2)}% of frames, the user's top-1 budget ${(100 * keep).toFixed(2)}%`;
  } else if (int8.totalFrames > 0) {
    if (mix.inputs < int8.inputs) return `${mix.inputs} inputs with every frame's top-1 as float32's, int8 ${int8.inputs}`;
    const tol = Math.floor(GATE_FRAME_TOLERANCE * int8.totalFrames);
    if (mix.frames < int8.frames - tol) return `${mix.frames} of ${int8.totalFrames} frames with float32's top-1, int8 ${int8.frames} (tolerance ${tol})`;
    const tie = mix.inputs === int8.inputs;
    if (tie && int8.marginLoss !== undefined && (mix.marginLoss ?? Infinity) > int8.marginLoss * (1 + GATE_MARGIN_TOLERANCE)) return `${mix.inputs} inputs as int8's, and a larger logit margin loss: ${mix.marginLoss!.toFixed(2)}, int8 ${int8.marginLoss.toFixed(2)} (frames nearer a flip)`;
    if (tie && int8.outputSqnrDb !== undefined && (mix.outputSqnrDb ?? -Infinity) < int8.outputSqnrDb - GATE_SOFTMAX_DB) return `softmax output SQNR ${mix.outputSqnrDb!.toFixed(2)} dB, int8 ${int8.outputSqnrDb.toFixed(2)} (tolerance ${GATE_SOFTMAX_DB} dB)`;
  } else if (maxSqnrDropDb !== undefined && mix.sqnrDb < int8.sqnrDb - maxSqnrDropDb) {
    return `output SQNR ${mix.sqnrDb.toFixed(2)} dB, int8 ${int8.sqnrDb.toFixed(2)} (budget ${maxSqnrDropDb} dB)`;
  }
  if (maxSqnrDropDb !== undefined && mix.inputDb && int8.inputDb?.length === mix.inputDb.length && mix.inputDb.length > 0) {
    const miss = pairedGate(mix.inputDb, int8.inputDb, maxSqnrDropDb).miss;
    if (miss) return miss;
  }
  if (int8.metric !== undefined && (mix.metric ?? -Infinity) < int8.metric - (metric?.allowance ?? 0)) return `${metric?.name ?? 'metric'} ${mix.metric}, int8 ${int8.metric}`;
  return undefined;
}

/**
 * The layers to give back to int8, in order: the changes that add noise, largest single-layer
 * effect first (float32 changes remove noise and stay). Batches of 1, 1, 2, 4, ... changes, so a
 * long list costs few checks.
 */
export function giveBackBatches(added: readonly { index: number; noise: number }[]): number[][] {
  const order = added.filter((a) => a.noise > 0).sort((a, b) => b.noise - a.noise).map((a) => a.index);
  const batches: number[][] = [];
  for (let at = 0, size = 1; at < order.length; at += size, size = batches.length < 2 ? 1 : size * 2) batches.push(order.slice(at, at + size));
  return batches;
}

/** float32's top-1 class's lead over the best other class in x's frame at o (Infinity with one class) */
function margin(x: ArrayLike<number>, o: number, n: number, top: number): number {
  let other = -Infinity;
  for (let j = o; j < o + n; j++) if (j !== top && x[j] > other) other = x[j];
  return x[top] - other;
}

/** log(1 + e^v) without overflow */
function softplus(v: number): number {
  return v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
}

function argmax(x: ArrayLike<number>, o: number, n: number): number {
  let a = o;
  for (let j = o + 1; j < o + n; j++) if (x[j] > x[a]) a = j;
  return a;
}
