// Float64 attention with the int8 layer's options (attention-shape.ts): the reference its tests and
// benches measure error against. Padded rows of a padded batch see the real keys, as the layer's do.

import { planAttention, type AttentionInt8Options } from './attention-shape.js';

export function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, options: AttentionInt8Options): Float64Array {
  const p = planAttention(q, k, v, { ...options, prune: undefined });
  const { heads, kvHeads, h, tokens } = p;
  const out = new Float64Array(tokens * heads * h), group = heads / kvHeads;
  const scale = options.scale ?? 1 / Math.sqrt(h);
  for (let b = 0; b < p.batch; b++) {
    const past = p.padded === null ? p.kvLen[b] - p.qLen[b] : 0;
    for (let n = 0; n < heads; n++) {
      const kh = Math.floor(n / group), base = p.kvBase(b, kh);
      for (let i = 0; i < p.qLen[b]; i++) {
        const row = p.qStart[b] + i, qo = row * heads * h + n * h;
        const hi = p.causal ? Math.min(past + i + 1, p.kvLen[b]) : p.kvLen[b];
        const s = new Float64Array(hi);
        let max = -Infinity;
        for (let t = 0; t < hi; t++) {
          let d = 0;
          for (let j = 0; j < h; j++) d += q[qo + j] * k[base + t * p.kvStride + j];
          s[t] = d * scale;
          if (s[t] > max) max = s[t];
        }
        let sum = 0;
        for (let t = 0; t < hi; t++) sum += s[t] = Math.exp(s[t] - max);
        const oo = row * heads * h + n * h;
        for (let t = 0; t < hi; t++) for (let j = 0; j < h; j++) out[oo + j] += (s[t] / sum) * v[base + t * p.kvStride + j];
      }
    }
  }
  return out;
}
