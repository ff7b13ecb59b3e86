// `lowbit demo`: builds a real-sized INT8 linear layer from seeded float32 weights, runs it beside
// its float32 reference, and prints the error and the speed of each quantization scheme.

import { createRuntime, type RuntimeOptions } from '../runtime/runtime.js';
import type { SimdChoice } from '../runtime/features.js';
import type { ActivationScheme } from '../layers/linear.js';
import { mulberry32, normalFloats } from '../util/random.js';

export interface DemoOptions {
  m: number;
  k: number;
  n: number;
  threads: number;
  simd: SimdChoice;
  runs: number;
  json: boolean;
}

export interface DemoRow {
  scheme: string;
  kernel: string;
  sqnrDb: number;
  cosine: number;
  maxAbs: number;
  int8Ms: number;
  f32Ms: number;
  speedup: number;
}

async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

export async function runDemo(o: DemoOptions, log: (s: string) => void = console.log): Promise<DemoRow[]> {
  const rtOptions: RuntimeOptions = { simd: o.simd, threads: o.threads };
  const rt = await createRuntime(rtOptions);
  try {
    const rand = mulberry32(2024);
    const gen = (n: number, scale: number) => normalFloats(rand, n, scale);
    // BERT-like layer: weights ~ N(0, 0.02) with a few larger ones, activations ~ N(0, 1)
    const weight = gen(o.k * o.n, 0.02);
    for (let i = 0; i < weight.length; i += 997) weight[i] *= 6;
    const bias = gen(o.n, 0.05);
    const x = gen(o.m * o.k, 1);
    const calibration = gen(32 * o.k, 1);
    if (!o.json) {
      log(`lowbit demo: INT8 linear layer ${o.m}x${o.k} · ${o.k}x${o.n} (+bias), ${rt.features.threads} thread(s)`);
      log(`build: ${rt.features.simd} SIMD (${rt.features.reason}); ${rt.features.engine}`);
      log('');
    }
    const schemes: [string, { weightBits: 8 | 7; activations: ActivationScheme }][] = [
      ['int8 w / dynamic per-tensor u8 act', { weightBits: 8, activations: 'dynamic-per-tensor' }],
      ['int8 w / dynamic per-row s8 act', { weightBits: 8, activations: 'dynamic-per-row' }],
      ['int8 w / static calibrated u8 act', { weightBits: 8, activations: 'static' }],
      ['int7 w / dynamic per-row s8 act', { weightBits: 7, activations: 'dynamic-per-row' }],
    ];
    const rows: DemoRow[] = [];
    for (const [name, opts] of schemes) {
      const layer = await rt.linear(weight, [o.k, o.n], bias, { ...opts, calibration });
      const { error } = await layer.compare(x);
      const int8Ms = await median(o.runs, () => layer.forward(x));
      const f32Ms = await median(o.runs, () => layer.forwardFloat(x));
      rows.push({ scheme: name, kernel: layer.kernelLayout, sqnrDb: error.sqnrDb, cosine: error.cosine, maxAbs: error.maxAbs, int8Ms, f32Ms, speedup: f32Ms / int8Ms });
      layer.dispose();
    }
    if (o.json) {
      log(JSON.stringify({ features: rt.features, shape: { m: o.m, k: o.k, n: o.n }, rows }, null, 2));
    } else {
      const header = ['scheme', 'kernel', 'SQNR dB', 'cosine', 'max |err|', 'int8 ms', 'f32 ms', 'speed-up'];
      const body = rows.map((r) => [
        r.scheme, r.kernel, r.sqnrDb.toFixed(2), r.cosine.toFixed(6), r.maxAbs.toExponential(2), r.int8Ms.toFixed(3), r.f32Ms.toFixed(3), `${r.speedup.toFixed(2)}x`,
      ]);
      const width = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
      log(line(header));
      log(width.map((w) => '-'.repeat(w)).join('  '));
      for (const b of body) log(line(b));
      log('');
      log(`error: quantized output vs the float32 layer on the same input; time: median of ${o.runs} runs of forward(), including activation quantization`);
    }
    return rows;
  } finally {
    rt.dispose();
  }
}
