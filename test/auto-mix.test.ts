// The 'auto' scheme on a model that is not a classifier: a regression net (conv, conv, Gemm,
// Gemm -> one value per input), where top-1 along the last axis means nothing. Its output SQNR must
// stay within 1 dB of int8's on inputs calibration never saw, a size budget must be met, the check
// on held-back calibration inputs reported, and every per-layer decision recorded.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArgumentError, loadModel, quantizeModel, tensor, type Feeds, type Model, type QuantizeOptions } from '../src/index.js';
import { fitPart, splitCalibration } from '../src/model/auto-mix.js';
import { predict, selectMix } from '../src/model/mix-select.js';
import { SIMD, randNormal, rng, useRuntimes } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

/** x [1, 8, 10, 10] -> Conv 3x3 (8->32) Relu -> Conv 1x1 (32->32) Relu -> Flatten -> Gemm 3200->64 Relu -> Gemm 64->1 */
function regressionNet(outputs = 1): Uint8Array {
  const r = rng(77);
  const he = (fanIn: number) => Math.sqrt(2 / fanIn);
  return new OnnxBuilder()
    .input('x', [1, 8, 10, 10])
    .init('w1', [32, 8, 3, 3], randNormal(32 * 8 * 9, r, he(72)))
    .init('b1', [32], randNormal(32, r, 0.1))
    .init('w2', [32, 32, 1, 1], randNormal(32 * 32, r, he(32)))
    .init('b2', [32], randNormal(32, r, 0.1))
    .init('w3', [3200, 64], randNormal(3200 * 64, r, he(3200)))
    .init('b3', [64], randNormal(64, r, 0.1))
    .init('w4', [64, outputs], randNormal(64 * outputs, r, he(64)))
    .init('b4', [outputs], randNormal(outputs, r, 0.1))
    .node('Conv', ['x', 'w1', 'b1'], 'c1', { pads: [1, 1, 1, 1] })
    .node('Relu', ['c1'], 'r1')
    .node('Conv', ['r1', 'w2', 'b2'], 'c2')
    .node('Relu', ['c2'], 'r2')
    .node('Flatten', ['r2'], 'f')
    .node('Gemm', ['f', 'w3', 'b3'], 'g3')
    .node('Relu', ['g3'], 'r3')
    .node('Gemm', ['r3', 'w4', 'b4'], 'y')
    .output('y')
    .build();
}

const inputs = (count: number, seed: number): Feeds[] => {
  const r = rng(seed);
  return Array.from({ length: count }, () => ({ x: tensor('float32', randNormal(800, r), [1, 8, 10, 10]) }));
};

/** output SQNR (dB) of `q` against `float` on `feeds` */
async function sqnr(float: Model, q: Model, feeds: Feeds[]): Promise<number> {
  let sig = 0, noise = 0;
  for (const f of feeds) {
    const a = Object.values(await float.run(f))[0].data, b = Object.values(await q.run(f))[0].data;
    for (let i = 0; i < a.length; i++) (sig += a[i] * a[i]), (noise += (a[i] - b[i]) ** 2);
  }
  return 10 * Math.log10(sig / noise);
}

describe(`'auto' mixed precision on a non-classifier (${SIMD} build)`, () => {
  const calibration = inputs(24, 1);
  const test = inputs(24, 2);

  it('keeps output SQNR within 1 dB of int8 on unseen inputs, not all-int4 (int4 costs far more than the budget), and records why', async () => {
    const float = loadModel(rts.one, regressionNet());
    const int8 = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
    const int4 = await quantizeModel(float, { scheme: 'int4', calibration });
    const auto = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration });
    const [s8, s4, sa] = [await sqnr(float, int8, test), await sqnr(float, int4, test), await sqnr(float, auto, test)];
    expect(s8 - s4).toBeGreaterThan(5); // int4 everywhere is far outside a 1 dB budget
    expect(sa).toBeGreaterThan(s8 - 1);
    const schemes = auto.choices!.map((c) => c.scheme);
    expect(schemes).toHaveLength(4);
    expect(schemes.every((s) => ['int4', 'ant4', 'nf4'].includes(s))).toBe(false);
    // one output value per input: top-1 is not measured, SQNR and cosine are
    const mix = auto.mix!;
    expect(mix.search.int8.top1).toBeUndefined();
    expect(mix.search.mix.cosine).toBeGreaterThan(0.99);
    expect(mix.search.mix.sqnrDb).toBeGreaterThanOrEqual(mix.search.int8.sqnrDb - 1);
    expect(mix.budget).toEqual({ maxSqnrDropDb: 1 });
    // the held-back check: a third of the calibration inputs, measured and within budget; the search measures on another third
    expect(mix.heldOut!.inputs).toBe(8);
    expect(mix.search.inputs).toBe(8); // one output value per input: every search input (up to 64)
    expect(mix.heldOut!.withinBudget).toBe(true);
    expect(mix.heldOut!.mix.sqnrDb).toBeGreaterThanOrEqual(mix.heldOut!.int8.sqnrDb - 1);
    expect(mix.bytes).toBe(auto.weightBytes);
    expect(mix.bytes).toBeLessThanOrEqual(mix.int8Bytes * 1.01);
    // every layer: what was tried (every candidate of the table and float32), its proxy and bytes, why
    for (const c of auto.choices!) {
      expect(c.trials!.map((t) => t.scheme).sort()).toEqual(mix.candidates.slice().sort());
      expect(mix.candidates).toEqual(expect.arrayContaining(['int8', 'int4', 'fp8', 'float32']));
      const int8Trial = c.trials!.find((t) => t.scheme === 'int8')!;
      const int4Trial = c.trials!.find((t) => t.scheme === 'int4')!;
      // (tiny layers: packing pads 4-bit panels past int8's size)
      if (int8Trial.bytes > 4096) expect(int4Trial.bytes).toBeLessThan(int8Trial.bytes);
      expect(int4Trial.proxySqnrDb).toBeLessThan(int8Trial.proxySqnrDb);
      expect(c.trials!.find((t) => t.scheme === 'float32')!.proxySqnrDb).toBe(Infinity);
      for (const t of c.trials!) expect(t.output !== undefined || t.skipped !== undefined).toBe(true);
      expect(c.why).toContain(c.scheme);
    }
    for (const m of [int8, int4, auto, float]) m.dispose();
  }, 120_000);

  it("by default compares against scheme 'int8's model: the layers its shape rule keeps float32 stay float32, unsearched, and say why", async () => {
    const float = loadModel(rts.one, regressionNet());
    const int8 = await quantizeModel(float, { scheme: 'int8', calibration }); // the shape rule: only the 3200x64 Gemm pays
    const auto = await quantizeModel(float, { scheme: 'auto', calibration, autoBudget: { maxSqnrDropDb: 1, maxSlowdown: null } });
    await int8.run(test[0]);
    const kept = auto.choices!.filter((c) => !c.trials);
    expect(kept.map((c) => c.scheme)).toEqual(['float32', 'float32', 'float32']);
    for (const c of kept) expect(c.why).toMatch(/^float32 as in scheme 'int8', not searched: int8 shape rule: GEMM \d+x\d+x\d+ too small/);
    expect(auto.choices!.filter((c) => c.trials).map((c) => c.node.name)).toEqual(auto.choices!.filter((c) => !int8.keptFloat!.has(c.node)).map((c) => c.node.name));
    expect(kept.map((c) => int8.keptFloat!.get(c.node))).toEqual(kept.map((c) => c.why!.replace(/^float32 as in scheme 'int8', not searched: /, '')));
    expect(auto.mix!.int8Bytes).toBe(int8.weightBytes);
    // the all-int8 baseline would be the other model
    const all = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoBudget: { maxSqnrDropDb: 1, maxSlowdown: null } });
    expect(all.choices!.every((c) => c.trials)).toBe(true);
    expect(all.mix!.int8Bytes).toBeLessThan(int8.weightBytes);
    const err = await quantizeModel(float, { scheme: 'auto', calibration, autoBaseline: 'int4' as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgumentError);
    expect((err as Error).message).toMatch(/autoBaseline must be 'int8' or 'all-int8', got/);
    for (const m of [int8, auto, all, float]) m.dispose();
  }, 120_000);

  it('meets a size budget with the best SQNR that fits', async () => {
    const float = loadModel(rts.one, regressionNet());
    const int8 = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration });
    const int4 = await quantizeModel(float, { scheme: 'int4', calibration });
    await int8.run(test[0]);
    await int4.run(test[0]);
    const maxBytes = Math.round((int8.weightBytes + int4.weightBytes) / 2);
    const auto = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration, autoBudget: { maxBytes } });
    expect(auto.weightBytes).toBeLessThanOrEqual(maxBytes);
    expect(auto.mix!.bytes).toBe(auto.weightBytes);
    expect(auto.choices!.some((c) => c.scheme !== 'int8')).toBe(true);
    // better than all-int4 at a smaller size than int8
    expect(await sqnr(float, auto, test)).toBeGreaterThan(await sqnr(float, int4, test));
    expect(auto.mix!.heldOut!.inputs).toBe(8);
    for (const m of [int8, int4, auto, float]) m.dispose();
  }, 120_000);

  it('uses top-1 only where the output is a classifier, and the user metric when given', async () => {
    const float = loadModel(rts.one, regressionNet(8));
    const calls: number[] = [];
    const metric = { name: 'first value within 0.05', score: (ref: Record<string, { data: Float32Array }>[], got: Record<string, { data: Float32Array }>[]) => (calls.push(ref.length), ref.filter((r, i) => Math.abs(r.y.data[0] - got[i].y.data[0]) < 0.05).length / ref.length) };
    // speed not weighed: int4 may be slower than int8 on this tiny net, and the metric must be called on mixes (auto-speed.test.ts has the speed rule)
    const cls = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration: calibration.slice(0, 8), autoCandidates: ['int4'], autoBudget: { maxSqnrDropDb: 1, maxSlowdown: null }, metric, classifier: true });
    expect(cls.mix!.search.int8.top1).toBeGreaterThan(0);
    expect(cls.mix!.search.int8.metric).toBeGreaterThanOrEqual(0);
    expect(calls.length).toBeGreaterThan(2);
    expect(cls.mix!.candidates).toEqual(['int8', 'int4']);
    const notCls = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration: calibration.slice(0, 8), autoCandidates: ['int4'], classifier: false });
    expect(notCls.mix!.search.int8.top1).toBeUndefined();
    // by default only an output a final Softmax makes is a classifier's: this net's y is not
    const byDefault = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration: calibration.slice(0, 8), autoCandidates: ['int4'] });
    expect(byDefault.mix!.search.int8.top1).toBeUndefined();
    for (const m of [cls, notCls, byDefault, float]) m.dispose();
  }, 120_000);

  it('bad budgets and options are ArgumentErrors naming the option', async () => {
    const float = loadModel(rts.one, regressionNet());
    const calib = calibration.slice(0, 3);
    const bad: [Partial<QuantizeOptions>, RegExp][] = [
      [{ autoBudget: { maxSqnrDropDb: -1 } }, /maxSqnrDropDb must be/],
      [{ autoBudget: { maxSqnrDropDb: NaN } }, /maxSqnrDropDb must be/],
      [{ autoBudget: { maxBytes: 0 } }, /maxBytes must be/],
      [{ autoBudget: { maxBytes: Infinity } }, /maxBytes must be/],
      [{ autoBudget: {} }, /needs maxSqnrDropDb or maxBytes/],
      [{ autoBudget: { maxDb: 1 } as never }, /unknown field\(s\) maxDb/],
      [{ autoBudget: 3 as never }, /autoBudget must be/],
      [{ autoCandidates: ['int3'] }, /autoCandidates: 'int3' is not a format/],
      [{ autoCandidates: [] }, /autoCandidates must be/],
      [{ holdOut: 1 }, /holdOut must be/],
      [{ sensitivityInputs: 0 }, /sensitivityInputs must be/],
      [{ classifier: 'yes' as never }, /classifier must be a boolean/],
      [{ metric: { name: 'm' } as never }, /metric must be/],
      // a size no mix of the candidates reaches
      [{ autoBudget: { maxBytes: 10 } }, /maxBytes 10 is below the smallest mix .* allow, \d+ bytes/],
    ];
    for (const [o, message] of bad) {
      const err = await quantizeModel(float, { scheme: 'auto', autoBaseline: 'all-int8', calibration: calib, ...o }).catch((e: unknown) => e);
      expect(err, JSON.stringify(o)).toBeInstanceOf(ArgumentError);
      expect((err as Error).message).toMatch(message);
    }
    float.dispose();
  }, 120_000);

  it('splits calibration inputs three ways (fit, search, held back) with no input in two parts, each part spanning an interleaved set', () => {
    const c = Array.from({ length: 68 }, (_, i) => ({ i }) as unknown as Feeds);
    const ids = (l: Feeds[]) => l.map((f) => (f as unknown as { i: number }).i);
    const { fit, search, heldOut, check } = splitCalibration(c, undefined, Infinity);
    expect([fit.length, search.length, heldOut.length]).toEqual([22, 23, 23]);
    expect(new Set([...ids(fit), ...ids(search), ...ids(heldOut)]).size).toBe(68);
    expect(ids(fitPart(c))).toEqual(ids(fit));
    expect(check).toEqual(heldOut);
    // inputs interleaved by source (the demo's lines cycle through 4 fonts; every 4th held back only one): every source in every part, 5 or 6 of its 17
    for (const period of [2, 3, 4, 5]) {
      for (const part of [fit, search, heldOut]) {
        const per = Array.from({ length: period }, (_, f) => ids(part).filter((i) => i % period === f).length);
        expect(Math.min(...per), `period ${period}`).toBeGreaterThanOrEqual(Math.floor(part.length / period) - 1);
      }
    }
    // the same split on every call; limits spread over the part
    expect(splitCalibration(c)).toEqual(splitCalibration(c));
    expect(ids(splitCalibration(c, undefined, 4).search)).toEqual([2, 8, 14, 20].map((j) => ids(search)[j]));
    expect(splitCalibration(c, undefined, 4).heldOut).toHaveLength(23); // the gate takes every held-back input
    expect(splitCalibration(c, undefined, 4).check).toHaveLength(4);
    // holdOut 0: no check, the search measures on everything; one input: no check; under 6 inputs: fit = search
    expect(splitCalibration(c, 0).heldOut).toEqual([]);
    expect(splitCalibration(c.slice(0, 1))).toEqual({ fit: c.slice(0, 1), search: c.slice(0, 1), heldOut: [], check: [] });
    const few = splitCalibration(c.slice(0, 5));
    expect(few.fit).toEqual(few.search);
    expect(few.heldOut).toHaveLength(2);
  });

  it('selectMix: the fewest bytes within a noise budget, the least noise within a byte budget', () => {
    // layer options: [int8, int4, float32] as { bytes, noise } (noise with that layer alone changed)
    const layers = [
      [{ bytes: 100, noise: 10 }, { bytes: 50, noise: 11 }, { bytes: 400, noise: 9 }], // int4 nearly free
      [{ bytes: 100, noise: 10 }, { bytes: 50, noise: 30 }, { bytes: 400, noise: 6 }], // int4 costly, float32 helps
    ];
    const base = { bytes: 200, noise: 10 };
    expect(selectMix(layers, base, { maxNoise: 10 })).toEqual([0, 0]);
    expect(selectMix(layers, base, { maxNoise: 11.5 })).toEqual([1, 0]);
    // float32 on layer 2 buys back noise for int4 on layer 1... but costs more bytes than all-int8: int8 there
    expect(predict(layers, [1, 0], base)).toEqual({ bytes: 150, noise: 11 });
    expect(selectMix(layers, base, { maxNoise: 100 })).toEqual([1, 1]);
    expect(selectMix(layers, base, { maxBytes: 150 })).toEqual([1, 0]);
    expect(selectMix(layers, base, { maxBytes: 500 })).toEqual([0, 2]);
    expect(selectMix(layers, base, { maxBytes: 460 })).toEqual([1, 2]);
    expect(selectMix(layers, base, { maxBytes: 99 })).toBeNull();
  });
});

// the compiled CLI (packages/cli/dist/, as test/cli.test.ts runs it), once (the baseline project)
const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

describe.skipIf(SIMD !== 'baseline')('lowbit quantize/compare: calibration inputs and the auto report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-automix-'));
  const model = join(dir, 'regression.onnx');
  writeFileSync(model, regressionNet());
  const calib = join(dir, 'calib.json');
  writeFileSync(calib, JSON.stringify(inputs(8, 5).map((f) => ({ dims: [...f.x.dims], data: Array.from(f.x.data as Float32Array) }))));

  it('refuses to calibrate on random noise without --calibrate-random, with a one-line message saying how to give real inputs', () => {
    for (const cmd of ['compare', 'quantize']) {
      let err: { status: number; stderr: string } | null = null;
      try {
        lowbit(cmd, model, '--scheme', 'int8', ...(cmd === 'quantize' ? ['--out', join(dir, 'q.safetensors')] : []), '--simd', 'baseline');
      } catch (e) {
        err = e as { status: number; stderr: string };
      }
      expect(err, cmd).not.toBeNull();
      expect(err!.status).toBe(2);
      const text = err!.stderr.trim();
      expect(text.split('\n')).toHaveLength(1);
      expect(text).toMatch(/refusing to calibrate on random noise: give real calibration inputs with --input x=file\.json .*or pass --calibrate-random/);
    }
    // with the flag it calibrates on random normals as before
    const ok = JSON.parse(lowbit('compare', model, '--scheme', 'int8', '--calibrate-random', '--calibrate', '2', '--simd', 'baseline', '--json'));
    expect(ok.layers.length).toBe(4);
  }, 120_000);

  it("quantize --scheme auto calibrates on every record of an --input file and reports the search's decisions", () => {
    const out = join(dir, 'auto.safetensors');
    const j = JSON.parse(lowbit('quantize', model, '--scheme', 'auto', '--input', `x=${calib}`, '--max-sqnr-drop', '2', '--candidates', 'int4,fp8', '--auto-baseline', 'all-int8', '--out', out, '--simd', 'baseline', '--json'));
    expect(j.mix.budget).toEqual({ maxSqnrDropDb: 2 });
    expect(j.mix.speed.maxSlowdown).toBe(0.05); // a dB budget weighs speed by default, by the cost table
    expect(j.mix.speed.from).toBe('shape');
    expect(j.mix.speed.int8Ms).toBeGreaterThan(0);
    expect(j.mix.candidates).toEqual(['int8', 'int4', 'fp8']);
    expect(j.mix.search.inputs).toBe(3); // 8 records: 3 held back, 3 searched on, 2 fit the candidates' weights
    expect(j.mix.heldOut.inputs).toBe(3);
    expect(j.choices).toHaveLength(4);
    for (const c of j.choices) {
      expect(c.why).toMatch(new RegExp(`^${c.scheme}: `));
      expect(c.trials.map((t: { scheme: string }) => t.scheme)).toEqual(['int8', 'int4', 'fp8']);
    }
    const text = lowbit('compare', model, '--scheme', 'auto', '--input', `x=${calib}`, '--max-mib', '0.15', '--auto-baseline', 'all-int8', '--simd', 'baseline');
    expect(text).toMatch(/auto: budget weights at most 0\.15 MiB; candidates int8, /);
    expect(text).toMatch(/held back, 3 calibration input\(s\) the search never measured: mix SQNR [\d.]+ dB/);
    expect(text).toMatch(/\nwhy:\n {2}Conv_0\S*: \w+: /);
    // --max-slowdown: a fraction, or off (speed not weighed); the text report says which
    const slow = lowbit('compare', model, '--scheme', 'auto', '--input', `x=${calib}`, '--max-slowdown', '0.5', '--candidates', 'int4', '--auto-baseline', 'all-int8', '--simd', 'baseline');
    expect(slow).toMatch(/auto: budget output SQNR \(against float32\) at most 1 dB below the int8 baseline's and at most 50% slower than the int8 baseline \(by the cost table\); /);
    expect(slow).toMatch(/searched layers' step times \(the cost table by GEMM shape\): [\d.]+ ms \(all-int8 [\d.]+ ms, x[\d.]+, allowed x1\.500\)/);
    const off = JSON.parse(lowbit('quantize', model, '--scheme', 'auto', '--input', `x=${calib}`, '--max-slowdown', 'off', '--candidates', 'int4', '--auto-baseline', 'all-int8', '--out', join(dir, 'off.safetensors'), '--simd', 'baseline', '--json'));
    expect(off.mix.budget).toEqual({ maxSqnrDropDb: 1, maxSlowdown: null });
    expect(off.mix.speed).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});
