// Decoding a ~100M-parameter Llama-style q4 model in the transformers.js layout (test/llm-model.mjs,
// BENCH_100M: seeded random weights, MatMulNBits 4-bit blocks of 32, written to /tmp, not committed):
// a 32-token prompt, then 64 decoded tokens (greedy), in lowbit's generate() and in onnxruntime-web
// driven as transformers.js drives it (past exactly as long as the sequence, present fed back), each
// engine in its own process, at 1 and 2 threads. Reports prompt time, decode tokens/s, peak RSS
// (VmHWM) against the file size, whether both picked the same tokens, and for lowbit the planning
// cost per step and the decode speed with the 'exact' cache (a new plan every step: the state before
// the shared cache) against the 'shared' one (one plan per 64-row chunk). lowbit loads the file two
// ways: 'lowbit' reads it whole (readFileSync, the bytes passed to loadModel), 'lowbit-source' passes
// a ModelSource (random access by readSync: the file is never whole in memory).
//
//   node bench/decode.mjs [--rounds 2] [--threads 1,2] [--engines lowbit,lowbit-source,onnxruntime-web] [--before DIST]
//   (dist/ must be built: npx tsc -p tsconfig.json; --before adds 'before' rows of lowbit loaded from another build's dist/index.js,
//   run interleaved with this build's, for before/after figures in the same conditions)

import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { loadavg, machine, packageVersion } from './system.mjs';
import { median } from './timing.mjs';

const SELF = fileURLToPath(import.meta.url);
const FILE = '/tmp/lowbit-decode-100m.onnx';
const MiB = 2 ** 20;
const PROMPT = 32, NEW = 64;

const status = (key) => Number(/\d+/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(key)))[0]) * 1024;
const promptIds = (vocab) => Array.from({ length: PROMPT }, (_, i) => (i * 2654435761 + 12345) % vocab);

async function lowbitChild(c, threads, load, dist) {
  const { createRuntime, loadModel, generate } = await import(dist ? pathToFileURL(dist).href : '../dist/index.js');
  const rt = await createRuntime({ threads });
  // 'bytes': the whole file read first (keepSource false and no reference kept here: the bytes can go
  // once no initializer views them); 'source': random access to the file, never read whole (ModelSource)
  const fd = load === 'source' ? openSync(FILE, 'r') : -1;
  const source = { size: statSync(FILE).size, read: (offset, length) => { const b = new Uint8Array(length); readSync(fd, b, 0, length, offset); return b; } };
  const model = loadModel(rt, load === 'source' ? source : readFileSync(FILE), { keepSource: false });
  globalThis.gc?.();
  const rssLoad = status('VmRSS:');
  const prompt = promptIds(c.vocab);
  let logits = [];
  const once = async (cache) => {
    logits = [];
    return generate(model, prompt, { maxNewTokens: NEW + 1, cache, onToken: (s) => (s.step === 0 || s.step === NEW) && logits.push(Array.from(s.logits)) });
  };
  await once('shared'); // warm: layers built, plans made
  const shared = await once('shared');
  // the peak of the default decode, before the experiments below (plans from scratch, the 'exact' cache) add theirs
  const peakDecode = status('VmHWM:');
  // planning one decode step's dims from scratch (what every step paid before the shared cache)
  const dims = (rows) => Object.fromEntries(model.graph.inputs.map((i) => [i.name, i.name === 'input_ids' ? [1, 1] : i.name === 'attention_mask' ? [1, rows + 1] : [1, c.kvHeads, rows, c.headSize]]));
  const planMs = [];
  for (let r = 0; r < 5; r++) {
    model.plans.clear();
    const t = performance.now();
    model.plan(dims(PROMPT + r));
    planMs.push(performance.now() - t);
  }
  const exact = await once('exact');
  return {
    prompt: shared.promptMs, decode: (NEW * 1000) / shared.decodeMs, exactDecode: (NEW * 1000) / exact.decodeMs, planMs: median(planMs),
    tokens: shared.tokens[0], logits, same: exact.tokens[0].every((t, i) => t === shared.tokens[0][i]), rssLoad, heap: rt.memory.buffer.byteLength, peakDecode,
  };
}

async function ortChild(c, threads) {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  const session = await ort.InferenceSession.create(readFileSync(FILE));
  globalThis.gc?.();
  const rssLoad = status('VmRSS:');
  const prompt = promptIds(c.vocab);
  let logits = [];
  const once = async () => {
    logits = [];
    let ids = prompt, past = {}, rows = 0, promptMs = 0, decodeMs = 0;
    for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, c.kvHeads, 0, c.headSize]);
    const tokens = [];
    for (let t = 0; t <= NEW; t++) {
      const s = ids.length;
      const feeds = { ...past, input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, s]), attention_mask: new ort.Tensor('int64', new BigInt64Array(rows + s).fill(1n), [1, rows + s]) };
      const t0 = performance.now();
      const o = await session.run(feeds);
      const ms = performance.now() - t0;
      if (t === 0) promptMs = ms;
      else decodeMs += ms;
      const row = o.logits.data, v = c.vocab, off = (s - 1) * v;
      let best = 0;
      for (let i = 1; i < v; i++) if (row[off + i] > row[off + best]) best = i;
      tokens.push(best);
      if (t === 0 || t === NEW) logits.push(Array.from(o.logits.data.subarray(off, off + v)));
      past = {};
      for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${kv}`] = o[`present.${l}.${kv}`];
      rows = o['present.0.key'].dims[2];
      ids = [best];
    }
    return { promptMs, decodeMs, tokens };
  };
  await once();
  const r = await once();
  return { prompt: r.promptMs, decode: (NEW * 1000) / r.decodeMs, tokens: r.tokens, logits, rssLoad, peakDecode: status('VmHWM:') };
}

if (process.argv[2] === '--child') {
  const [engine, threads, dist] = process.argv.slice(3);
  const { BENCH_100M } = await import('../test/llm-model.mjs');
  const rss0 = status('VmRSS:');
  const r = await (engine === 'onnxruntime-web' ? ortChild : lowbitChild)(BENCH_100M, Number(threads), engine.startsWith('lowbit-source') ? 'source' : 'bytes', dist);
  process.stdout.write(JSON.stringify({ ...r, rss0, peak: status('VmHWM:') }));
} else {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '1,2' }, engines: { type: 'string', default: 'lowbit,lowbit-source,onnxruntime-web' }, before: { type: 'string' } } });
  const { BENCH_100M, llmModel, parameterCount } = await import('../test/llm-model.mjs');
  if (!existsSync(FILE)) writeFileSync(FILE, llmModel(BENCH_100M));
  const file = statSync(FILE).size;
  const m = machine(), flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? [])];
  console.log(`# bench/decode.mjs: ${m.model} (${flags.join(', ') || 'no VNNI'}), ${m.cores} cores; node ${process.version}; onnxruntime-web ${packageVersion('onnxruntime-web')}; commit ${m.commit}; load ${loadavg()}`);
  const c = BENCH_100M;
  console.log(`\nmodel: ${(parameterCount(c) / 1e6).toFixed(1)}M parameters (${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads / ${c.kvHeads} kv heads of ${c.headSize}, ffn ${c.ffn}, vocab ${c.vocab}), file ${(file / MiB).toFixed(1)} MiB (${FILE}); ${PROMPT}-token prompt, then ${NEW} decoded tokens (greedy); median of ${values.rounds} processes per row\n`);
  console.log('| engine | threads | prompt ms | decode tokens/s | vs onnxruntime-web | RSS after load − start | peak RSS | peak RSS − node at start | (peak − start) / file | decode peak − start | (decode peak − start) / file |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  const extra = [];
  for (const threads of values.threads.split(',').map(Number)) {
    const rows = {};
    const engines = values.engines.split(',').flatMap((e) => (values.before && e.startsWith('lowbit') ? [e, `${e} (before)`] : [e]));
    // rounds interleave the engines: a change in the machine's load falls on all of them
    for (let r = 0; r < Number(values.rounds); r++) {
      for (const engine of engines) {
        const dist = engine.endsWith('(before)') ? [resolve(values.before)] : [];
        const p = spawnSync(process.execPath, ['--expose-gc', SELF, '--child', engine, String(threads), ...dist], { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (p.status !== 0) throw new Error(`${engine}: ${p.stderr}`);
        (rows[engine] ??= []).push(JSON.parse(p.stdout));
      }
    }
    const ortTps = rows['onnxruntime-web'] ? median(rows['onnxruntime-web'].map((x) => x.decode)) : NaN;
    for (const [engine, rs] of Object.entries(rows)) {
      const med = (k) => median(rs.map((x) => x[k]));
      console.log(`| ${engine} | ${threads} | ${med('prompt').toFixed(0)} | ${med('decode').toFixed(1)} | ${(med('decode') / ortTps).toFixed(2)}x | ${((med('rssLoad') - med('rss0')) / MiB).toFixed(0)} MiB | ${(med('peak') / MiB).toFixed(0)} MiB | ${((med('peak') - med('rss0')) / MiB).toFixed(0)} MiB | ${((med('peak') - med('rss0')) / file).toFixed(2)}x | ${((med('peakDecode') - med('rss0')) / MiB).toFixed(0)} MiB | ${((med('peakDecode') - med('rss0')) / file).toFixed(2)}x |`);
    }
    const lb = rows.lowbit ?? rows['lowbit-source'];
    const ortRun = rows['onnxruntime-web']?.[0];
    if (!lb || !ortRun) continue;
    const agree = lb[0].tokens.filter((t, i) => t === ortRun.tokens[i]).length;
    const rel = (a, b) => Math.max(...a.map((x, i) => Math.abs(x - b[i]))) / Math.max(...b.map(Math.abs));
    const distinct = new Set(lb[0].tokens).size;
    extra.push(`- ${threads} thread(s): lowbit planning one decode step from scratch ${median(lb.map((x) => x.planMs)).toFixed(1)} ms; decode with the 'exact' cache (a plan per step) ${median(lb.map((x) => x.exactDecode)).toFixed(1)} tokens/s vs 'shared' ${median(lb.map((x) => x.decode)).toFixed(1)} (same tokens: ${lb.every((x) => x.same)}); wasm heap ${(lb[0].heap / MiB).toFixed(0)} MiB; greedy tokens equal to onnxruntime-web's: ${agree}/${lb[0].tokens.length} (${distinct} distinct); logits max |diff| / max |onnxruntime-web| after the prompt ${rel(lb[0].logits[0], ortRun.logits[0]).toExponential(1)}, at the last step ${rel(lb[0].logits[1], ortRun.logits[1]).toExponential(1)}`);
  }
  console.log(`\n${extra.join('\n')}\n\nload average at the end: ${loadavg()}`);
}
