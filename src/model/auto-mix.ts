// The 'auto' scheme's search: a format per layer, judged by the model's real output.
//
// 1. The calibration inputs are split three ways (calibration-split.ts): the candidates' weights are
//    fitted on one part, the search measures on another, the held-back part checks the final choice
//    (and the mix falls back toward int8 when that check fails the budget).
// 2. The Hessian proxy (hessian-proxy.ts) rates every candidate format of every layer by the
//    layer's own output error on sampled calibration rows; it prunes, per layer, a format when
//    another of about its size (within 10%) or smaller is better by the proxy, so only the best
//    candidate of each size is measured on the model.
// 3. Each remaining (layer, format) is measured on the model with the rest int8: SQNR, cosine,
//    top-1 (classifiers), the user's metric (all recorded), and the noise the change adds: the
//    distance of the output from all-int8's (a format the proxy rates above int8, float32,
//    removes that much instead). Differences of two total SQNRs are too noisy for this: on 16 OCR
//    lines, float32 on one layer moved the output SQNR by -1.6 to +2.8 dB.
// 4. With a dB budget, mix-search.ts chooses: the knapsack (mix-select.ts) on those single-layer
//    effects under a pessimism factor (added noise counted r times, removed noise 1/r times), the
//    mix measured on the search inputs, then on the held-back ones; a miss fits r to the measured
//    noise and chooses again (rounds recorded; all-int8 when none passes: 'int8'). Taking changes
//    back from a ranked list instead (halving, then bisection) kept only the float32 changes, which
//    cost bytes, so at 1 dB on PP-OCRv4 it fell back to all-int8; re-choosing for half the dB
//    budget failed the check at 3 dB. With a size budget only, the knapsack's mix is measured and
//    the held-back part reports it.
// 5. A final gate (mix-gate.ts) on every held-back input, per input and per frame: the mix no worse
//    than int8, else its noise-adding layers go back to int8 (largest first), else all-int8. The
//    pooled checks above passed a PP-OCRv4 mix that read 1.5 points under int8 on the test lines.
//    Per input too: the mix within the budget of int8 with 95% confidence, on most inputs; held-back
//    inputs too few to resolve the budget (95% bound wider than it) are a miss too; all-int8 when
//    nothing passes, mix.gate.misses says why.
// "int8" throughout is the model scheme 'int8' gives: layers its shape rule keeps float32 stay float32
// and are not searched (quantize.ts; autoBaseline 'all-int8' quantizes them all).
// Outputs a final Softmax/LogSoftmax makes are judged on its input, the logits (sensitivity.ts).
// The candidates' weights come from candidate-weights.ts: int4 by GPTQ, ant4/fpx by effect.

import { ArgumentError, describe } from '../errors.js';
import { FORMAT_NAMES, WEIGHT_FORMATS, findFormat } from '../formats/table.js';
import type { GraphNode } from './graph.js';
import type { Feeds, RangeStats } from './calibrate.js';
import type { Model } from './model.js';
import type { AutoBudget, GateScore, LayerChoice, LayerScheme, LayerTrial, MixReport, OutputScore, QuantizeOptions } from './quantize-options.js';
import { judgedOn, noiseAndSignal, outputsOf, scoreOutputs, type Measured } from './sensitivity.js';
import type { CandidateWeights } from './candidate-weights.js';
import { activationQuant } from './activation-calibration.js';
import { proxySqnrDb, sampleLayerRows } from './hessian-proxy.js';
import { predict, selectMix, type MixOption } from './mix-select.js';
import { searchMix, type MixRound } from './mix-search.js';
import { gateMiss, gateScore, giveBackBatches, pairedGate, unresolved, GATE_MIN_INPUTS } from './mix-gate.js';
import { transposeKN, convWeightsNK } from '../layers/conv2d-gemm.js';
import { DEFAULT_MAX_SLOWDOWN, formatLatencies, shapeLatencies, tooSlow } from './auto-speed.js';
import { fitTime, pickMs } from './mix-speed.js';
import { DEFAULT_HOLD_OUT, splitCalibration } from './calibration-split.js';

type MixedModel = Model & { choices?: LayerChoice[]; mix?: MixReport };

/** Checks the 'auto' options; throws an ArgumentError naming the one that is wrong. */
export function checkAutoOptions(o: QuantizeOptions): void {
  const b = o.autoBudget;
  if (b !== undefined) {
    if (typeof b !== 'object' || b === null) throw new ArgumentError(`quantize: autoBudget must be { maxSqnrDropDb?, maxBytes? }, got ${describe(b)}`);
    const unknown = Object.keys(b).filter((k) => k !== 'maxSqnrDropDb' && k !== 'maxBytes' && k !== 'maxSlowdown');
    if (unknown.length) throw new ArgumentError(`quantize: autoBudget has unknown field(s) ${unknown.join(', ')}; it takes maxSqnrDropDb, maxBytes and maxSlowdown`);
    if (b.maxSlowdown !== undefined && b.maxSlowdown !== null && !(typeof b.maxSlowdown === 'number' && b.maxSlowdown >= 0 && Number.isFinite(b.maxSlowdown))) throw new ArgumentError(`quantize: autoBudget.maxSlowdown must be a finite fraction >= 0 (0.05: at most 5% slower than int8 per layer) or null (speed not weighed), got ${describe(b.maxSlowdown)}`);
    if (b.maxSqnrDropDb !== undefined && !(typeof b.maxSqnrDropDb === 'number' && b.maxSqnrDropDb >= 0 && Number.isFinite(b.maxSqnrDropDb))) throw new ArgumentError(`quantize: autoBudget.maxSqnrDropDb must be a finite number of dB >= 0, got ${describe(b.maxSqnrDropDb)}`);
    if (b.maxBytes !== undefined && !(typeof b.maxBytes === 'number' && b.maxBytes > 0 && Number.isFinite(b.maxBytes))) throw new ArgumentError(`quantize: autoBudget.maxBytes must be a finite number of bytes > 0, got ${describe(b.maxBytes)}`);
    if (b.maxSqnrDropDb === undefined && b.maxBytes === undefined) throw new ArgumentError('quantize: autoBudget needs maxSqnrDropDb or maxBytes');
  }
  if (o.autoCandidates !== undefined) {
    if (!Array.isArray(o.autoCandidates) || o.autoCandidates.length === 0) throw new ArgumentError(`quantize: autoCandidates must be a non-empty list of format names, got ${describe(o.autoCandidates)}`);
    for (const c of o.autoCandidates) if (c !== 'float32' && !FORMAT_NAMES.includes(c)) throw new ArgumentError(`quantize: autoCandidates: '${String(c)}' is not a format; expected ${[...FORMAT_NAMES, 'float32'].map((n) => `'${n}'`).join(', ')}`);
  }
  if (o.autoStepTimer !== undefined && typeof o.autoStepTimer !== 'function') throw new ArgumentError(`quantize: autoStepTimer must be a function (model, feeds) => Promise<Map<node, ms>>, got ${describe(o.autoStepTimer)}`);
  if (o.autoBaseline !== undefined && o.autoBaseline !== 'int8' && o.autoBaseline !== 'all-int8') throw new ArgumentError(`quantize: autoBaseline must be 'int8' or 'all-int8', got ${describe(o.autoBaseline)}`);
  if (o.autoJudge !== undefined && o.autoJudge !== 'logits' && o.autoJudge !== 'outputs') throw new ArgumentError(`quantize: autoJudge must be 'logits' or 'outputs', got ${describe(o.autoJudge)}`);
  if (o.holdOut !== undefined && !(typeof o.holdOut === 'number' && o.holdOut >= 0 && o.holdOut < 1)) throw new ArgumentError(`quantize: holdOut must be a fraction from 0 to below 1, got ${describe(o.holdOut)}`);
  if (o.sensitivityInputs !== undefined && !(Number.isInteger(o.sensitivityInputs) && o.sensitivityInputs >= 1)) throw new ArgumentError(`quantize: sensitivityInputs must be an integer >= 1, got ${describe(o.sensitivityInputs)}`);
  if (o.classifier !== undefined && typeof o.classifier !== 'boolean') throw new ArgumentError(`quantize: classifier must be a boolean, got ${describe(o.classifier)}`);
  if (o.metric !== undefined && (typeof o.metric !== 'object' || typeof o.metric.score !== 'function' || typeof o.metric.name !== 'string')) throw new ArgumentError('quantize: metric must be { name, score(reference, quantized) }');
  if (o.metric?.allowance !== undefined && !(o.metric.allowance >= 0)) throw new ArgumentError(`quantize: metric.allowance must be >= 0, got ${describe(o.metric.allowance)}`);
}

export { splitCalibration, fitPart } from './calibration-split.js';

/** Runs the search on `model` (built with every layer int8 unless `choice` says otherwise), filling `choice`, model.choices and model.mix. */
/** `shapeKept`: why scheme 'int8' keeps a layer float32 by its shape (int8-shape-rule.ts), or undefined: such a layer is float32 in the baseline and not searched. */
export async function autoMix(float: Model, model: MixedModel, stats: Map<GraphNode, RangeStats>, choice: Map<GraphNode, LayerScheme>, options: QuantizeOptions, weights: CandidateWeights, shapeKept: (node: GraphNode) => string | undefined = () => undefined): Promise<void> {
  checkAutoOptions(options);
  const budget: AutoBudget = options.autoBudget ?? { maxSqnrDropDb: 1 };
  const candidates = [...new Set(['int8', ...(options.autoCandidates ?? [...WEIGHT_FORMATS.filter((f) => f.autoCandidate !== false).map((f) => f.name), 'float32'])])];
  // enough inputs that the outputs measured hold a few thousand values (16 to 64 inputs): a head with one output per input needs more
  const values = Object.values(await float.run(options.calibration[0])).reduce((n, t) => n + t.data.length, 0);
  const limit = options.sensitivityInputs ?? Math.min(64, Math.max(16, Math.ceil(4096 / Math.max(values, 1))));
  const { search, check: heldOut, heldOut: gateInputs } = splitCalibration(options.calibration, options.holdOut ?? DEFAULT_HOLD_OUT, limit);
  const score = (ref: Measured, got: Measured) => scoreOutputs(ref, got, options.classifier, options.metric);
  const progress = (d: number, t: number) => options.onProgress?.(d, t, 'measuring layers');
  const logits = options.autoJudge !== 'outputs';
  const run = (m: Model, inputs: readonly Feeds[]) => outputsOf(m, inputs, logits);

  const reference = await run(float, search);
  const baseOut = await run(model, search); // every layer int8
  const base = score(reference, baseOut);
  const baseNoise = noiseAndSignal(reference.judged, baseOut.judged).noise;
  const layers = [...stats.keys()].filter((n) => {
    const spec = float.layerSpecs.get(n);
    return spec && !(spec.type === 'conv' && spec.geometry.group !== 1) && !options.layerScheme?.(n) && !shapeKept(n);
  });
  const int8Bytes = model.weightBytes;
  const layerBytes = (node: GraphNode) => model.builtLayers.get(node)?.weightBytes ?? 0;
  // top-1 disagreements with float32 may grow by the factor the SQNR budget lets the noise grow (1 dB: x1.26), unless the user says otherwise
  const noiseFactor = budget.maxSqnrDropDb === undefined ? 1 : 10 ** (budget.maxSqnrDropDb / 10);
  const top1Budget = (b: OutputScore) =>
    options.top1Budget ?? (b.top1 === undefined ? undefined : options.top1Allowance !== undefined ? b.top1 - options.top1Allowance : 1 - (1 - b.top1) * noiseFactor);
  /** whether a score keeps top-1 and the metric against the int8 score `b` (the SQNR budget is the selection's) */
  const keepsDecisions = (s: OutputScore, b: OutputScore) => {
    const t = top1Budget(b);
    return (t === undefined || (s.top1 ?? 1) >= t) && (b.metric === undefined || (s.metric ?? -Infinity) >= b.metric - (options.metric?.allowance ?? 0));
  };

  // 2. the proxy, and what it prunes
  const rows = await sampleLayerRows(float, search, new Set(layers));
  const trials = new Map<GraphNode, LayerTrial[]>();
  for (const node of layers) {
    trials.set(node, proxyTrials(float, node, candidates, rows.get(node) ?? [], weights, activationQuant(stats.get(node)!, options).scale));
    weights.release(node);
  }

  // every layer's int8 bytes, while the all-int8 model is built (the timing below rebuilds its layers)
  const int8LayerBytes = new Map(layers.map((n) => [n, layerBytes(n)]));

  // 2b. speed: the mix at most maxSlowdown slower than all-int8 over these layers, by the cost table or measured (auto-speed.ts)
  const speedFrom = options.speed === 'measured' ? 'measured' : 'shape';
  const maxSlowdown = options.speed === 'off' ? null : budget.maxSlowdown !== undefined ? budget.maxSlowdown : budget.maxBytes === undefined ? DEFAULT_MAX_SLOWDOWN : null;
  let int8Ms: Map<GraphNode, number> | undefined, int8Total = 0, allowance = Infinity;
  if (maxSlowdown !== null) {
    const byFormat = new Map<LayerScheme, GraphNode[]>();
    for (const node of layers) for (const t of trials.get(node)!) if (!t.skipped && t.scheme !== 'int8') byFormat.set(t.scheme, [...(byFormat.get(t.scheme) ?? []), node]);
    options.onProgress?.(0, 1, speedFrom === 'measured' ? 'timing formats' : 'costing formats');
    const times = speedFrom === 'measured'
      ? await formatLatencies(model, layers, byFormat, (node, scheme) => (scheme === 'int8' ? choice.delete(node) : choice.set(node, scheme)), search[0], options.autoStepTimer)
      : shapeLatencies(float, layers, byFormat, stats);
    int8Ms = times.get('int8')!;
    int8Total = sum(layers.map((n) => int8Ms!.get(n) ?? 0));
    allowance = maxSlowdown * int8Total;
    for (const node of layers) {
      for (const t of trials.get(node)!) {
        t.ms = times.get(t.scheme)?.get(node);
        if (t.scheme !== 'int8' && !t.skipped && tooSlow(t.ms, int8Ms.get(node), allowance)) t.skipped = `slower than int8 at this layer by more than the model's allowance: ${t.ms!.toFixed(3)} vs ${int8Ms.get(node)!.toFixed(3)} ms (maxSlowdown ${maxSlowdown} of all-int8's ${int8Total.toFixed(3)} ms, ${speedFrom})`;
      }
    }
  }

  // 3. each layer's remaining formats measured with the rest int8
  const int8Proxy = (node: GraphNode) => trials.get(node)!.find((t) => t.scheme === 'int8')!.proxySqnrDb;
  const toMeasure = layers.flatMap((node) => trials.get(node)!.filter((t) => !t.skipped && t.scheme !== 'int8').map((t) => [node, t] as const));
  const options_ = new Map<GraphNode, { trial: LayerTrial; option: MixOption }[]>();
  for (const node of layers) {
    const int8 = trials.get(node)!.find((t) => t.scheme === 'int8')!;
    int8.bytes = int8LayerBytes.get(node)!;
    int8.output = base;
    options_.set(node, [{ trial: int8, option: { bytes: int8.bytes, noise: baseNoise } }]);
  }
  for (const [i, [node, trial]] of toMeasure.entries()) {
    choice.set(node, trial.scheme);
    await model.rebuild([node]);
    const got = await run(model, search);
    trial.output = score(reference, got);
    trial.bytes = layerBytes(node);
    // the noise this change adds: its distance from all-int8's output (stable, unlike the difference of two noisy totals); a format the proxy rates above int8 removes instead
    const moved = noiseAndSignal(baseOut.judged, got.judged).noise;
    options_.get(node)!.push({ trial, option: { bytes: trial.bytes, noise: baseNoise + (trial.proxySqnrDb > int8Proxy(node) ? (trial.scheme === 'float32' ? -moved : 0) : moved) } });
    choice.delete(node);
    await model.rebuild([node]);
    progress(i + 1, toMeasure.length + layers.length);
  }

  // 4. the knapsack's mix for the budget, measured
  const per = layers.map((n) => options_.get(n)!);
  const table = per.map((opts) => opts.map((o) => o.option));
  // each option's step time (a layer or format without one: int8's, adding nothing); the mix's summed time may not pass all-int8's plus the allowance
  const msTable = per.map((opts, i) => opts.map((o) => o.trial.ms ?? int8Ms?.get(layers[i]) ?? 0));
  const fit = (p: number[]) => (maxSlowdown === null ? p : fitTime(table, msTable, p, int8Total + allowance));
  const baseOption: MixOption = { bytes: int8Bytes, noise: baseNoise };
  /** a mix's weight bytes (exact: each option's bytes are its built layer's) */
  const bytesOf = (pick: readonly number[]) => predict(table, pick, baseOption).bytes;
  const withinBudget = (s: OutputScore, b: OutputScore, bytes: number) =>
    keepsDecisions(s, b) && (budget.maxSqnrDropDb === undefined || s.sqnrDb >= b.sqnrDb - budget.maxSqnrDropDb) && (budget.maxBytes === undefined || bytes <= budget.maxBytes);
  const apply = async (pick: readonly number[]) => {
    const changed: GraphNode[] = [];
    layers.forEach((node, i) => {
      const scheme = per[i][pick[i]].trial.scheme;
      if ((choice.get(node) ?? 'int8') !== scheme) changed.push(node);
      if (scheme === 'int8') choice.delete(node);
      else choice.set(node, scheme);
    });
    await model.rebuild(changed);
  };
  let steps = 0;
  const measure = async (pick: readonly number[], inputs = search, ref = reference) => {
    await apply(pick);
    progress(toMeasure.length + ++steps, toMeasure.length + layers.length);
    return score(ref, await run(model, inputs));
  };
  const sizeOnly = budget.maxSqnrDropDb === undefined;
  const int8Pick = layers.map(() => 0);
  const heldRef = heldOut.length ? await run(float, heldOut) : undefined;
  let heldBase: OutputScore | undefined;
  if (heldRef) {
    await apply(int8Pick);
    heldBase = score(heldRef, await run(model, heldOut));
  }
  let pick: number[], p0: number[], mix: OutputScore, h: OutputScore | undefined, checks = 0, rounds: MixRound[] | undefined;
  if (sizeOnly) {
    // a size budget: the least noise that fits, measured; the held-back check reports it (all-int8 may not fit the size)
    const chosen = selectMix(table, baseOption, { maxBytes: budget.maxBytes });
    const p = chosen && fit(chosen);
    if (!p) {
      const smallest = predict(table, table.map((opts) => opts.reduce((b, o, j) => (o.bytes < opts[b].bytes ? j : b), 0)), baseOption).bytes;
      throw new ArgumentError(`quantize: autoBudget.maxBytes ${budget.maxBytes} is below the smallest mix the candidates (${candidates.join(', ')}) allow, ${smallest} bytes`);
    }
    (pick = p), (p0 = p), (mix = await measure(p));
    if (heldRef) (h = await measure(p, heldOut, heldRef)), (checks = 1);
  } else {
    // a dB budget: the knapsack under a pessimism factor fitted to the measured mixes (mix-search.ts)
    const ratio = (s: OutputScore, b: OutputScore) => 10 ** ((b.sqnrDb - s.sqnrDb) / 10);
    const scores = new Map<string, OutputScore>();
    const found = await searchMix(table, baseOption, { maxRatio: 10 ** (budget.maxSqnrDropDb! / 10), maxBytes: budget.maxBytes }, async (p, part) => {
      const held = part === 'heldOut';
      const s = held ? await measure(p, heldOut, heldRef) : await measure(p);
      if (held) checks++;
      scores.set(`${part}:${p.join(',')}`, s);
      const b = held ? heldBase! : base;
      return { noiseRatio: ratio(s, b), ok: withinBudget(s, b, bytesOf(p)) };
    }, heldOut.length > 0, fit);
    (pick = found.pick), (p0 = found.first), (rounds = found.rounds);
    const changed = pick.some((j) => j !== 0);
    mix = changed ? scores.get(`search:${pick.join(',')}`)! : base;
    h = heldBase && (changed ? scores.get(`heldOut:${pick.join(',')}`)! : heldBase);
  }
  // 5. the final gate (mix-gate.ts): with a dB budget, the mix no worse than int8 per input and per frame on every
  // calibration input the search did not measure on; else layers go back to int8, largest error first, or all of them
  let gate: MixReport['gate'];
  const gaveBack = new Set<number>();
  const searchPick = pick;
  if (!sizeOnly && pick.some((j) => j !== 0)) {
    // every held-back input, and only those: the candidates' weights were fitted on another part, where a mix
    // of them looks better than it is (PP-OCRv4: better than int8 on those lines, 1.5 points worse on the test lines),
    // and the search chose on a third
    if (gateInputs.length) {
      const gateRef = gateInputs.length === heldOut.length ? heldRef! : await run(float, gateInputs);
      const gateOf = async (p: readonly number[]) => {
        await apply(p);
        progress(toMeasure.length + ++steps, toMeasure.length + layers.length);
        return gateScore(gateRef, await run(model, gateInputs), options.classifier, options.metric);
      };
      const g8 = await gateOf(int8Pick);
      const userTop1 = { allowance: options.top1Allowance, budget: options.top1Budget };
      let current = pick, g = await gateOf(current), checks = 1;
      // held-back inputs that cannot resolve the budget for a mix are a miss (a mix with layers given back may spread less);
      // under GATE_MIN_INPUTS there is no spread to judge by: no verdict, and so no mix
      const judge = (s: GateScore) => (s.inputDb && g8.inputDb ? unresolved(s.inputDb, g8.inputDb, budget.maxSqnrDropDb) : undefined) ?? gateMiss(s, g8, budget.maxSqnrDropDb, options.metric, userTop1);
      const few = budget.maxSqnrDropDb !== undefined && gateInputs.length < GATE_MIN_INPUTS;
      let miss = judge(g);
      const misses: string[] = [];
      for (const batch of giveBackBatches(pick.map((j, i) => ({ index: i, noise: table[i][j].noise - table[i][0].noise })))) {
        if (!miss || few) break;
        misses.push(miss);
        for (const i of batch) gaveBack.add(i);
        current = current.map((j, i) => (batch.includes(i) ? 0 : j));
        if (bytesOf(current) >= int8Bytes) break; // what is left (float32 changes) is no smaller than int8
        (g = await gateOf(current)), checks++;
        miss = judge(g);
      }
      if (miss && !misses.includes(miss)) misses.push(miss);
      const outcome = !miss && bytesOf(current) < int8Bytes ? (gaveBack.size ? 'gave-back' : 'pass') : 'int8';
      // the paired verdict on the last mix checked (the report's `mix` is int8's when it went back)
      const paired = budget.maxSqnrDropDb !== undefined && g.inputDb && g8.inputDb ? pairedGate(g.inputDb, g8.inputDb, budget.maxSqnrDropDb) : undefined;
      if (outcome === 'int8') (current = int8Pick), (g = g8);
      gate = { inputs: gateInputs.length, int8: g8, mix: g, outcome, gaveBack: [...gaveBack].map((i) => layers[i].name), checks, misses, ...(paired && { paired }) };
      if (outcome !== 'pass') {
        // the report's search and held-back scores are the final mix's
        pick = current;
        const changed = pick.some((j) => j !== 0);
        mix = changed ? await measure(pick) : base;
        h = heldBase && (changed ? await measure(pick, heldOut, heldRef) : heldBase);
      }
    }
  }
  // 'reverted': a later round's mix, after a measured miss; 'int8': every round missed, or the gate sent it back
  const changedAny = pick.some((j) => j !== 0);
  const fallback: MixReport['fallback'] = !rounds?.length ? 'none' : !changedAny ? 'int8' : rounds.length > 1 || gate?.outcome === 'gave-back' ? 'reverted' : 'none';
  const held: MixReport['heldOut'] = heldBase && h ? { inputs: heldOut.length, int8: heldBase, mix: h, withinBudget: withinBudget(h, heldBase, bytesOf(pick)), checks } : undefined;
  await apply(pick);

  /** a change the first round made that a later round took back to int8, in words (a later round may also choose another format: its own why) */
  const undone = (i: number) => (i >= 0 && pick[i] === 0 && gaveBack.has(i) ? `int8: the search chose ${per[i][searchPick[i]].trial.scheme}, but the final gate found the mix worse than int8 per input or frame and gave this layer back (mix.gate)` : i < 0 || pick[i] !== 0 || p0[i] === 0 ? undefined : `int8: the knapsack chose ${per[i][p0[i]].trial.scheme}, but that mix missed the budget when measured (${rounds?.some((r) => r.heldOut && !r.heldOut.ok) ? 'the held-back check sent it back to int8' : 'on the search inputs'}); mix.rounds has each round`);
  model.choices = [...stats.keys()].filter((n) => float.layerSpecs.has(n)).map((node) => recordChoice(float, node, choice, options, trials.get(node), per[layers.indexOf(node)]?.[pick[layers.indexOf(node)]]?.trial, undone(layers.indexOf(node)), shapeKept(node)));
  const t1 = top1Budget(base);
  model.mix = {
    budget, candidates, int8Bytes, bytes: bytesOf(pick), judgedOn: judgedOn(float, logits),
    search: { inputs: search.length, int8: base, mix }, heldOut: held, fallback, ...(rounds && { rounds }), ...(gate && { gate }),
    ...(int8Ms && { speed: { maxSlowdown: maxSlowdown!, from: speedFrom, int8Ms: int8Total, ms: pickMs(msTable, pick) } }),
    top1: mix.top1 ?? 1, outputSqnrDb: mix.sqnrDb, int8Top1: base.top1 ?? 1, int8OutputSqnrDb: base.sqnrDb, top1Budget: t1 ?? 1, probeInputs: search.length,
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Each candidate's bytes and proxy for one layer (its weights as the search will build them), the ones the proxy prunes marked `skipped`. */
function proxyTrials(float: Model, node: GraphNode, candidates: string[], rows: Float32Array[], weights: CandidateWeights, inputStep: number): LayerTrial[] {
  const spec = float.layerSpecs.get(node)!;
  const { wnk, n, k } = spec.type === 'conv' ? { wnk: convWeightsNK(spec.weight, spec.geometry), n: spec.geometry.cout, k: spec.geometry.kh * spec.geometry.kw * spec.geometry.cin } : { wnk: spec.transposed ? spec.weight : transposeKN(spec.weight, spec.k, spec.n), n: spec.n, k: spec.k };
  const trials: LayerTrial[] = candidates.map((scheme) => {
    if (scheme === 'float32') return { scheme, bytes: 4 * n * k, proxySqnrDb: Infinity };
    const w = weights.get(node, scheme);
    if (!w) return { scheme, bytes: 4 * n * k, proxySqnrDb: Infinity }; // a format that needs an input range the layer lacks
    const format = w.format;
    return { scheme, bytes: format.storedBytes(w.data), proxySqnrDb: proxySqnrDb(wnk, format.dequantize(w.data), n, k, rows, format.needsInputRange ? inputStep : undefined) };
  });
  for (const t of trials) {
    if (t.scheme === 'int8') continue; // the baseline
    const better = trials.find((o) => o !== t && o.bytes <= 1.1 * t.bytes && o.proxySqnrDb > t.proxySqnrDb);
    if (better) t.skipped = `pruned: ${better.scheme} is as small and better by the proxy (${better.proxySqnrDb.toFixed(1)} vs ${t.proxySqnrDb.toFixed(1)} dB)`;
  }
  return trials;
}

function recordChoice(float: Model, node: GraphNode, choice: Map<GraphNode, LayerScheme>, options: QuantizeOptions, trials: LayerTrial[] | undefined, chosen: LayerTrial | undefined, undone: string | undefined, kept?: string): LayerChoice {
  const spec = float.layerSpecs.get(node)!;
  const fixed = options.layerScheme?.(node);
  const grouped = spec.type === 'conv' && spec.geometry.group !== 1;
  const scheme: LayerScheme = fixed ?? (grouped || kept ? 'float32' : choice.get(node) ?? 'int8');
  const int4 = trials?.find((t) => t.scheme === 'int4')?.output;
  const why = fixed ? 'set by layerScheme' : grouped ? 'depthwise/grouped convolution: float32 in every scheme' : kept ? `float32 as in scheme 'int8', not searched: ${kept}` : !trials ? 'not searched' : undone ?? whyChosen(scheme, trials, chosen);
  return { node, scheme, trials, why, top1WhenInt4: int4?.top1, outputSqnrDbWhenInt4: int4?.sqnrDb };
}

function whyChosen(scheme: string, trials: LayerTrial[], chosen: LayerTrial | undefined): string {
  const int8 = trials.find((t) => t.scheme === 'int8')!;
  const c = chosen ?? int8;
  const kib = (b: number) => `${(Math.abs(b) / 1024).toFixed(1)} KiB`;
  const alone = (t: LayerTrial) => `${t.output!.sqnrDb.toFixed(1)} dB`;
  if (scheme === 'int8') {
    const others = trials.filter((t) => t.scheme !== 'int8' && t.output && !t.skipped);
    if (!others.length) return `int8: no other candidate was eligible (pruned by the proxy${trials.some((t) => t.skipped?.startsWith('slower')) ? ', slower than int8' : ''}, or loses top-1 or the metric alone)`;
    return `int8: the others cost more than the budget allows (output SQNR with this layer alone: int8 ${alone(int8)}, ${others.map((t) => `${t.scheme} ${alone(t)} at ${t.bytes < int8.bytes ? '-' : '+'}${kib(t.bytes - int8.bytes)}`).join(', ')})`;
  }
  const d = c.bytes - int8.bytes;
  return `${scheme}: ${kib(d)} ${d < 0 ? 'smaller' : 'larger'} than int8, output SQNR with this layer alone ${alone(c)} (int8 ${alone(int8)}); ${d < 0 ? 'the noise fits the budget' : 'it buys back noise for layers made smaller'}`;
}
