// quantizeModel's attention 'int8' in a decoder (src/model/attention-int8-ops.ts): the ~100M-parameter
// Llama-style q4 model of bench/decode.mjs (test/llm-model.mjs BENCH_100M, 14 GroupQueryAttention
// nodes, 12 heads / 4 kv heads of 64), its weights as the file has them (W4A32, layerScheme float32) in
// both variants, so only the attention differs: float32 attention vs int8 attention. Both models live
// in one process on one runtime and alternate in every round; each cell is the median over --rounds of
// the prompt run's CPU time and of the mean per-token CPU time of --new decoded tokens (greedy), at
// each prompt length. Also: how many greedy tokens agree, where they first differ and how near a tie
// float32's choice was there (seeded random weights give flat logits), and the last step's logits cosine.
//   npx tsc -p tsconfig.json && node bench/attention-model.mjs [--rounds 5] [--prompts 64,448] [--new 16] [--threads 1]
// Results: bench/RESULTS-attention.md.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRuntime, generate, loadModel, quantizeModel } from '../dist/index.js';
import { BENCH_100M, llmModel } from '../test/llm-model.mjs';
import { loadavg, machine } from './system.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, prompts: { type: 'string', default: '64,448' }, new: { type: 'string', default: '16' }, threads: { type: 'string', default: '1' } } });
const c = BENCH_100M, FILE = '/tmp/lowbit-decode-100m.onnx', NEW = Number(values.new);
if (!existsSync(FILE)) writeFileSync(FILE, llmModel(c));
const bytes = readFileSync(FILE);
const rt = await createRuntime({ threads: Number(values.threads) });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ids = (n, seed) => Array.from({ length: n }, (_, i) => (i * 2654435761 + seed * 977 + 12345) % c.vocab);
const promptFeeds = (p) => {
  const f = { input_ids: { type: 'int64', dims: [1, p.length], data: p }, attention_mask: { type: 'int64', dims: [1, p.length], data: p.map(() => 1) } };
  for (let l = 0; l < c.layers; l++) for (const kv of ['key', 'value']) f[`past_key_values.${l}.${kv}`] = { type: 'float32', dims: [1, c.kvHeads, 0, c.headSize], data: new Float32Array(0) };
  return f;
};

const float = loadModel(rt, bytes);
const int8 = await quantizeModel(loadModel(rt, bytes), { scheme: 'int8', attention: 'int8', layerScheme: () => 'float32', calibration: [promptFeeds(ids(64, 1)), promptFeeds(ids(256, 2))] });

/** one greedy generation: prompt CPU ms, mean per-token CPU ms, tokens, last logits */
async function once(model, prompt) {
  let t = cpuMs(), promptMs = 0;
  const steps = [];
  let last = null;
  const margins = [];
  const r = await generate(model, prompt, {
    maxNewTokens: NEW + 1,
    onToken: (s) => {
      const now = cpuMs();
      if (s.step === 0) promptMs = now - t;
      else steps.push(now - t);
      t = now;
      last = Float32Array.from(s.logits);
      // top-1 minus top-2 logit: how near a tie this step's greedy choice was
      let a = -Infinity, b = -Infinity;
      for (const x of s.logits) if (x > a) [a, b] = [x, a]; else if (x > b) b = x;
      margins.push(a - b);
    },
  });
  return { promptMs, tokenMs: steps.reduce((a, b) => a + b, 0) / steps.length, tokens: r.tokens[0], last, margins };
}

const m = machine(), flags = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? [])];
console.log(`# bench/attention-model.mjs: ${m.model} (${flags.join(', ') || 'no VNNI'}), ${m.cores} cores; node ${process.version}; ${rt.features.simd} build; threads ${values.threads}; commit ${m.commit}; load ${loadavg()}`);
console.log(`\nBENCH_100M (${c.layers} GroupQueryAttention layers, ${c.heads} heads / ${c.kvHeads} kv heads of ${c.headSize}), weights W4A32 in both; ${NEW} decoded tokens; median of ${values.rounds} rounds (variants alternate), CPU ms\n`);
console.log('| prompt | float32 attn: prompt ms | int8 attn: prompt ms | ratio | float32 attn: ms/token | int8 attn: ms/token | ratio | greedy tokens equal | first different step: float32 top-1 − top-2 logit there | last logits cosine |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const P of values.prompts.split(',').map(Number)) {
  const prompt = ids(P, 7);
  await once(float, prompt);
  await once(int8, prompt); // warm: plans, layers
  const f = [], q = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    f.push(await once(float, prompt));
    q.push(await once(int8, prompt));
  }
  const med = (xs, k) => median(xs.map((x) => x[k]));
  const same = f[0].tokens.filter((t, i) => t === q[0].tokens[i]).length;
  const split = f[0].tokens.findIndex((t, i) => t !== q[0].tokens[i]);
  const where = split < 0 ? 'none' : `step ${split}: ${f[0].margins[split].toFixed(3)}`;
  let dot = 0, aa = 0, bb = 0;
  f[0].last.forEach((x, i) => { dot += x * q[0].last[i]; aa += x * x; bb += q[0].last[i] ** 2; });
  const pr = median(f.map((x, i) => q[i].promptMs / x.promptMs)), tr = median(f.map((x, i) => q[i].tokenMs / x.tokenMs));
  console.log(`| ${P} | ${med(f, 'promptMs').toFixed(0)} | ${med(q, 'promptMs').toFixed(0)} | ${pr.toFixed(2)}x | ${med(f, 'tokenMs').toFixed(1)} | ${med(q, 'tokenMs').toFixed(1)} | ${tr.toFixed(2)}x | ${same} of ${f[0].tokens.length} | ${where} | ${(dot / Math.sqrt(aa * bb)).toFixed(5)} |`);
}
console.log(`\nload after: ${loadavg()}; int8 attention nodes that fell back to float: ${[...int8.attentionInt8.ops.values()].filter((o) => o.floatWhy).length}`);
