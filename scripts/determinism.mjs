#!/usr/bin/env node
// Same bits on every CPU (DESIGN.md section 3): runs every kernel family on fixed seeds at small
// shapes, on each build the engine can run, and prints one digest (sha256 prefix) per kernel case.
// Plain Node ESM, no test runner and no native packages, so it also runs on an emulated arm64 Node
// (../shared/tools/arm64-node/node.sh). scripts/check-determinism.sh runs it on x64 and arm64 with
// several flag sets and compares the digests with --compare.
//
//   node scripts/determinism.mjs [--threads N] [--builds baseline,relaxed] [--check]
//   node --experimental-wasm-relaxed-simd --no-liftoff scripts/determinism.mjs     (Node 20: relaxed too)
//   node scripts/determinism.mjs --compare [--expect LABEL:BUILD ...] LABEL=FILE ...
//
// Output: '#' comment lines (engine, flags, which builds ran and why), then one line per case,
// sorted by case name, build, layout:
//
//   <build> <layout> <case name ...> <digest>
//
// build is 'baseline', 'relaxed' or 'ref' (scalar JS reference of the definition, computed once per
// process). layout is the qs8 weight layout ('c2', 'c4') or '-'. A case name means the same result
// everywhere: integer kernels, the q8 conversions and the qs8 float32 epilogue carry the same name
// on both builds (they must agree bit for bit with each other and with 'ref'), while the float32
// GEMMs of the relaxed build (f32x4.relaxed_madd, fused) are named '*.relaxed' and only have to agree
// across CPUs and runs. So the rule --compare checks is simply: one case name, one digest.
//
// --check compares the lines of this run the same way and exits 1 on a difference.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);

function takeOption(name) {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`${name} needs a value`);
  args.splice(i, 2);
  return v;
}

function fail(message) {
  console.error(`determinism: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// comparing digest files (--compare) and the lines of one run (--check)

function parseLines(text, label) {
  const rows = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const t = line.split(/\s+/);
    if (t.length < 4 || !/^[0-9a-f]{16,64}$/.test(t[t.length - 1])) throw new Error(`${label}: cannot parse line: ${line}`);
    rows.push({ label, build: t[0], layout: t[1], name: t.slice(2, -1).join(' '), digest: t[t.length - 1] });
  }
  return rows;
}

/**
 * runs: [{ label, rows }]. Returns the number of problems found (printed as it goes):
 * a case name with more than one digest, or a build whose case list differs between runs.
 */
function compareRuns(runs, expect = []) {
  let problems = 0;
  const byName = new Map();
  for (const { rows } of runs) {
    for (const r of rows) {
      if (!byName.has(r.name)) byName.set(r.name, []);
      byName.get(r.name).push(r);
    }
  }

  // coverage: every run that ran a build must have produced the same cases for it
  const casesOf = new Map(); // build -> label -> Set(name)
  for (const { label, rows } of runs) {
    for (const r of rows) {
      if (!casesOf.has(r.build)) casesOf.set(r.build, new Map());
      const m = casesOf.get(r.build);
      if (!m.has(label)) m.set(label, new Set());
      m.get(label).add(r.name);
    }
  }
  for (const [build, perLabel] of casesOf) {
    const all = new Set();
    for (const s of perLabel.values()) for (const n of s) all.add(n);
    for (const [label, s] of perLabel) {
      const missing = [...all].filter((n) => !s.has(n));
      if (missing.length) {
        problems++;
        console.log(`MISSING  ${label}: build ${build} lacks ${missing.length} case(s) others have, e.g. '${missing[0]}'`);
      }
    }
  }
  for (const e of expect) {
    const [label, build] = e.split(':');
    if (!runs.some((r) => r.label === label)) {
      problems++;
      console.log(`EXPECT   no run labelled '${label}'`);
    } else if (!casesOf.get(build)?.has(label)) {
      problems++;
      console.log(`EXPECT   run '${label}' was expected to run the ${build} build, but it did not (see its '#' lines)`);
    }
  }

  let compared = 0;
  let mismatched = 0;
  for (const name of [...byName.keys()].sort()) {
    const rows = byName.get(name);
    compared += rows.length;
    const digests = new Map();
    for (const r of rows) {
      if (!digests.has(r.digest)) digests.set(r.digest, []);
      digests.get(r.digest).push(`${r.label}/${r.build}${r.layout === '-' ? '' : '/' + r.layout}`);
    }
    if (digests.size > 1) {
      mismatched++;
      problems++;
      console.log(`DIFFERS  ${name}`);
      for (const [d, who] of digests) console.log(`           ${d}  ${who.join(' ')}`);
    }
  }
  const builds = [...casesOf.keys()].join(', ');
  console.log(
    `${mismatched ? 'FAIL' : 'OK  '}     ${byName.size} cases, ${compared} digests from ${runs.length} run(s) (builds: ${builds}); ` +
      `${mismatched} case(s) with differing digests`,
  );
  return problems;
}

if (args.includes('--compare')) {
  args.splice(args.indexOf('--compare'), 1);
  const expect = [];
  for (let e; (e = takeOption('--expect')) !== undefined; ) expect.push(...e.split(','));
  const runs = args.map((a) => {
    const eq = a.indexOf('=');
    if (eq <= 0) fail(`--compare takes LABEL=FILE arguments, got '${a}'`);
    const label = a.slice(0, eq);
    const file = a.slice(eq + 1);
    return { label, rows: parseLines(readFileSync(file, 'utf8'), label) };
  });
  if (!runs.length) fail('--compare needs at least one LABEL=FILE');
  for (const { label, rows } of runs) {
    const builds = [...new Set(rows.map((r) => r.build))].join(', ');
    console.log(`run      ${label.padEnd(24)} ${String(rows.length).padStart(5)} digests  builds: ${builds}`);
  }
  process.exit(compareRuns(runs, expect) ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// running the kernels

const threads = Number(takeOption('--threads') ?? 1);
if (!Number.isInteger(threads) || threads < 1) fail('--threads needs a positive integer');
const buildList = (takeOption('--builds') ?? 'baseline,relaxed').split(',');
const check = args.includes('--check');
if (check) args.splice(args.indexOf('--check'), 1);
if (args.length) fail(`unknown arguments: ${args.join(' ')}`);

const distIndex = fileURLToPath(new URL('../dist/index.js', import.meta.url));
if (!existsSync(distIndex)) fail(`${distIndex} is missing: run 'npm run build' first`);
const lb = await import('../dist/index.js');

const t0 = Date.now();

// mulberry32: a small seeded PRNG with integer-only state (same numbers on every engine and CPU)
function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

// every data set is seeded from its own name, so adding or removing a case changes no other case
function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

class Rng {
  constructor(name) {
    this.next = mulberry32(fnv1a(name));
  }
  /** integer in [lo, hi] */
  int(lo, hi) {
    return lo + (this.next() % (hi - lo + 1));
  }
  /** float32 in [lo, hi) */
  float(lo, hi) {
    return Math.fround(lo + (this.next() / 4294967296) * (hi - lo));
  }
  ints(Ctor, len, lo, hi) {
    const out = new Ctor(len);
    for (let i = 0; i < len; i++) out[i] = this.int(lo, hi);
    return out;
  }
  floats(len, lo, hi) {
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) out[i] = this.float(lo, hi);
    return out;
  }
  /** float32 over many binades, subnormals and signed zeros included (finite; products stay finite) */
  wideFloats(len) {
    const out = new Float32Array(len);
    for (let i = 0; i < len; i++) {
      const r = this.int(0, 63);
      if (r === 0) out[i] = 0;
      else if (r === 1) out[i] = -0;
      else out[i] = Math.fround((this.next() & 1 ? -1 : 1) * (1 + this.next() / 4294967296) * 2 ** this.int(-140, 40));
    }
    return out;
  }
}

function digest(...parts) {
  const h = createHash('sha256');
  for (const p of parts) {
    if (ArrayBuffer.isView(p)) {
      h.update(p.constructor.name);
      h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    } else {
      h.update(JSON.stringify(p));
    }
  }
  return h.digest('hex').slice(0, 16);
}

function tensorDigest(t) {
  return digest(t.type, t.dims, t.data);
}

const lines = [];
function emit(build, layout, name, d) {
  lines.push({ build, layout, name, digest: d });
}

// ---------------------------------------------------------------------------------------------
// scalar references (the definitions, in float32 where the kernels work in float32)

const f = Math.fround;

/** baseline f32 GEMM: acc = 0; acc = acc + a*w for k in order; then + bias; then clamp (pmax/pmin) */
function refF32(a, w, m, k, n, bias = null, lo = -Infinity, hi = Infinity) {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s = f(s + f(a[i * k + t] * w[t * n + j]));
      let v = f(s + (bias ? bias[j] : 0));
      v = v < lo ? lo : v; // pmax(v, lo)
      v = hi < v ? hi : v; // pmin(v, hi)
      out[i * n + j] = v;
    }
  }
  return out;
}

function refQuantize(x, scale, zp, signed) {
  const [qmin, qmax] = signed ? [-128, 127] : [0, 255];
  let v = f(x / scale);
  if (Number.isNaN(v)) return zp;
  v = Math.max(qmin - zp, Math.min(qmax - zp, v));
  return roundHalfEven(v) + zp;
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x [outer, channels, inner] per-channel quantize */
function refQuantizeAxis(x, outer, channels, inner, scales, zps, signed) {
  const y = signed ? new Int8Array(x.length) : new Uint8Array(x.length);
  let i = 0;
  for (let o = 0; o < outer; o++) for (let c = 0; c < channels; c++) for (let t = 0; t < inner; t++, i++) y[i] = refQuantize(x[i], scales[c], zps[c], signed);
  return y;
}

function refDequantizeAxis(x, outer, channels, inner, scales, zps) {
  const y = new Float32Array(x.length);
  let i = 0;
  for (let o = 0; o < outer; o++) for (let c = 0; c < channels; c++) for (let t = 0; t < inner; t++, i++) y[i] = f((x[i] - zps[c]) * scales[c]);
  return y;
}

// ---------------------------------------------------------------------------------------------
// the cases

// GEMV (m = 1) and GEMM shapes with remainders in every direction (MR = 4, NR = 8, k-groups 2 and 4);
// n = 130 lets a 2-thread run split the columns of a GEMV too (a thread takes at least 64 of them)
const SHAPES = [
  [1, 1, 1], [1, 7, 9], [1, 37, 29], [1, 37, 130],
  [3, 7, 9], [5, 1, 29], [5, 37, 1], [13, 37, 29], [13, 7, 130],
];

// weight sets: type and value range; every column holds both ends of its range when k >= 2
const WEIGHTS = [
  { id: 's8', Ctor: Int8Array, lo: -128, hi: 127 }, //  full-range int8: c2 layout on every build
  { id: 's7', Ctor: Int8Array, lo: -63, hi: 63 }, //    7-bit: c4 layout on the relaxed build
  { id: 'u8', Ctor: Uint8Array, lo: 0, hi: 255 }, //    full-range uint8: c2
  { id: 'u7', Ctor: Uint8Array, lo: 70, hi: 197 }, //   uint8 spanning 127: c4 with a per-column offset
];
const ACTIVATIONS = [
  { id: 's8', Ctor: Int8Array, lo: -128, hi: 127 },
  { id: 'u8', Ctor: Uint8Array, lo: 0, hi: 255 },
];

/** qs8 data for one (shape, weights, activations, zero-point mode); the same on every build */
function qs8Data(m, k, n, W, A, zbMode) {
  const r = new Rng(`qs8 m=${m} k=${k} n=${n} w=${W.id} a=${A.id} zb=${zbMode}`);
  const b = r.ints(W.Ctor, k * n, W.lo, W.hi);
  if (k >= 2) {
    for (let j = 0; j < n; j++) {
      b[j] = j & 1 ? W.hi : W.lo;
      b[(k - 1) * n + j] = j & 1 ? W.lo : W.hi;
    }
  }
  const a = r.ints(A.Ctor, m * k, A.lo, A.hi);
  const za = r.int(A.lo, A.hi);
  const zb = new Int32Array(n);
  if (zbMode === 'col') for (let j = 0; j < n; j++) zb[j] = r.int(W.lo, W.hi);
  // requantization: a multiplier giving outputs of roughly +-60 (some saturate); every 4th column
  // an exact power of two, so that ties (x.5) happen and round half to even is exercised
  const target = 60 / (Math.sqrt(k) * 6000);
  const mult = new Float32Array(n);
  for (let j = 0; j < n; j++) mult[j] = j % 4 === 0 ? 2 ** Math.round(Math.log2(target)) : r.float(0.5 * target, 1.5 * target);
  const zpU8 = r.int(100, 156);
  const zpI8 = r.int(-20, 20);
  const colScale = r.floats(n, 1e-4, 2e-3);
  const rowScale = r.floats(m, 0.5, 2);
  const bias = r.floats(n, -1, 1);
  const outputs = [
    { id: 'int32', out: { kind: 'int32' } },
    { id: `uint8 zp=${zpU8}`, out: { kind: 'uint8', multiplier: mult, zeroPoint: zpU8 } },
    { id: `int8 zp=${zpI8}`, out: { kind: 'int8', multiplier: mult, zeroPoint: zpI8 } },
    { id: 'float32', out: { kind: 'float32', colScale } },
    { id: 'float32 row+bias+relu', out: { kind: 'float32', colScale, rowScale, bias, relu: true } },
  ];
  return { a, b, za, zb, outputs };
}

function* qs8Cases() {
  for (const [m, k, n] of SHAPES) {
    for (const W of WEIGHTS) {
      for (const A of ACTIVATIONS) {
        for (const zbMode of ['0', 'col']) {
          const name = `qs8_gemm m=${m} k=${k} n=${n} a=${A.id} w=${W.id} zb=${zbMode}`;
          yield { name, m, k, n, ...qs8Data(m, k, n, W, A, zbMode) };
        }
      }
    }
  }
}

function refQs8(c, out) {
  const acc = lb.refMatMulInteger(c.a, c.b, c.m, c.k, c.n, c.za, c.zb);
  switch (out.kind) {
    case 'int32':
      return acc;
    case 'uint8':
    case 'int8':
      return lb.refRequantize(acc, c.m, c.n, out.multiplier, out.zeroPoint, out.kind === 'int8');
    case 'float32':
      return lb.refDequantizeAcc(acc, c.m, c.n, out.colScale, out.rowScale, out.bias, !!out.relu);
  }
}

async function runQs8Cases(rt, build) {
  for (const c of qs8Cases()) {
    // the layout packQs8 picks, and on the relaxed build also the baseline layout for 7-bit weights
    const packs = [packOf(rt, c, {})];
    if (packs[0].layout === 'c4') packs.push(packOf(rt, c, { allowSevenBit: false }));
    try {
      for (const w of packs) {
        for (const o of c.outputs) {
          const y = await lb.runQs8(rt, c.a, c.m, c.za, w, o.out);
          emit(build, w.layout, `${c.name} out=${o.id}`, digest(y));
        }
      }
    } finally {
      for (const w of packs) w.dispose();
    }
  }
}

function packOf(rt, c, options) {
  return lb.packQs8(rt, c.b, c.k, c.n, c.zb, options);
}

function refQs8Cases() {
  for (const c of qs8Cases()) for (const o of c.outputs) emit('ref', '-', `${c.name} out=${o.id}`, digest(refQs8(c, o.out)));
}

// ---- f32 GEMM (packF32 / runF32) ----

function* f32Cases() {
  for (const [m, k, n] of SHAPES) {
    for (const variant of ['plain', 'bias+clamp', 'transposed', 'wide']) {
      const r = new Rng(`f32 m=${m} k=${k} n=${n} ${variant}`);
      const wide = variant === 'wide';
      const a = wide ? r.wideFloats(m * k) : r.floats(m * k, -1, 1);
      const w = wide ? r.wideFloats(k * n) : r.floats(k * n, -1, 1); // K x N row-major
      const withBias = variant === 'bias+clamp' || wide;
      const bias = withBias ? (wide ? r.wideFloats(n) : r.floats(n, -1, 1)) : null;
      const [lo, hi] = variant === 'bias+clamp' ? [-0.5, 0.75] : [-Infinity, Infinity];
      yield { name: `m=${m} k=${k} n=${n} ${variant}`, m, k, n, a, w, bias, lo, hi, transposed: variant === 'transposed' };
    }
  }
}

function transpose(w, k, n) {
  const t = new Float32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = w[i * n + j];
  return t;
}

/** f32 results may differ between builds (the relaxed one fuses), so the relaxed ones get their own names */
function f32Name(build, base) {
  return build === 'relaxed' ? `${base}.relaxed` : base;
}

async function runF32Cases(rt, build) {
  for (const c of f32Cases()) {
    const w = c.transposed ? lb.packF32(rt, transpose(c.w, c.k, c.n), c.k, c.n, true) : lb.packF32(rt, c.w, c.k, c.n);
    try {
      const y = await lb.runF32(rt, c.a, c.m, w, c.bias, c.lo, c.hi);
      emit(build, '-', `${f32Name(build, 'f32_gemm')} ${c.name}`, digest(y));
    } finally {
      w.dispose();
    }
  }
}

function refF32Cases() {
  for (const c of f32Cases()) emit('ref', '-', `f32_gemm ${c.name}`, digest(refF32(c.a, c.w, c.m, c.k, c.n, c.bias, c.lo, c.hi)));
}

// ---- ONNX ops ----

const T = (type, data, dims) => ({ type, data, dims });

/** batched MatMul shapes: [aDims, bDims]; batch entries pair up as numpy broadcasting says */
const MATMUL_SHAPES = [
  [[1, 37], [37, 29]],
  [[13, 37], [37, 29]],
  [[5, 7], [7, 130]],
  [[2, 3, 7], [7, 9]], //    B shared: one GEMM over all rows
  [[2, 3, 7], [2, 7, 9]], // B per batch entry
  [[3, 7], [2, 7, 9]], //    A broadcast
  [[7], [7, 9]], //          1-D A
  [[3, 7], [7]], //          1-D B
];

/** [aOffset, bOffset] per batch entry, m, k, n and the output dims (only the broadcasts used above) */
function matmulPlan(aDims, bDims) {
  const a = aDims.length === 1 ? [1, aDims[0]] : aDims;
  const b = bDims.length === 1 ? [bDims[0], 1] : bDims;
  const [m, k] = a.slice(-2);
  const n = b[b.length - 1];
  const ab = a.length === 3 ? a[0] : 1;
  const bb = b.length === 3 ? b[0] : 1;
  const batch = Math.max(ab, bb);
  const pairs = [];
  for (let t = 0; t < batch; t++) pairs.push([ab === 1 ? 0 : t * m * k, bb === 1 ? 0 : t * k * n]);
  const outDims = [...(batch > 1 ? [batch] : []), ...(aDims.length === 1 ? [] : [m]), ...(bDims.length === 1 ? [] : [n])];
  return { m, k, n, pairs, outDims };
}

function sizeOf(dims) {
  return dims.reduce((x, y) => x * y, 1);
}

const Q8_COMBOS = [
  { id: 'u8xs8', A: ACTIVATIONS[1], B: WEIGHTS[0] },
  { id: 's8xs8', A: ACTIVATIONS[0], B: WEIGHTS[0] },
  { id: 'u8xu8', A: ACTIVATIONS[1], B: WEIGHTS[2] },
  { id: 's8xs7', A: ACTIVATIONS[0], B: WEIGHTS[1] },
];
const typeOf = (spec) => (spec.Ctor === Int8Array ? 'int8' : 'uint8');

function* intMatMulCases() {
  for (const [aDims, bDims] of MATMUL_SHAPES) {
    for (const q of Q8_COMBOS) {
      for (const zpMode of ['none', 'scalar', 'col']) {
        const p = matmulPlan(aDims, bDims);
        const r = new Rng(`matmul-int a=${aDims} b=${bDims} ${q.id} zp=${zpMode}`);
        const a = r.ints(q.A.Ctor, sizeOf(aDims), q.A.lo, q.A.hi);
        const b = r.ints(q.B.Ctor, sizeOf(bDims), q.B.lo, q.B.hi);
        const za = zpMode === 'none' ? 0 : r.int(q.A.lo, q.A.hi);
        const zbCol = bDims.length >= 2 && zpMode === 'col';
        const zbVals = zpMode === 'none' ? [0] : zbCol ? Array.from({ length: p.n }, () => r.int(q.B.lo, q.B.hi)) : [r.int(q.B.lo, q.B.hi)];
        const zaT = zpMode === 'none' ? null : T(typeOf(q.A), new q.A.Ctor([za]), []);
        const zbT = zpMode === 'none' ? null : T(typeOf(q.B), new q.B.Ctor(zbVals), zbCol ? [p.n] : []);
        // QLinearMatMul parameters: per-column b scale when zero points are per column
        const sa = r.float(0.01, 0.05);
        const sb = zbCol ? r.floats(p.n, 0.005, 0.02) : Float32Array.of(r.float(0.005, 0.02));
        const sy = f(sa * sb[0] * Math.sqrt(p.k) * 6000 / 60);
        const yType = zpMode === 'col' ? 'int8' : 'uint8';
        const zy = yType === 'int8' ? r.int(-20, 20) : r.int(100, 156);
        const name = `a=[${aDims}] b=[${bDims}] ${q.id} zp=${zpMode}`;
        yield { name, p, aDims, bDims, A: T(typeOf(q.A), a, aDims), B: T(typeOf(q.B), b, bDims), zaT, zbT, za, zb: zbVals, sa, sb, sy, yType, zy };
      }
    }
  }
}

function refIntMatMul(c, requant) {
  const { m, k, n, pairs } = c.p;
  const zb = c.zb.length === 1 ? new Array(n).fill(c.zb[0]) : c.zb;
  let mult = null;
  if (requant) {
    mult = new Float32Array(n);
    for (let j = 0; j < n; j++) mult[j] = f(f(c.sa * (c.sb.length === 1 ? c.sb[0] : c.sb[j])) / c.sy);
  }
  const parts = pairs.map(([ao, bo]) => {
    const acc = lb.refMatMulInteger(c.A.data.subarray(ao, ao + m * k), c.B.data.subarray(bo, bo + k * n), m, k, n, c.za, zb);
    return requant ? lb.refRequantize(acc, m, n, mult, c.zy, c.yType === 'int8') : acc;
  });
  const out = requant ? (c.yType === 'int8' ? new Int8Array(pairs.length * m * n) : new Uint8Array(pairs.length * m * n)) : new Int32Array(pairs.length * m * n);
  parts.forEach((x, t) => out.set(x, t * m * n));
  return out;
}

async function runIntMatMulCases(rt, build) {
  for (const c of intMatMulCases()) {
    const y = await rt.ops.matMulInteger(c.A, c.B, c.zaT, c.zbT);
    emit(build, '-', `onnx.MatMulInteger ${c.name}`, tensorDigest(y));
    // QLinearMatMul has no optional zero points: zeros of A's and B's types
    const zero = (t) => T(t.type, t.type === 'int8' ? new Int8Array(1) : new Uint8Array(1), []);
    const q = await rt.ops.qlinearMatMul(
      c.A, T('float32', Float32Array.of(c.sa), []), c.zaT ?? zero(c.A),
      c.B, T('float32', c.sb, c.sb.length > 1 ? [c.sb.length] : []), c.zbT ?? zero(c.B),
      T('float32', Float32Array.of(c.sy), []), T(c.yType, c.yType === 'int8' ? Int8Array.of(c.zy) : Uint8Array.of(c.zy), []),
    );
    emit(build, '-', `onnx.QLinearMatMul ${c.name} y=${c.yType}`, tensorDigest(q));
  }
}

function refIntMatMulCases() {
  for (const c of intMatMulCases()) {
    emit('ref', '-', `onnx.MatMulInteger ${c.name}`, digest('int32', c.p.outDims, refIntMatMul(c, false)));
    emit('ref', '-', `onnx.QLinearMatMul ${c.name} y=${c.yType}`, digest(c.yType, c.p.outDims, refIntMatMul(c, true)));
  }
}

function* floatMatMulCases() {
  for (const [aDims, bDims] of MATMUL_SHAPES) {
    const p = matmulPlan(aDims, bDims);
    const r = new Rng(`matmul-f32 a=${aDims} b=${bDims}`);
    const a = r.floats(sizeOf(aDims), -1, 1);
    const b = r.floats(sizeOf(bDims), -1, 1);
    yield { name: `a=[${aDims}] b=[${bDims}]`, p, A: T('float32', a, aDims), B: T('float32', b, bDims) };
  }
}

function refFloatMatMul(c) {
  const { m, k, n, pairs } = c.p;
  const out = new Float32Array(pairs.length * m * n);
  pairs.forEach(([ao, bo], t) => out.set(refF32(c.A.data.subarray(ao, ao + m * k), c.B.data.subarray(bo, bo + k * n), m, k, n), t * m * n));
  return out;
}

// ONNX Gemm: [transA, transB, alpha, beta, C dims]
const GEMM_CASES = [
  [5, 7, 9, 0, 0, 1, 1, null],
  [13, 37, 29, 1, 0, 0.5, 2, 'n'],
  [3, 7, 130, 0, 1, 1, 1, 'mn'],
  [1, 37, 29, 1, 1, 2, 0.25, '1'],
];

function* gemmCases() {
  for (const [m, k, n, transA, transB, alpha, beta, cMode] of GEMM_CASES) {
    const r = new Rng(`gemm m=${m} k=${k} n=${n} ${transA}${transB} ${alpha} ${beta} ${cMode}`);
    const a = r.floats(m * k, -1, 1); // stored as given (K x M when transA)
    const b = r.floats(k * n, -1, 1); // N x K when transB
    const cDims = cMode === 'n' ? [n] : cMode === 'mn' ? [m, n] : cMode === '1' ? [1] : null;
    const C = cDims ? T('float32', r.floats(sizeOf(cDims), -1, 1), cDims) : null;
    const name = `m=${m} k=${k} n=${n} transA=${transA} transB=${transB} alpha=${alpha} beta=${beta} C=${cDims ? `[${cDims}]` : 'none'}`;
    yield {
      name, m, k, n, transA, transB, alpha, beta, C,
      A: T('float32', a, transA ? [k, m] : [m, k]), B: T('float32', b, transB ? [n, k] : [k, n]),
    };
  }
}

function refGemm(c) {
  const { m, k, n } = c;
  let a = c.transA ? transpose(c.A.data, k, m) : c.A.data; // A is K x M: transpose to M x K
  if (c.alpha !== 1) a = a.map((v) => f(v * c.alpha));
  const b = c.transB ? transpose(c.B.data, n, k) : c.B.data; // B is N x K: to K x N
  const y = refF32(a, b, m, k, n);
  if (c.C && c.beta !== 0) {
    const cd = c.C.dims;
    const cm = cd.length === 2 ? cd[0] : 1;
    const cn = cd[cd.length - 1];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        y[i * n + j] = f(y[i * n + j] + f(c.beta * c.C.data[(cm === 1 ? 0 : i) * cn + (cn === 1 ? 0 : j)]));
      }
    }
  }
  return y;
}

async function runFloatOpCases(rt, build) {
  for (const c of floatMatMulCases()) emit(build, '-', `${f32Name(build, 'onnx.MatMul')} ${c.name}`, tensorDigest(await rt.ops.matMul(c.A, c.B)));
  for (const c of gemmCases()) {
    const y = await rt.ops.gemm(c.A, c.B, c.C, { transA: c.transA, transB: c.transB, alpha: c.alpha, beta: c.beta });
    emit(build, '-', `${f32Name(build, 'onnx.Gemm')} ${c.name}`, tensorDigest(y));
  }
}

function refFloatOpCases() {
  for (const c of floatMatMulCases()) emit('ref', '-', `onnx.MatMul ${c.name}`, digest('float32', c.p.outDims, refFloatMatMul(c)));
  for (const c of gemmCases()) emit('ref', '-', `onnx.Gemm ${c.name}`, digest('float32', [c.m, c.n], refGemm(c)));
}

// ---- QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear ----

/** float32 inputs with NaN, infinities, ties at the given scale, saturating values, -0 */
function quantInput(r, len, scale) {
  const x = r.floats(len, -200 * scale, 200 * scale);
  const specials = [NaN, Infinity, -Infinity, -0, 0.5 * scale, 1.5 * scale, 2.5 * scale, -0.5 * scale, -2.5 * scale, 1e30, -1e30, 127.5 * scale, -128.5 * scale];
  for (let i = 0; i < len; i++) if (i % 3 === 1) x[i] = specials[((i / 3) | 0) % specials.length];
  return x;
}

// [dims, axis or null (per tensor), output type or null (no zero point: uint8, zp 0), power-of-two scale]
const QUANT_CASES = [
  [[1], null, 'uint8', true],
  [[7], null, 'uint8', false],
  [[37], null, 'int8', true],
  [[130], null, null, false],
  [[3, 13], null, 'int8', false],
  [[2, 3, 5], 1, 'uint8', true],
  [[2, 3, 5], 1, 'int8', false],
  [[5, 9], 0, 'int8', true],
  [[4, 7], -1, 'uint8', false],
];

function* quantCases() {
  for (const [dims, axis, type, pow2] of QUANT_CASES) {
    const r = new Rng(`quant dims=${dims} axis=${axis} ${type} ${pow2}`);
    const channels = axis === null ? 1 : dims[axis < 0 ? axis + dims.length : axis];
    const ax = axis === null ? 0 : axis < 0 ? axis + dims.length : axis;
    const outer = axis === null ? 1 : sizeOf(dims.slice(0, ax));
    const inner = axis === null ? sizeOf(dims) : sizeOf(dims.slice(ax + 1));
    const scales = new Float32Array(channels);
    for (let c = 0; c < channels; c++) scales[c] = pow2 ? 2 ** r.int(-6, 2) : r.float(0.01, 0.1);
    const signed = type === 'int8';
    const zps = new Int32Array(channels);
    if (type) for (let c = 0; c < channels; c++) zps[c] = signed ? r.int(-10, 10) : r.int(100, 156);
    const x = quantInput(r, sizeOf(dims), scales[0]);
    // quantized inputs for DequantizeLinear
    const q = signed ? r.ints(Int8Array, sizeOf(dims), -128, 127) : r.ints(Uint8Array, sizeOf(dims), 0, 255);
    const name = `dims=[${dims}] axis=${axis ?? 'tensor'} y=${type ?? 'default'} scale=${pow2 ? 'pow2' : 'any'}`;
    const scaleT = T('float32', scales, axis === null ? [] : [channels]);
    const zpT = type ? T(type, signed ? Int8Array.from(zps) : Uint8Array.from(zps), axis === null ? [] : [channels]) : null;
    yield { name, dims, axis, signed, outer, channels, inner, scales, zps, x, q, scaleT, zpT, type: type ?? 'uint8' };
  }
}

const DEQ_INT32 = [[[7], null], [[3, 13], 1], [[37], null]];

async function runQuantCases(rt, build) {
  for (const c of quantCases()) {
    const opts = c.axis === null ? {} : { axis: c.axis };
    emit(build, '-', `onnx.QuantizeLinear ${c.name}`, tensorDigest(await rt.ops.quantizeLinear(T('float32', c.x, c.dims), c.scaleT, c.zpT, opts)));
    emit(build, '-', `onnx.DequantizeLinear ${c.name}`, tensorDigest(await rt.ops.dequantizeLinear(T(c.type, c.q, c.dims), c.scaleT, c.zpT, opts)));
  }
  for (const [dims, axis] of DEQ_INT32) {
    const r = new Rng(`dequant int32 ${dims} ${axis}`);
    const x = r.ints(Int32Array, sizeOf(dims), -2147483648, 2147483647);
    const channels = axis === null ? 1 : dims[axis];
    const s = r.floats(channels, 1e-6, 1e-3);
    const y = await rt.ops.dequantizeLinear(T('int32', x, dims), T('float32', s, axis === null ? [] : [channels]), null, axis === null ? {} : { axis });
    emit(build, '-', `onnx.DequantizeLinear int32 dims=[${dims}] axis=${axis ?? 'tensor'}`, tensorDigest(y));
  }
  for (const c of dynamicCases()) {
    const [y, s, z] = await rt.ops.dynamicQuantizeLinear(T('float32', c.x, c.dims));
    emit(build, '-', `onnx.DynamicQuantizeLinear ${c.name}`, digest(tensorDigest(y), tensorDigest(s), tensorDigest(z)));
  }
}

function* dynamicCases() {
  for (const [len, mode] of [[1, 'mixed'], [7, 'mixed'], [37, 'positive'], [37, 'negative'], [130, 'mixed'], [9, 'zeros'], [29, 'wide']]) {
    const r = new Rng(`dynq ${len} ${mode}`);
    let x;
    if (mode === 'mixed') x = r.floats(len, -3, 5);
    else if (mode === 'positive') x = r.floats(len, 0.25, 9);
    else if (mode === 'negative') x = r.floats(len, -9, -0.25);
    else if (mode === 'zeros') x = new Float32Array(len);
    else x = r.floats(len, -1e6, 1e3);
    yield { name: `n=${len} ${mode}`, x, dims: [len] };
  }
}

function refQuantCases() {
  for (const c of quantCases()) {
    const y = refQuantizeAxis(c.x, c.outer, c.channels, c.inner, c.scales, c.zps, c.signed);
    emit('ref', '-', `onnx.QuantizeLinear ${c.name}`, digest(c.type, c.dims, y));
    const d = refDequantizeAxis(c.q, c.outer, c.channels, c.inner, c.scales, c.zps);
    emit('ref', '-', `onnx.DequantizeLinear ${c.name}`, digest('float32', c.dims, d));
  }
  for (const c of dynamicCases()) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of c.x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const { scale, zeroPoint } = lb.dynamicQuantParams(lo, hi, 0, 255);
    const y = Uint8Array.from(c.x, (v) => refQuantize(v, scale, zeroPoint, false));
    emit('ref', '-', `onnx.DynamicQuantizeLinear ${c.name}`, digest(
      digest('uint8', c.dims, y), digest('float32', [], Float32Array.of(scale)), digest('uint8', [], Uint8Array.of(zeroPoint)),
    ));
  }
}

// ---- QuantizedLinear (the INT8 layer: dynamic/static activations, 8- or 7-bit weights) ----

async function runLinearCases(rt, build) {
  for (const [m, k, n] of [[1, 37, 29], [5, 7, 9], [13, 37, 130]]) {
    for (const bits of [8, 7]) {
      for (const activations of ['dynamic-per-tensor', 'dynamic-per-row', 'static']) {
        const r = new Rng(`linear m=${m} k=${k} n=${n} ${bits} ${activations}`);
        const weight = r.floats(k * n, -0.5, 0.5);
        const bias = r.floats(n, -0.1, 0.1);
        const x = r.floats(m * k, -2, 3);
        const calibration = r.floats(4 * k, -2, 3);
        const relu = (m + bits) % 2 === 0;
        const layer = await rt.linear(weight, [k, n], bias, { weightBits: bits, activations, calibration, relu });
        try {
          const y = await layer.forward(x);
          emit(build, layer.kernelLayout, `linear m=${m} k=${k} n=${n} bits=${bits} ${activations}${relu ? ' relu' : ''}`, digest(y));
        } finally {
          layer.dispose();
        }
      }
    }
  }
}

// ---- qb4 (4-bit blocks x int8 activations -> float32): all IEEE float ops, no FMA, so one digest
// across builds (c2 / c4 nibble layouts), CPUs and threads; the scalar reference must agree too ----

const QB4_CASES = [];
for (const [m, k, n, bs] of [[1, 64, 24, 32], [1, 100, 9, 16], [3, 300, 17, 64], [6, 256, 40, 256], [13, 48, 33, 16]]) {
  for (const asym of [false, true]) {
    for (const scheme of ['per-row', 'per-block']) {
      const name = `qb4 m=${m} k=${k} n=${n} bs=${bs} ${asym ? 'asym' : 'sym'} act=${scheme}`;
      const r = new Rng(name);
      const nb = Math.ceil(k / bs);
      const blocks = {
        k, n, blockSize: bs,
        q: r.ints(Uint8Array, n * k, 0, 15),
        scales: r.floats(n * nb, 0.001, 0.05),
        zeroPoints: asym ? r.ints(Uint8Array, n * nb, 0, 15) : null,
      };
      QB4_CASES.push({ name, m, blocks, scheme, x: r.floats(m * k, -3, 3), bias: (m + n) % 2 ? r.floats(n, -1, 1) : null });
    }
  }
}

async function runQb4Cases(rt, build) {
  for (const c of QB4_CASES) {
    const w = lb.packQb4(rt, c.blocks);
    try {
      emit(build, w.layout, c.name, digest(await lb.runQb4(rt, c.x, c.m, w, { bias: c.bias, activations: c.scheme })));
      if (c.scheme === 'per-row') emit(build, w.layout, c.name.replace('act=per-row', 'act=f32'), digest(await lb.runQb4F32(rt, c.x, c.m, w, c.bias)));
    } finally {
      w.dispose();
    }
  }
}

function refQb4Cases() {
  for (const c of QB4_CASES) {
    emit('ref', '-', c.name, digest(lb.refQb4(c.x, c.m, c.blocks, c.bias, c.scheme)));
    if (c.scheme === 'per-row') emit('ref', '-', c.name.replace('act=per-row', 'act=f32'), digest(lb.refQb4F32(c.x, c.m, c.blocks, c.bias)));
  }
}

// ---------------------------------------------------------------------------------------------

const header = [];
header.push(`# lowbit determinism: node ${process.version} (v8 ${process.versions.v8}) ${process.platform}-${process.arch}`);
header.push(`# flags: ${process.execArgv.join(' ') || '(none)'}; threads=${threads}`);

refQs8Cases();
refF32Cases();
refIntMatMulCases();
refFloatOpCases();
refQuantCases();
refQb4Cases();

for (const build of buildList) {
  let rt;
  try {
    rt = await lb.createRuntime({ simd: build, threads });
  } catch (e) {
    if (e instanceof lb.FeatureError || e?.code === 'ERR_FEATURE') {
      header.push(`# build ${build}: not run (${e.name}: ${e.message})`);
      continue;
    }
    throw e;
  }
  try {
    if (rt.features.simd !== build) throw new Error(`asked for build ${build}, got ${rt.features.simd}`);
    header.push(`# build ${build}: ran; threads=${rt.threads}; ${rt.features.reason}`);
    const t = Date.now();
    await runQs8Cases(rt, build);
    await runF32Cases(rt, build);
    await runIntMatMulCases(rt, build);
    await runFloatOpCases(rt, build);
    await runQuantCases(rt, build);
    await runLinearCases(rt, build);
    await runQb4Cases(rt, build);
    header.push(`# build ${build}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  } finally {
    rt.dispose();
  }
}
header.push(`# ${lines.length} digests in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const ORDER = { ref: 0, baseline: 1, relaxed: 2 };
lines.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : (ORDER[a.build] ?? 9) - (ORDER[b.build] ?? 9) || (a.layout < b.layout ? -1 : a.layout > b.layout ? 1 : 0)));
const width = Math.max(...lines.map((l) => l.name.length));
const out = [...header, ...lines.map((l) => `${l.build.padEnd(8)} ${l.layout.padEnd(2)} ${l.name.padEnd(width)} ${l.digest}`)];
process.stdout.write(out.join('\n') + '\n');

if (check) {
  console.error('determinism --check:');
  const log = console.log;
  console.log = (...a) => console.error(...a);
  const problems = compareRuns([{ label: 'this-run', rows: lines.map((l) => ({ label: 'this-run', ...l })) }]);
  console.log = log;
  process.exitCode = problems ? 1 : 0;
}
