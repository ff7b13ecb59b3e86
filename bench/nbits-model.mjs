// A MatMulNBits model as a user loads it: one LLaMA-7B-style decode block (q, k, v, o, gate, up,
// down; 4096 and 11008 wide, 4-bit blocks of 32) written as an ONNX file the way onnxruntime's
// 4-bit quantizer writes it, loaded by lowbit's loadModel (float32 model: the MatMulNBits layers
// run W4A32 on the file's blocks) and by onnxruntime-web, each in its own process. Reports the
// file size, the memory each process holds after load and after the first run (RSS and, for
// lowbit, the wasm heap), and the median decode time (M = 1) of the block.
//
//   node bench/nbits-model.mjs [--rounds 3] [--threads 1]      (dist/ must be built)

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { loadavg, machine } from './system.mjs';
import { median } from './timing.mjs';

const SELF = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;

async function modelBytes() {
  const { DECODE_BLOCK, DECODE_BLOCK_OUTPUTS, int4Of, nbitsBlockModel } = await import('./int4-lib.mjs');
  const { toMatMulNBits } = await import('../dist/index.js');
  return nbitsBlockModel(DECODE_BLOCK.map((l) => ({ ...l, mnb: toMatMulNBits(int4Of(l.k, l.n)) })), DECODE_BLOCK_OUTPUTS, 0);
}

async function child(engine, threads, runs) {
  const bytes = await modelBytes();
  const x = Float32Array.from({ length: 4096 }, (_, i) => Math.sin(i * 0.1));
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  let run, heap = () => 0;
  if (engine === 'lowbit') {
    const { createRuntime, loadModel } = await import('../dist/index.js');
    const rt = await createRuntime({ threads });
    const m = loadModel(rt, bytes);
    run = async () => (await m.run({ x: { type: 'float32', data: x, dims: [1, 4096] } })).down.data;
    heap = () => rt.memory.buffer.byteLength;
  } else {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = threads;
    const s = await ort.InferenceSession.create(bytes);
    run = async () => (await s.run({ x: new ort.Tensor('float32', x, [1, 4096]) })).down.data;
  }
  globalThis.gc?.();
  const afterLoad = process.memoryUsage().rss;
  const out = Array.from((await run()).subarray(0, 256));
  globalThis.gc?.();
  const afterRun = process.memoryUsage().rss;
  for (let i = 0; i < 2; i++) await run();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  return { file: bytes.length, rssLoad: afterLoad - rss0, rssRun: afterRun - rss0, heap: heap(), ms: median(ms), out };
}

if (process.argv[2] === '--child') {
  const [engine, threads, runs] = process.argv.slice(3);
  process.stdout.write(JSON.stringify(await child(engine, Number(threads), Number(runs))));
} else {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '1' }, runs: { type: 'string', default: '15' } } });
  const threads = Number(values.threads);
  const rows = { lowbit: [], 'onnxruntime-web': [] };
  const m = machine(), flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? [])];
  console.log(`# bench/nbits-model.mjs: ${m.model} (${flags.join(', ') || 'no VNNI'}), ${m.cores} cores; node ${process.version}; commit ${m.commit}; load ${loadavg()}`);
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const engine of Object.keys(rows)) {
      const p = spawnSync(process.execPath, ['--expose-gc', SELF, '--child', engine, String(threads), values.runs], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (p.status !== 0) throw new Error(`${engine}: ${p.stderr}`);
      rows[engine].push(JSON.parse(p.stdout));
    }
  }
  const file = rows.lowbit[0].file;
  console.log(`\none LLaMA-7B-style decode block as MatMulNBits (block 32, symmetric), file ${(file / MiB).toFixed(1)} MiB, M = 1, ${threads} thread(s), median over ${values.rounds} processes of the median of ${values.runs} runs\n`);
  console.log('| engine | ms per block | RSS after load | RSS after first run | wasm heap | RSS after run / file |');
  console.log('|---|---|---|---|---|---|');
  for (const [engine, rs] of Object.entries(rows)) {
    const m = (k) => median(rs.map((x) => x[k]));
    console.log(`| ${engine} | ${m('ms').toFixed(2)} | ${(m('rssLoad') / MiB).toFixed(0)} MiB | ${(m('rssRun') / MiB).toFixed(0)} MiB | ${engine === 'lowbit' ? `${(m('heap') / MiB).toFixed(0)} MiB` : '-'} | ${(m('rssRun') / file).toFixed(2)}x |`);
  }
  const [a, b] = [rows.lowbit[0].out, rows['onnxruntime-web'][0].out];
  const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / Math.max(...b.map(Math.abs));
  console.log(`\noutputs ('down', first 256): max |lowbit - onnxruntime-web| / max |onnxruntime-web| = ${diff.toExponential(2)}`);
  console.log(`\nload average at the end: ${loadavg()}`);
}
