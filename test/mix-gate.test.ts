// The final gate on an 'auto' mix (mix-gate.ts): per input and per frame against float32's top-1, the
// mix no worse than all-int8, else layers given back to int8 (largest error first), else all-int8.
import { describe, expect, it } from 'vitest';
import { gateMiss, gateScore, giveBackBatches, pairedGate, unresolved, GATE_FRAME_TOLERANCE, GATE_MIN_INPUTS } from '../src/model/mix-gate.js';
import type { Measured } from '../src/model/sensitivity.js';
import { loadModel, quantizeModel, tensor, type Feeds } from '../src/index.js';
import { randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

/** one output [frames, classes] per input, frames given as lists of logits */
const measured = (inputs: number[][][]): Measured => {
  const judged = inputs.map((frames) => ({ y: tensor('float32', new Float32Array(frames.flat()), [frames.length, frames[0].length]) }));
  return { outputs: judged, judged, softmaxMade: new Set(['y']) };
};

describe('auto final gate: scores', () => {
  const ref = measured([[[1, 0], [0, 1]], [[1, 0], [0, 1]]]);
  it('counts frames with float32 top-1 and inputs whose every frame has it', () => {
    const got = measured([[[1, 0], [0, 1]], [[1, 0], [1, 0]]]);
    const s = gateScore(ref, got, undefined);
    expect([s.inputs, s.frames, s.totalFrames]).toEqual([1, 3, 4]);
    expect(gateScore(ref, ref, undefined).inputs).toBe(2);
  });

  it('a mix with one input fewer read as float32 reads it misses, even with more frames right; a frame under the tolerance passes', () => {
    const int8 = { inputs: 10, frames: 5000, totalFrames: 5000 + 100, sqnrDb: 20 };
    expect(gateMiss({ ...int8, inputs: 9, frames: 5050 }, int8, 1)).toMatch(/9 inputs/);
    expect(gateMiss({ ...int8, frames: 5000 - Math.floor(GATE_FRAME_TOLERANCE * 5100) }, int8, 1)).toBeUndefined();
    expect(gateMiss({ ...int8, frames: 4990 }, int8, 1)).toMatch(/frames/);
    // pooled SQNR does not decide where top-1 is measured
    expect(gateMiss({ ...int8, sqnrDb: 10 }, int8, 1)).toBeUndefined();
  });

  it('where a softmax makes the output (logits judged), its own SQNR may not be under int8s', () => {
    const logits = measured([[[2, 0], [0, 2]]]), probs = measured([[[0.9, 0.1], [0.1, 0.9]]]);
    const ref: Measured = { outputs: probs.outputs, judged: logits.judged };
    const got: Measured = { outputs: measured([[[0.8, 0.2], [0.1, 0.9]]]).outputs, judged: logits.judged };
    const s = gateScore(ref, got, undefined);
    expect(s.sqnrDb).toBe(Infinity);
    expect(s.outputSqnrDb).toBeCloseTo(10 * Math.log10(1.64 / 0.02), 5);
    expect(gateScore(logits, logits, undefined).outputSqnrDb).toBeUndefined(); // no softmax: the logits are the output
    const int8 = { inputs: 1, frames: 2, totalFrames: 2, sqnrDb: 30, outputSqnrDb: 20 };
    expect(gateMiss({ ...int8, outputSqnrDb: 20 }, int8, 1)).toBeUndefined();
    expect(gateMiss({ ...int8, outputSqnrDb: 19.9 }, int8, 1)).toMatch(/softmax output SQNR 19\.90 dB, int8 20\.00/);
  });

  it('the CTC logit margin: a frame nearer a flip costs more; where input counts tie, a mix with more margin loss than int8 misses, one that reads more inputs does not', () => {
    const ref1 = measured([[[3, 0, 0], [0, 3, 0]]]);
    const near = gateScore(ref1, measured([[[1, 0.8, 0], [0, 3, 0]]]), undefined), far = gateScore(ref1, ref1, undefined);
    // log(1 + e^-margin) per frame: margins 0.2 and 3 vs 3 and 3
    expect(near.marginLoss).toBeCloseTo(Math.log1p(Math.exp(-0.2)) + Math.log1p(Math.exp(-3)), 6);
    expect(far.marginLoss).toBeCloseTo(2 * Math.log1p(Math.exp(-3)), 6);
    expect([near.inputs, near.frames]).toEqual([far.inputs, far.frames]); // top-1 alone does not see it
    // a flipped frame (negative margin) costs more than any kept one
    expect(gateScore(ref1, measured([[[0, 1, 0], [0, 3, 0]]]), undefined).marginLoss!).toBeGreaterThan(near.marginLoss!);
    // not a classifier output (one value per frame, or classifier: false): none reported
    expect(gateScore(measured([[[1], [2]]]), measured([[[1], [2]]]), undefined).marginLoss).toBeUndefined();
    expect(gateScore(ref1, ref1, false).marginLoss).toBeUndefined();
    const int8 = { inputs: 10, frames: 900, totalFrames: 900, sqnrDb: 20, marginLoss: 5 };
    expect(gateMiss({ ...int8, marginLoss: 5 }, int8, 1)).toBeUndefined();
    expect(gateMiss({ ...int8, marginLoss: 5.01 }, int8, 1)).toMatch(/10 inputs as int8's, and a larger logit margin loss: 5\.01, int8 5\.00/);
    expect(gateMiss({ ...int8, inputs: 11, marginLoss: 6, outputSqnrDb: 1 }, { ...int8, outputSqnrDb: 2 }, 1)).toBeUndefined();
    expect(gateMiss({ ...int8, inputs: 9, marginLoss: 1 }, int8, 1)).toMatch(/9 inputs/);
  });

  it("a user's top-1 allowance or budget replaces the per-input and per-frame rules", () => {
    const int8 = { inputs: 10, frames: 900, totalFrames: 1000, sqnrDb: 20 };
    const mix = { ...int8, inputs: 5, frames: 880 };
    expect(gateMiss(mix, int8, 1)).toMatch(/5 inputs/);
    expect(gateMiss(mix, int8, 1, undefined, { allowance: 0.02 })).toBeUndefined();
    expect(gateMiss(mix, int8, 1, undefined, { allowance: 0.01 })).toMatch(/88\.00% of frames, the user's top-1 budget 89\.00%/);
    expect(gateMiss(mix, int8, 1, undefined, { budget: 0.85 })).toBeUndefined();
  });

  it('without top-1 (not a classifier), pooled SQNR within the dB budget decides; the metric always counts', () => {
    const int8 = { inputs: 0, frames: 0, totalFrames: 0, sqnrDb: 20, metric: 0.9 };
    expect(gateMiss({ ...int8, sqnrDb: 19.5 }, int8, 1)).toBeUndefined();
    expect(gateMiss({ ...int8, sqnrDb: 18.5 }, int8, 1)).toMatch(/SQNR/);
    const metric = { name: 'm', score: () => 0, allowance: 0.05 };
    expect(gateMiss({ ...int8, metric: 0.86 }, int8, 1, metric)).toBeUndefined();
    expect(gateMiss({ ...int8, metric: 0.8 }, int8, 1, metric)).toMatch(/^m /);
  });

  it('per input: a mix that wins on the mean of 4 inputs but loses on most is refused; 4 inputs are too few to judge at all', () => {
    // one loud input carries the pooled and the mean figure; the other three lose 2 dB, past the 1 dB budget
    const int8 = { inputs: 0, frames: 0, totalFrames: 0, sqnrDb: 20, inputDb: [20, 20, 20, 20] };
    const mix = { ...int8, sqnrDb: 20.5, inputDb: [32, 18, 18, 18] };
    expect(gateMiss({ ...mix, inputDb: undefined }, { ...int8, inputDb: undefined }, 1)).toBeUndefined(); // the pooled rule alone passed it
    const v = pairedGate(mix.inputDb, int8.inputDb, 1);
    expect(v.meanDb).toBeCloseTo(1.5, 9);
    expect(v.within).toBe(1);
    expect(v.miss).toMatch(/95% lower bound -6\.\d\d dB under the -1 dB budget \(4 inputs\)/);
    expect(gateMiss(mix, int8, 1)).toBe(v.miss);
    // and 4 such inputs cannot resolve 1 dB at all: the gate does not judge, auto stays int8
    expect(unresolved(mix.inputDb, int8.inputDb, 1)).toMatch(/^4 held-back inputs resolve the mix's per-input SQNR difference from int8 to ±8\.24 dB \(95%; spread 7\.00 dB\), wider than the 1 dB budget: too few to judge it/);
    expect(unresolved(mix.inputDb, int8.inputDb, 10)).toBeUndefined(); // a 10 dB budget they can
    expect(unresolved([21, 22], [20, 20], 1)).toMatch(/^2 held-back inputs are too few to judge a mix \(the gate needs 3\)/);
    expect(GATE_MIN_INPUTS).toBe(3);
    expect(unresolved(mix.inputDb, int8.inputDb, undefined)).toBeUndefined(); // a size budget is not gated
  });

  it('per input: within the budget with 95% confidence on most inputs passes; a confident mean with most inputs out of budget does not', () => {
    const base = (n: number) => Array.from({ length: n }, (_, i) => 20 + (i % 5));
    // a clear win on 12 inputs: +2 dB, spread ±0.5
    const win = base(12).map((x, i) => x + 2 + (i % 2 ? 0.5 : -0.5));
    const v = pairedGate(win, base(12), 1);
    expect(v.miss).toBeUndefined();
    expect(v.lowerDb).toBeGreaterThan(1);
    expect(unresolved(win, base(12), 1)).toBeUndefined();
    expect(gateMiss({ inputs: 0, frames: 0, totalFrames: 0, sqnrDb: 22, inputDb: win }, { inputs: 0, frames: 0, totalFrames: 0, sqnrDb: 20, inputDb: base(12) }, 1)).toBeUndefined();
    // slightly worse but inside 1 dB on 16 inputs: passes (the budget allows it)
    expect(pairedGate(base(16).map((x, i) => x - 0.3 + (i % 2 ? 0.2 : -0.2)), base(16), 1).miss).toBeUndefined();
    // 9 of 20 inputs +3 dB, 11 at -1.2 dB: the lower bound is inside the budget, but most inputs are not
    const split = base(20).map((x, i) => x + (i < 9 ? 3 : -1.2));
    const s = pairedGate(split, base(20), 1);
    expect(s.lowerDb).toBeGreaterThan(-1);
    expect(s.within).toBe(9);
    expect(s.miss).toMatch(/within the 1 dB budget of int8 on 9 of 20 inputs only/);
    // a classifier's gate applies it too, after its top-1 rules
    const cls = { inputs: 10, frames: 900, totalFrames: 900, sqnrDb: 20, marginLoss: 5, inputDb: base(20) };
    expect(gateMiss({ ...cls, inputDb: split }, cls, 1)).toBe(s.miss);
  });

  it('gives back the noise-adding changes largest first in batches of 1, 1, 2, 4; noise-removing changes stay', () => {
    const added = [0.1, 0.5, -0.2, 0.3, 0.05, 0.2, 0.01, 0.02, 0.03].map((noise, index) => ({ index, noise }));
    expect(giveBackBatches(added)).toEqual([[1], [3], [5, 0], [4, 8, 7, 6]]);
    expect(giveBackBatches([])).toEqual([]);
  });
});

const rts = useRuntimes();

/** x [1, 8, 10, 10] -> Conv 3x3 Relu -> Conv 1x1 Relu -> Flatten -> Gemm 3200->64 Relu -> Gemm 64->8 */
function net(): Uint8Array {
  const r = rng(77);
  const he = (fanIn: number) => Math.sqrt(2 / fanIn);
  return new OnnxBuilder()
    .input('x', [1, 8, 10, 10])
    .init('w1', [32, 8, 3, 3], randNormal(32 * 8 * 9, r, he(72))).init('b1', [32], randNormal(32, r, 0.1))
    .init('w2', [32, 32, 1, 1], randNormal(32 * 32, r, he(32))).init('b2', [32], randNormal(32, r, 0.1))
    .init('w3', [3200, 64], randNormal(3200 * 64, r, he(3200))).init('b3', [64], randNormal(64, r, 0.1))
    .init('w4', [64, 8], randNormal(64 * 8, r, he(64))).init('b4', [8], randNormal(8, r, 0.1))
    .node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1] }).node('Relu', ['c1'], 'r1')
    .node('Conv', ['r1', 'w2', 'b2'], 'c2').node('Relu', ['c2'], 'r2')
    .node('Flatten', ['r2'], 'f')
    .node('Gemm', ['f', 'w3', 'b3'], 'g3').node('Relu', ['g3'], 'r3')
    .node('Gemm', ['r3', 'w4', 'b4'], 'y')
    .output('y')
    .build();
}

describe('auto final gate: in the search', () => {
  const r = rng(5);
  const calibration: Feeds[] = Array.from({ length: 24 }, () => ({ x: tensor('float32', randNormal(800, r), [1, 8, 10, 10]) }));
  // autoBaseline 'all-int8': every layer searched (by default the shape rule keeps this net's small layers float32, as int8 does).
  // 4 search inputs, 4 in the search's held-back check: the gate scores all 8 held back. The metric answers the gate (8 inputs) from a script, the search always 1.
  const scripted = (answers: number[]) => {
    let gateCalls = 0;
    return { name: 'scripted', score: (ref: unknown[]) => (ref.length === 8 ? answers[Math.min(gateCalls++, answers.length - 1)] : 1) };
  };
  const options = (metric: ReturnType<typeof scripted>) => ({ scheme: 'auto' as const, calibration, sensitivityInputs: 4, autoCandidates: ['int4' as const], autoBudget: { maxSqnrDropDb: 20, maxSlowdown: null }, top1Allowance: 1, metric, autoBaseline: 'all-int8' as const });

  it('a mix the gate finds worse than int8 each time is all-int8, and says so', async () => {
    const float = loadModel(rts.one, net());
    // a 20 dB budget with top-1 free lets the search take 4-bit layers; the (scripted) metric finds every mix worse
    const q = await quantizeModel(float, options(scripted([1, 0])));
    const mix = q.mix!;
    expect(mix.rounds!.length).toBeGreaterThan(0);
    expect(mix.gate!.inputs).toBe(8);
    expect(mix.gate!.outcome).toBe('int8');
    expect(mix.gate!.misses.every((m) => /^scripted 0, int8 1$/.test(m))).toBe(true);
    expect(mix.gate!.checks).toBeGreaterThan(1);
    expect(mix.fallback).toBe('int8');
    expect(q.choices!.every((c) => c.scheme === 'int8')).toBe(true);
    expect(mix.bytes).toBe(mix.int8Bytes);
    expect(q.choices!.filter((c) => mix.gate!.gaveBack.includes(c.node.name)).every((c) => /final gate/.test(c.why!))).toBe(true);
    for (const m of [q, float]) m.dispose();
  }, 120_000);

  it('with 2 held-back inputs (6 calibration inputs) the gate does not judge: all-int8, and the reason is reported', async () => {
    const float = loadModel(rts.one, net());
    const q = await quantizeModel(float, { ...options(scripted([1])), calibration: calibration.slice(0, 6), classifier: false });
    const mix = q.mix!;
    expect(mix.gate!.inputs).toBe(2);
    expect(mix.gate!.outcome).toBe('int8');
    expect(mix.gate!.checks).toBe(1);
    expect(mix.gate!.misses).toEqual([expect.stringMatching(/^2 held-back inputs are too few to judge a mix/)]);
    expect(mix.bytes).toBe(mix.int8Bytes);
    for (const m of [q, float]) m.dispose();
  }, 120_000);

  it('a mix that passes once its worst layer is back to int8 keeps the rest', async () => {
    const float = loadModel(rts.one, net());
    // not a classifier: pooled SQNR within the budget and the (scripted) metric decide
    const q = await quantizeModel(float, { ...options(scripted([1, 0, 1])), classifier: false });
    const mix = q.mix!;
    expect(mix.gate!.outcome).toBe('gave-back');
    expect(mix.gate!.gaveBack).toHaveLength(1);
    expect(mix.gate!.checks).toBe(2);
    expect(mix.bytes).toBeLessThan(mix.int8Bytes);
    expect(q.choices!.find((c) => c.node.name === mix.gate!.gaveBack[0])!.scheme).toBe('int8');
    for (const m of [q, float]) m.dispose();
  }, 120_000);
});
