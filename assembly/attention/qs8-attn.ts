// int8 attention (the "qs8_attn" family): one (sequence, head) at a time, query rows one by one.
//   scores s_t = (q_i · k_t) * qScale[i]        int8 dots in int32, then float32 (qScale folds the
//                                               query row's scale, the key head's scale and 1/sqrt(h))
//   e_t = exp(s_t - max)  (0 for masked keys)   float32, util/act.ts's polynomial
//   p_t = nearest(e_t * 127)                    7 bits, so a relaxed dot can take p as its second operand
//   out = (Σ_t p_t v_t) * (vScale / (127 Σ e))  int32 sums, float32 out
// Rows of q, k, v are hp int8 values (hp a multiple of 16, zeros past the head size h). Keys are
// visited in groups of 4 (pointers may repeat at the tail); scores sit in float rows padded to a
// multiple of 4 with -inf, so the exp sum runs in 4 lanes with a lane assignment that does not depend
// on how many keys a row computed: a dense padded row and a ragged row give the same bits.
// Pruned rows (SPRINT) first score every visible key approximately with 4-bit q and k (k stored
// + 8 so a relaxed dot's second operand is in [0, 15], where every engine agrees), keep the keys
// within theta of the best approximate score, then run the exact path over the kept keys only.
// P·V takes 4 keys at a time: their 4 value rows interleaved byte by byte in registers (4 keys x 4
// outputs per vector), then one relaxed dot (or two int16 dots) per 4 outputs: no value layout of its
// own, so the kept keys of a pruned row (any rows) and a dense row's run the same code.

import { vexp } from '../util/act';

// int32 dots of the int16 row qs with 4 int8 key rows of hp values: (q·k0, q·k1, q·k2, q·k3)
@inline function dot4(qs: usize, hp: i32, k0: usize, k1: usize, k2: usize, k3: usize): v128 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  for (let j = 0; j < hp; j += 8) {
    const qv = v128.load(qs + (<usize>j << 1));
    a0 = i32x4.add(a0, i32x4.dot_i16x8_s(qv, v128.load8x8_s(k0 + <usize>j)));
    a1 = i32x4.add(a1, i32x4.dot_i16x8_s(qv, v128.load8x8_s(k1 + <usize>j)));
    a2 = i32x4.add(a2, i32x4.dot_i16x8_s(qv, v128.load8x8_s(k2 + <usize>j)));
    a3 = i32x4.add(a3, i32x4.dot_i16x8_s(qv, v128.load8x8_s(k3 + <usize>j)));
  }
  return reduce4(a0, a1, a2, a3);
}

// (Σ lanes of a0, … of a3)
@inline function reduce4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = i32x4.add(i32x4.shuffle(a0, a1, 0, 4, 1, 5), i32x4.shuffle(a0, a1, 2, 6, 3, 7));
  const s23 = i32x4.add(i32x4.shuffle(a2, a3, 0, 4, 1, 5), i32x4.shuffle(a2, a3, 2, 6, 3, 7));
  return i32x4.add(i32x4.shuffle(s01, s23, 0, 1, 4, 5), i32x4.shuffle(s01, s23, 2, 3, 6, 7));
}

// lanes t..t+3 at or past `valid` become -inf
@inline function maskFrom(f: v128, t: i32, valid: i32): v128 {
  const lane = i32x4.add(i32x4.splat(t), i32x4(0, 1, 2, 3));
  return v128.bitselect(f, f32x4.splat(-Infinity), i32x4.lt_s(lane, i32x4.splat(valid)));
}

// stages the int8 row q (hp values) as int16 into qs
function stageRow(q: usize, hp: i32, qs: usize): void {
  for (let j = 0; j < hp; j += 8) v128.store(qs + (<usize>j << 1), v128.load8x8_s(q + <usize>j));
}

// softmax of the float row sc (n4 values, a multiple of 4) into uint8 p = nearest(e * 127); returns Σ e
function softmaxToP(sc: usize, n4: i32, ps: usize): f32 {
  let vm = f32x4.splat(-Infinity);
  for (let t = 0; t < n4; t += 4) vm = f32x4.pmax(vm, v128.load(sc + (<usize>t << 2)));
  const m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  const vmax = f32x4.splat(m), ninf = f32x4.splat(-Infinity), k127 = f32x4.splat(127);
  let vs = f32x4.splat(0);
  for (let t = 0; t < n4; t += 4) {
    const x = v128.load(sc + (<usize>t << 2));
    const e = v128.and(vexp(f32x4.sub(x, vmax)), f32x4.gt(x, ninf));
    vs = f32x4.add(vs, e);
    const p = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(e, k127)));
    const p16 = i16x8.narrow_i32x4_s(p, p);
    v128.store32_lane(ps + <usize>t, i8x16.narrow_i16x8_u(p16, p16), 0);
  }
  return (f32x4.extract_lane(vs, 0) + f32x4.extract_lane(vs, 1)) + (f32x4.extract_lane(vs, 2) + f32x4.extract_lane(vs, 3));
}

// 4 value rows interleaved: (r0[j], r1[j], r2[j], r3[j]) for j in [j0 + 4c, j0 + 4c + 4) in vector c
@inline function interleave4(r0: v128, r1: v128, r2: v128, r3: v128, c: i32): v128 {
  const lo = c < 2;
  const a = lo ? i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23) : i8x16.shuffle(r0, r1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const b = lo ? i8x16.shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23) : i8x16.shuffle(r2, r3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  return (c & 1) == 0 ? i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11) : i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}

// acc + the 4-key dots of x (interleave4) with the 4 probabilities in every lane of p: relaxed, one
// vector of 4 outputs; baseline, two vectors of paired partial sums (outputs j, j, j+1, j+1 and j+2, …)
@inline function pvAccumulate(acc: v128, acc2: v128, x: v128, p: v128, p16: v128, second: bool): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return second ? acc2 : i32x4.relaxed_dot_i8x16_i7x16_add_s(x, p, acc);
  return second ? i32x4.add(acc2, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), p16)) : i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), p16));
}

// out[0..h) = (Σ_u p_u v[key u]) * c over n keys (p zero past n, up to a multiple of 4): key u is
// row u (idx 0) or row idx[u]
function weightedValues(ps: usize, n: i32, v: usize, hp: i32, h: i32, idx: usize, c: f32, out: usize): void {
  const vc = f32x4.splat(c), last = n - 1, hpu = <usize>hp;
  for (let j0 = 0; j0 < hp; j0 += 16) {
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
    for (let u = 0; u < n; u += 4) {
      let r0 = u, r1 = min(u + 1, last), r2 = min(u + 2, last), r3 = min(u + 3, last);
      if (idx) {
        r0 = load<i32>(idx + (<usize>r0 << 2));
        r1 = load<i32>(idx + (<usize>r1 << 2));
        r2 = load<i32>(idx + (<usize>r2 << 2));
        r3 = load<i32>(idx + (<usize>r3 << 2));
      }
      const off = <usize>j0;
      const x0 = v128.load(v + <usize>r0 * hpu + off), x1 = v128.load(v + <usize>r1 * hpu + off);
      const x2 = v128.load(v + <usize>r2 * hpu + off), x3 = v128.load(v + <usize>r3 * hpu + off);
      const p = v128.load32_splat(ps + <usize>u), p16 = i16x8.extend_low_i8x16_u(p);
      const c0 = interleave4(x0, x1, x2, x3, 0), c1 = interleave4(x0, x1, x2, x3, 1);
      const c2 = interleave4(x0, x1, x2, x3, 2), c3 = interleave4(x0, x1, x2, x3, 3);
      a0 = pvAccumulate(a0, b0, c0, p, p16, false); b0 = pvAccumulate(a0, b0, c0, p, p16, true);
      a1 = pvAccumulate(a1, b1, c1, p, p16, false); b1 = pvAccumulate(a1, b1, c1, p, p16, true);
      a2 = pvAccumulate(a2, b2, c2, p, p16, false); b2 = pvAccumulate(a2, b2, c2, p, p16, true);
      a3 = pvAccumulate(a3, b3, c3, p, p16, false); b3 = pvAccumulate(a3, b3, c3, p, p16, true);
    }
    if (!ASC_FEATURE_RELAXED_SIMD) {
      // pairs of partial sums into outputs
      a0 = i32x4.add(i32x4.shuffle(a0, b0, 0, 2, 4, 6), i32x4.shuffle(a0, b0, 1, 3, 5, 7));
      a1 = i32x4.add(i32x4.shuffle(a1, b1, 0, 2, 4, 6), i32x4.shuffle(a1, b1, 1, 3, 5, 7));
      a2 = i32x4.add(i32x4.shuffle(a2, b2, 0, 2, 4, 6), i32x4.shuffle(a2, b2, 1, 3, 5, 7));
      a3 = i32x4.add(i32x4.shuffle(a3, b3, 0, 2, 4, 6), i32x4.shuffle(a3, b3, 1, 3, 5, 7));
    }
    storeOut(out, j0, h, f32x4.mul(f32x4.convert_i32x4_s(a0), vc));
    storeOut(out, j0 + 4, h, f32x4.mul(f32x4.convert_i32x4_s(a1), vc));
    storeOut(out, j0 + 8, h, f32x4.mul(f32x4.convert_i32x4_s(a2), vc));
    storeOut(out, j0 + 12, h, f32x4.mul(f32x4.convert_i32x4_s(a3), vc));
  }
}

// out[j .. j + 4) = lanes of f, those below h
@inline function storeOut(out: usize, j: i32, h: i32, f: v128): void {
  const o = out + (<usize>j << 2);
  if (j + 4 <= h) v128.store(o, f);
  else for (let l = 0; l < 4 && j + l < h; l++) store<f32>(o + (<usize>l << 2), lane(f, l));
}

@inline function lane(v: v128, j: i32): f32 {
  return j == 0 ? f32x4.extract_lane(v, 0) : j == 1 ? f32x4.extract_lane(v, 1) : j == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

// exact scores of key rows (row u: u, or idx[u]) for u < n into sc (padded to 4 with -inf),
// lanes at or past `valid` -inf
function exactScores(qs: usize, hp: i32, k: usize, n: i32, valid: i32, idx: usize, qScale: f32, sc: usize): void {
  const vq = f32x4.splat(qScale), last = n - 1;
  for (let t = 0; t < n; t += 4) {
    let r0 = t, r1 = min(t + 1, last), r2 = min(t + 2, last), r3 = min(t + 3, last);
    if (idx) {
      r0 = load<i32>(idx + (<usize>r0 << 2));
      r1 = load<i32>(idx + (<usize>r1 << 2));
      r2 = load<i32>(idx + (<usize>r2 << 2));
      r3 = load<i32>(idx + (<usize>r3 << 2));
    }
    const hpu = <usize>hp;
    const d = dot4(qs, hp, k + <usize>r0 * hpu, k + <usize>r1 * hpu, k + <usize>r2 * hpu, k + <usize>r3 * hpu);
    v128.store(sc + (<usize>t << 2), maskFrom(f32x4.mul(f32x4.convert_i32x4_s(d), vq), t, valid));
  }
}

// Scratch bytes the rows below need for rows of up to tmax keys and hp values.
export function qs8_attn_scratch_bytes(tmax: i32, hp: i32): i32 {
  const t4 = (tmax + 7) & ~3;
  return t4 * 4 * 2 + t4 * 2 + t4 * 4 + hp * 2 + 64;
}

// m query rows of one (sequence, head). his[i]: keys [0, his[i]) are visible to row i. full: every
// row computes n keys (a dense padded batch; keys past his[i] masked), else row i computes his[i].
// out rows outStride bytes apart, h floats each.
export function qs8_attn_rows(m: i32, h: i32, hp: i32, q: usize, qScale: usize, k: usize, v: usize, n: i32, full: i32, his: usize, vScale: f32, tmax: i32, scratch: usize, out: usize, outStride: usize): void {
  const t4 = (tmax + 7) & ~3;
  const sc = scratch, ps = sc + (<usize>t4 << 3), qs = ps + (<usize>t4 << 1) + (<usize>t4 << 2);
  for (let i = 0; i < m; i++) {
    const valid = load<i32>(his + (<usize>i << 2));
    const cnt = full ? n : valid;
    const o = out + <usize>i * outStride;
    if (valid <= 0 || cnt <= 0) {
      memory.fill(o, 0, <usize>h << 2);
      continue;
    }
    stageRow(q + <usize>i * <usize>hp, hp, qs);
    exactScores(qs, hp, k, cnt, valid, 0, load<f32>(qScale + (<usize>i << 2)), sc);
    const n4 = (cnt + 3) & ~3;
    const s = softmaxToP(sc, n4, ps);
    weightedValues(ps, cnt, v, hp, h, 0, vScale / (s * <f32>127), o);
  }
}

// Pruned rows: row i scores keys [0, his[i]) with q4 (int8 in [-7, 7], q4Scale per row) and k4
// (stored k + 8), keeps those within theta of the best approximate score (topk 0) or those at or
// above the topk-th highest approximate score (topk > 0: ties at the boundary are all kept), then
// runs qs8_attn_rows's exact path over the kept keys only. kept[i] receives how many keys row i kept. Rows go in pairs
// through the approximate pass (each key row loaded once for two query rows).
export function qs8_attn_rows_pruned(m: i32, h: i32, hp: i32, q: usize, qScale: usize, q4: usize, q4Scale: usize, k: usize, k4: usize, v: usize, his: usize, theta: f32, topk: i32, vScale: f32, tmax: i32, scratch: usize, out: usize, outStride: usize, kept: usize): void {
  const t4 = (tmax + 7) & ~3;
  const sc0 = scratch, sc1 = scratch + (<usize>t4 << 2);
  const hpu = <usize>hp;
  for (let i = 0; i < m; i += 2) {
    const i1 = min(i + 1, m - 1);
    const va = load<i32>(his + (<usize>i << 2)), vb = i1 > i ? load<i32>(his + (<usize>i1 << 2)) : 0;
    const span = max(va, vb);
    const qa = q4 + <usize>i * hpu, qb = q4 + <usize>i1 * hpu;
    // approximate scores: Σ q4 (k4 + 8) - 8 Σ q4
    let suma = 0, sumb = 0;
    for (let j = 0; j < hp; j++) {
      suma += <i32>load<i8>(qa + <usize>j);
      sumb += <i32>load<i8>(qb + <usize>j);
    }
    const corra = i32x4.splat(suma << 3), corrb = i32x4.splat(sumb << 3);
    const sa = f32x4.splat(load<f32>(q4Scale + (<usize>i << 2))), sb = f32x4.splat(load<f32>(q4Scale + (<usize>i1 << 2)));
    const last = span - 1;
    let vma = f32x4.splat(-Infinity), vmb = f32x4.splat(-Infinity);
    for (let t = 0; t < span; t += 4) {
      const k0 = k4 + <usize>t * hpu, k1 = k4 + <usize>min(t + 1, last) * hpu, k2 = k4 + <usize>min(t + 2, last) * hpu, k3 = k4 + <usize>min(t + 3, last) * hpu;
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
      for (let j = 0; j < hp; j += 16) {
        const ju = <usize>j;
        const x = v128.load(qa + ju), y = v128.load(qb + ju);
        const c0 = v128.load(k0 + ju), c1 = v128.load(k1 + ju), c2 = v128.load(k2 + ju), c3 = v128.load(k3 + ju);
        a0 = approxAcc(a0, x, c0); a1 = approxAcc(a1, x, c1); a2 = approxAcc(a2, x, c2); a3 = approxAcc(a3, x, c3);
        b0 = approxAcc(b0, y, c0); b1 = approxAcc(b1, y, c1); b2 = approxAcc(b2, y, c2); b3 = approxAcc(b3, y, c3);
      }
      const fa = maskFrom(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(reduce4(widen(a0), widen(a1), widen(a2), widen(a3)), corra)), sa), t, va);
      const fb = maskFrom(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(reduce4(widen(b0), widen(b1), widen(b2), widen(b3)), corrb)), sb), t, vb);
      v128.store(sc0 + (<usize>t << 2), fa);
      v128.store(sc1 + (<usize>t << 2), fb);
      vma = f32x4.pmax(vma, fa);
      vmb = f32x4.pmax(vmb, fb);
    }
    keptRow(i, va, sc0, vma, h, hp, q, qScale, k, v, theta, topk, vScale, t4, scratch, out + <usize>i * outStride, kept);
    if (i1 > i) keptRow(i1, vb, sc1, vmb, h, hp, q, qScale, k, v, theta, topk, vScale, t4, scratch, out + <usize>i1 * outStride, kept);
  }
}

// acc + the products of 4-bit q and stored k: int32 lanes (relaxed dot) or int16 lanes (baseline:
// products of at most 105, hp <= 2048 keeps the sums below 2^15)
@inline function approxAcc(acc: v128, x: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(x, c, acc);
  return i16x8.add(acc, i16x8.add(i16x8.extmul_low_i8x16_s(x, c), i16x8.extmul_high_i8x16_s(x, c)));
}

@inline function widen(acc: v128): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? acc : i32x4.extadd_pairwise_i16x8_s(acc);
}

// one pruned row after its approximate scores (in sc, lanes past valid -inf; vm their lane maxima):
// the kept keys' indices, their exact scores (over sc), softmax and P·V over them
function keptRow(i: i32, valid: i32, sc: usize, vm: v128, h: i32, hp: i32, q: usize, qScale: usize, k: usize, v: usize, theta: f32, topk: i32, vScale: f32, t4: i32, scratch: usize, o: usize, kept: usize): void {
  if (valid <= 0) {
    memory.fill(o, 0, <usize>h << 2);
    store<i32>(kept + (<usize>i << 2), 0);
    return;
  }
  const ps = scratch + (<usize>t4 << 3), idx = ps + (<usize>t4 << 1), qs = idx + (<usize>t4 << 2);
  const best = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  // never -inf: the masked lanes are
  const thr = topk <= 0 ? max(best - theta, -F32.MAX_VALUE) : topk >= valid ? -F32.MAX_VALUE : kthLargest(sc, valid, topk, idx);
  // the kept keys' indices, 4 scores per compare (lanes past valid are -inf: never kept)
  let nk = 0;
  const vthr = f32x4.splat(thr);
  for (let t = 0; t < valid; t += 4) {
    let bits = i32x4.bitmask(f32x4.ge(v128.load(sc + (<usize>t << 2)), vthr));
    while (bits) {
      store<i32>(idx + (<usize>nk << 2), t + ctz(bits));
      nk++;
      bits &= bits - 1;
    }
  }
  store<i32>(kept + (<usize>i << 2), nk);
  stageRow(q + <usize>i * <usize>hp, hp, qs);
  exactScores(qs, hp, k, nk, nk, idx, load<f32>(qScale + (<usize>i << 2)), sc);
  const s = softmaxToP(sc, (nk + 3) & ~3, ps);
  weightedValues(ps, nk, v, hp, h, idx, vScale / (s * <f32>127), o);
}

// the k-th highest of n finite scores (1 <= k < n), selected in a copy at tmp (Hoare quickselect,
// middle pivot: the value does not depend on the order the partitions leave)
function kthLargest(sc: usize, n: i32, k: i32, tmp: usize): f32 {
  memory.copy(tmp, sc, <usize>n << 2);
  let lo = 0, hi = n - 1;
  const want = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = load<f32>(tmp + (<usize>((lo + hi) >>> 1) << 2));
    let a = lo, b = hi;
    while (a <= b) {
      while (load<f32>(tmp + (<usize>a << 2)) > pivot) a++;
      while (load<f32>(tmp + (<usize>b << 2)) < pivot) b--;
      if (a <= b) {
        const x = load<f32>(tmp + (<usize>a << 2));
        store<f32>(tmp + (<usize>a << 2), load<f32>(tmp + (<usize>b << 2)));
        store<f32>(tmp + (<usize>b << 2), x);
        a++;
        b--;
      }
    }
    if (want <= b) hi = b;
    else if (want >= a) lo = a;
    else break;
  }
  return load<f32>(tmp + (<usize>want << 2));
}

// absmax of m rows of h floats (xStride bytes apart) into out: one per row (perRow) or one in all
export function qs8_attn_absmax(m: i32, h: i32, x: usize, xStride: usize, perRow: i32, out: usize): void {
  let all = f32x4.splat(0);
  let alls: f32 = 0;
  for (let i = 0; i < m; i++) {
    const r = x + <usize>i * xStride;
    let a = f32x4.splat(0);
    let j = 0;
    for (; j + 4 <= h; j += 4) a = f32x4.max(a, f32x4.abs(v128.load(r + (<usize>j << 2))));
    let s = max(max(f32x4.extract_lane(a, 0), f32x4.extract_lane(a, 1)), max(f32x4.extract_lane(a, 2), f32x4.extract_lane(a, 3)));
    for (; j < h; j++) s = max(s, abs(load<f32>(r + (<usize>j << 2))));
    if (perRow) store<f32>(out + (<usize>i << 2), s);
    else alls = max(alls, s);
  }
  if (!perRow) store<f32>(out, alls);
}

// rows of hp int8 values: clamp(nearest(x / scale), -qmax, qmax) + offset for j < h, 0 past it;
// scale per row (perRow) or scales[0] for all
export function qs8_attn_quantize(m: i32, h: i32, hp: i32, x: usize, xStride: usize, scales: usize, perRow: i32, qmax: i32, offset: i32, out: usize): void {
  const lo = i32x4.splat(-qmax), hi = i32x4.splat(qmax), off = i32x4.splat(offset);
  for (let i = 0; i < m; i++) {
    const r = x + <usize>i * xStride, o = out + <usize>i * <usize>hp;
    const s = load<f32>(scales + (perRow ? <usize>i << 2 : 0));
    const vs = f32x4.splat(s);
    let j = 0;
    for (; j + 4 <= h; j += 4) {
      const qv = i32x4.add(i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.div(v128.load(r + (<usize>j << 2)), vs))), lo), hi), off);
      const w = i16x8.narrow_i32x4_s(qv, qv);
      store<i32>(o + <usize>j, i32x4.extract_lane(i8x16.narrow_i16x8_s(w, w), 0));
    }
    for (; j < h; j++) {
      const v = min(max(nearest(load<f32>(r + (<usize>j << 2)) / s), <f32>-qmax), <f32>qmax);
      store<i8>(o + <usize>j, <i8>(<i32>v + offset));
    }
    for (; j < hp; j++) store<i8>(o + <usize>j, 0);
  }
}
