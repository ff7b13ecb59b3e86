// `lowbit demo`: builds a real-sized linear layer from seeded float32 weights in INT8 and 4-bit
// schemes, runs each beside its float32 reference, and prints the error, size and speed of each.

import { createRuntime, mulberry32, normalFloats, type LinearOptions, type RuntimeOptions, type SimdChoice } from 'lowbit';

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
  /** packed weight bytes, MiB */
  weightMB: number;
  sqnrDb: number;
  cosine: number;
  maxAbs: number;
  quantMs: number;
  f32Ms: number;
  speedup: number;
}

/**
 * Medians of `runs` timings of a and b, measured alternately so that a slow spell of the machine
 * (common on shared VMs) hits both alike and their ratio stays meaningful.
 */
async function medianPair(runs: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  }
  const med = (t: number[]) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)];
  return [med(ta), med(tb)];
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
      log(`lowbit demo: quantized linear layer ${o.m}x${o.k} · ${o.k}x${o.n} (+bias), ${rt.features.threads} thread(s)`);
      log(`build: ${rt.features.simd} SIMD (${rt.features.reason}); ${rt.features.engine}`);
      log('');
    }
    const schemes: [string, LinearOptions][] = [
      ['int8 w / dynamic per-tensor u8 act', { weightBits: 8, activations: 'dynamic-per-tensor' }],
      ['int8 w / dynamic per-row s8 act', { weightBits: 8, activations: 'dynamic-per-row' }],
      ['int8 w / static calibrated u8 act', { weightBits: 8, activations: 'static' }],
      ['int7 w / dynamic per-row s8 act', { weightBits: 7, activations: 'dynamic-per-row' }],
      ['int4 w (block 32) / per-block s8 act', { dtype: 'int4', blockSize: 32, activations: 'per-block' }],
      ['int4 w (block 128) / per-block s8 act', { dtype: 'int4', blockSize: 128, activations: 'per-block' }],
    ];
    const rows: DemoRow[] = [];
    for (const [name, opts] of schemes) {
      // int8's static activations calibrate on sample rows; the demo compares with float32, so it keeps the reference
      const layer = await rt.linear(weight, [o.k, o.n], bias, { ...opts, reference: true, ...(opts.activations === 'static' && { calibration }) });
      const { error } = await layer.compare(x);
      const [quantMs, f32Ms] = await medianPair(o.runs, () => layer.forward(x), () => layer.forwardFloat(x));
      rows.push({ scheme: name, kernel: layer.kernelLayout, weightMB: layer.weightBytes / 2 ** 20, sqnrDb: error.sqnrDb, cosine: error.cosine, maxAbs: error.maxAbs, quantMs, f32Ms, speedup: f32Ms / quantMs });
      layer.dispose();
    }
    if (o.json) {
      log(JSON.stringify({ features: rt.features, shape: { m: o.m, k: o.k, n: o.n }, rows }, null, 2));
    } else {
      const header = ['scheme', 'kernel', 'weights MiB', 'SQNR dB', 'cosine', 'max |err|', 'quant ms', 'f32 ms', 'speed-up'];
      const body = rows.map((r) => [
        r.scheme, r.kernel, r.weightMB.toFixed(2), r.sqnrDb.toFixed(2), r.cosine.toFixed(6), r.maxAbs.toExponential(2), r.quantMs.toFixed(3), r.f32Ms.toFixed(3), `${r.speedup.toFixed(2)}x`,
      ]);
      const width = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
      log(line(header));
      log(width.map((w) => '-'.repeat(w)).join('  '));
      for (const b of body) log(line(b));
      log('');
      log(`float32 weights: ${((o.k * o.n * 4) / 2 ** 20).toFixed(2)} MiB. Error: quantized output vs the float32 layer on the same input;`);
      log(`time: median of ${o.runs} runs of forward(), activation quantization included, alternating with the float32 layer.`);
    }
    return rows;
  } finally {
    rt.dispose();
  }
}
