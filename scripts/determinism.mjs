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
// process). layout is the weight layout ('c2', 'c4': qs8, qb4, lut4; 'w16': qs8) or '-'. A case name means the
// same result everywhere: integer kernels, the q8 conversions, the qs8 float32 epilogue (with its
// activations), qs8_stage_f32_c2, the int8 user layer's passes (f32_minmax_finite,
// qs8_stage_f32_rows_c2) and weight quantizer (q8 weights), the fp8 codec, qb4, lut4, the SpMM families (spmm-csr, spmm-nm,
// spmm-block with int8 and int4 values, spmm-srbcrs; int32 and float32), SDDMM (sddmm-csr, sddmm-block), their activation blocks (act_blocks),
// f8f8 and the float32 kernels that use plain mul/add in both builds (f32_act_nhwc,
// f32_softmax_rows, f32_gap_nhwc, f32_avgpool_nhwc, f32_maxpool_nhwc, f32_scale_channels_nhwc, f32_matmul_rows,
// f32_im2col_nhwc) and qs8_conv_direct carry the same name on both builds
// (they must agree bit for bit with each other and with 'ref'), while the float32 kernels that use
// f32x4.relaxed_madd (fused) in the relaxed build (f32_gemm, onnx.MatMul/Gemm, f32_dwconv_nhwc,
// f8w) are named '*.relaxed' there and only have to agree across CPUs and runs. So the rule
// --compare checks is simply: one case name, one digest.
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
// the user API and the kernels' entry (pack/run/reference functions) under one name
const lb = { ...(await import('../dist/index.js')), ...(await import('../dist/kernels.js')) };
// the scalar references of the plain mul/add float32 kernels, shared with test/elementwise.test.ts
const ew = await import('../dist/kernels/reference/elementwise.js');

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

/** baseline f32 GEMM (src/kernels/reference/elementwise.ts) */
const refF32 = ew.refF32Gemm;

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

// qs8 only: M past the w16 kernel's 4-row strips with a tail (the shared SHAPES stop at 13)
const QS8_SHAPES = [...SHAPES, [18, 37, 29], [23, 130, 17]];

function* qs8Cases() {
  for (const [m, k, n] of QS8_SHAPES) {
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
    // the layout packQs8 picks, on the relaxed build also the baseline layout for 7-bit weights,
    // and the int16 w16 layout (packed for large M, run at every M)
    const packs = [packOf(rt, c, {})];
    if (packs[0].layout === 'c4') packs.push(packOf(rt, c, { allowSevenBit: false }));
    packs.push(packOf(rt, c, W16));
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

/** packQs8 options that select the w16 layout (int16 weights) */
const W16 = { allowSevenBit: false, expectedM: 16 };

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

// ---- SpMM (spmm-csr, spmm-nm 2:4, spmm-block 4x4, spmm-srbcrs 4x1 vector rows): sparse int8 weights x int8 activations ->
// int32, and float32 (f32(acc) * scale + bias, plain mul/add): one digest across builds, CPUs and
// threads, equal to the format's scalar reference (src/kernels/reference/spmm.ts) ----

const SPMM_FORMATS = {
  'spmm-csr': { encode: 'encodeCsr', pack: 'packSpmmCsr', run: 'runSpmmCsr', ref: 'refSpmmCsr' },
  'spmm-nm': { encode: 'encodeNm24', pack: 'packSpmmNm', run: 'runSpmmNm', ref: 'refSpmmNm24' },
  'spmm-block': { encode: 'encodeBsr4', pack: 'packSpmmBlock', run: 'runSpmmBlock', ref: 'refSpmmBsr4' },
  'spmm-block-int4': { encode: 'encodeBsr4Int4', pack: 'packSpmmBlock', run: 'runSpmmBlock', ref: 'refSpmmBsr4Int4' },
  // int4 blocks with per-block multipliers (int4-sparse's block scales), 1..63 seeded per case
  'spmm-block-int4s': { encode: 'encodeBsr4Int4', pack: 'packSpmmBlock', run: 'runSpmmBlock', ref: 'refSpmmBsr4Int4', subs: true },
  // SR-BCRS-like vector rows: the scattered weights make vectors of 1-4 nonzeros, odd counts padded
  'spmm-srbcrs': { encode: 'encodeSrbcrs4', pack: 'packSpmmSrbcrs', run: 'runSpmmSrbcrs', ref: 'refSpmmSrbcrs4' },
};
const SPMM_CASES = [];
for (const family of Object.keys(SPMM_FORMATS)) {
  for (const [m, k, n] of [[1, 37, 13], [5, 64, 9], [13, 100, 17], [17, 33, 40]]) {
    for (const keep of [2, 1]) {
      const name = `${family} m=${m} k=${k} n=${n} keep=${keep}/4`;
      const r = new Rng(name);
      // dense int8 weights N x K keeping `keep` of every 4 along K (2:4-valid; random blocks for spmm-block)
      const q = new Int8Array(n * k);
      const blocks = family.startsWith('spmm-block'), [lo, hi] = family.startsWith('spmm-block-int4') ? [-8, 7] : [-128, 127];
      for (let row = 0; row < n; row++) {
        for (let g = 0; g < k; g += 4) {
          if (blocks && r.int(0, 3) >= keep) continue;
          for (let t = 0; t < keep; t++) {
            const c = g + r.int(0, 3);
            if (c < k) q[row * k + c] = r.int(lo, hi);
          }
        }
      }
      if (blocks) for (let i = 0; i < q.length; i++) if (r.int(0, 1)) q[i] = r.int(lo, hi);
      const signed = (m + k) % 2 === 0;
      SPMM_CASES.push({
        name, family, m, n, k, q,
        a: signed ? r.ints(Int8Array, m * k, -128, 127) : r.ints(Uint8Array, m * k, 0, 255),
        za: signed ? 0 : r.int(0, 255),
        scale: r.floats(n, 0.0001, 0.01),
        bias: (m + n) % 2 ? r.floats(n, -1, 1) : undefined,
        subs: SPMM_FORMATS[family].subs ? r.ints(Uint8Array, Math.ceil(n / 4) * Math.ceil(k / 4), 1, 63) : undefined,
      });
    }
  }
}

// 2:4 needs at most 2 nonzeros per group: the keep=2 cases can collide into fewer, never more
function spmmFormat(c) {
  const f = SPMM_FORMATS[c.family];
  return c.subs ? lb[f.encode](c.q, c.n, c.k, c.subs) : lb[f.encode](c.q, c.n, c.k);
}

async function runSpmmCases(rt, build) {
  for (const c of SPMM_CASES) {
    const f = SPMM_FORMATS[c.family];
    const w = lb[f.pack](rt, spmmFormat(c));
    try {
      emit(build, '-', `${c.name} out=int32`, digest(await lb[f.run](rt, c.a, c.m, c.za, w, { kind: 'int32' })));
      emit(build, '-', `${c.name} out=float32`, digest(await lb[f.run](rt, c.a, c.m, c.za, w, { kind: 'float32', scale: c.scale, bias: c.bias })));
    } finally {
      w.dispose();
    }
  }
}

function refSpmmCases() {
  for (const c of SPMM_CASES) {
    const acc = lb[SPMM_FORMATS[c.family].ref](c.a, c.m, c.za, spmmFormat(c));
    emit('ref', '-', `${c.name} out=int32`, digest(acc));
    emit('ref', '-', `${c.name} out=float32`, digest(lb.refSpmmF32(acc, c.m, c.n, c.scale, c.bias)));
  }
}

// ---- SDDMM (sddmm-csr, sddmm-block): int8 A x int8 B at a mask -> int32, and float32 (f32(acc) *
// rowScale * colScale, plain muls): one digest across builds, CPUs and threads, equal to the
// reference (src/kernels/reference/sddmm.ts) ----

const SDDMM_CASES = [];
for (const [m, n, k] of [[1, 9, 13], [7, 33, 64], [17, 20, 37], [16, 16, 128]]) {
  for (const kind of ['csr', 'block']) {
    const name = `sddmm-${kind} m=${m} n=${n} k=${k}`;
    const r = new Rng(name);
    const dense = Uint8Array.from({ length: m * n }, () => (r.int(0, 3) === 0 ? 1 : 0));
    const mask = kind === 'csr' ? lb.sddmmMaskCsr(dense, m, n) : lb.sddmmMaskBlock(dense, m, n, 4, 8);
    SDDMM_CASES.push({ name, kind, k, mask, a: r.ints(Int8Array, m * k, -128, 127), b: r.ints(Int8Array, n * k, -128, 127), output: { kind: 'float32', rowScale: r.floats(m, 0.001, 0.05), colScale: r.floats(n, -0.02, 0.08) } });
  }
}

async function runSddmmCases(rt, build) {
  for (const c of SDDMM_CASES) {
    const mask = c.kind === 'csr' ? lb.packSddmmCsr(rt, c.mask) : lb.packSddmmBlock(rt, c.mask);
    try {
      emit(build, '-', `${c.name} out=int32`, digest(await lb.runSddmm(rt, c.a, c.b, c.k, mask)));
      emit(build, '-', `${c.name} out=float32`, digest(await lb.runSddmm(rt, c.a, c.b, c.k, mask, c.output)));
    } finally {
      mask.dispose();
    }
  }
}

function refSddmmCases() {
  for (const c of SDDMM_CASES) {
    const ref = c.kind === 'csr' ? lb.refSddmmCsr : lb.refSddmmBlock;
    emit('ref', '-', `${c.name} out=int32`, digest(ref(c.a, c.b, c.k, c.mask)));
    emit('ref', '-', `${c.name} out=float32`, digest(ref(c.a, c.b, c.k, c.mask, c.output)));
  }
}

// ---- act_blocks_quantize_f32 (the int8 activation blocks qb4 and lut4 share): int8 values,
// narrow (int8) and wide (int16) storage, and the ACT_BLOCK_* metadata; quantizeActivations (JS)
// is the reference. Integer and exact float ops only: one digest everywhere ----

const ACT_BLOCK_CASES = [];
for (const [m, k, bs] of [[1, 100, 32], [3, 300, 64], [4, 48, 16], [2, 256, 256]]) {
  for (const scheme of ['per-row', 'per-block']) {
    const name = `act_blocks m=${m} k=${k} bs=${bs} ${scheme}`;
    const r = new Rng(name);
    const x = r.floats(m * k, -3, 3);
    x[1] = 1e4; // a saturated block next to ordinary ones
    ACT_BLOCK_CASES.push({ name, m, k, bs, scheme, x });
  }
}

function actBlocksDigest(q, sa, scaledSum, sum) {
  return digest(Int8Array.from(q), Float32Array.from(sa), Float32Array.from(scaledSum), Int32Array.from(sum));
}

async function runActBlockCases(rt, build) {
  const P = await import('../dist/kernels/params.js');
  for (const c of ACT_BLOCK_CASES) {
    const nb = Math.ceil(c.k / c.bs), kp = nb * c.bs;
    for (const wide of [false, true]) {
      const [q, meta] = await withBuffers(rt, [c.x], [[wide ? Int16Array : Int8Array, c.m * kp], [Uint8Array, c.m * nb * P.ACT_BLOCK_BYTES]], ([x], [out, mp]) =>
        rt.kernels.act_blocks_quantize_f32(x, c.m, c.k, kp, c.bs, c.scheme === 'per-block' ? 1 : 0, wide ? 1 : 0, out, mp));
      const dv = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
      const at = (i, off) => i * P.ACT_BLOCK_BYTES + off;
      const blocks = [...Array(c.m * nb).keys()];
      emit(build, '-', `${c.name} ${wide ? 'int16' : 'int8'}`, actBlocksDigest(q,
        blocks.map((i) => dv.getFloat32(at(i, P.ACT_BLOCK_SCALE), true)),
        blocks.map((i) => dv.getFloat32(at(i, P.ACT_BLOCK_SCALED_SUM), true)),
        blocks.map((i) => dv.getInt32(at(i, P.ACT_BLOCK_SUM), true))));
    }
  }
}

function refActBlockCases() {
  for (const c of ACT_BLOCK_CASES) {
    const nb = Math.ceil(c.k / c.bs), kp = nb * c.bs;
    const { q, meta } = lb.quantizeActivations(c.x, c.m, c.k, c.bs, c.scheme);
    const sum = [];
    for (let i = 0; i < c.m * nb; i++) {
      const row = Math.floor(i / nb), b = i % nb;
      let s = 0;
      for (let t = b * c.bs; t < (b + 1) * c.bs; t++) s += q[row * kp + t];
      sum.push(s);
    }
    const sa = [...Array(c.m * nb).keys()].map((i) => meta[2 * i]);
    const scaledSum = [...Array(c.m * nb).keys()].map((i) => meta[2 * i + 1]);
    const d = actBlocksDigest(q, sa, scaledSum, sum);
    for (const width of ['int8', 'int16']) emit('ref', '-', `${c.name} ${width}`, d);
  }
}

// ---- raw kernel calls on scratch buffers (the f32 conv / activation / pooling / softmax kernels,
// qs8_stage_f32_c2, the fp8 codec) ----

/**
 * Copies `inputs` (typed arrays) into scratch memory, 16 zero bytes after each, allocates zeroed
 * outputs ([Ctor, length] each), runs `fn(inPtrs, outPtrs)` and returns the outputs read back.
 */
async function withBuffers(rt, inputs, outputs, fn) {
  return rt.scoped(async (alloc) => {
    // allocate everything first: an allocation may grow (and so detach) a non-shared memory
    const ins = inputs.map((a) => alloc(a.byteLength + 16));
    const outs = outputs.map(([Ctor, len]) => alloc(len * Ctor.BYTES_PER_ELEMENT + 16));
    inputs.forEach((a, i) => {
      const v = rt.view(Uint8Array, ins[i], a.byteLength + 16);
      v.fill(0);
      v.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); // bytes: NaN payloads survive
    });
    outputs.forEach(([Ctor, len], i) => rt.view(Uint8Array, outs[i], len * Ctor.BYTES_PER_ELEMENT + 16).fill(0));
    await fn(ins, outs);
    return outputs.map(([Ctor, len], i) => rt.read(Ctor, outs[i], len));
  });
}

// float32 lane semantics of the wasm ops the kernels use (for the scalar references)
const pmax = (a, b) => (a < b ? b : a);
const pmin = (a, b) => (b < a ? b : a);
const refAct = ew.refAct;

/** activation kinds 0..7 with their (alpha, beta) as float32 (0 identity ... 6 clip(alpha, beta), 7 leaky relu with a floor) */
// (names show the decimal as written; the kernels get its float32)
const ACT_KINDS = [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 1.702, 0], [4, 1, 0], [5, 0.2, 0.5], [6, -0.5, 0.7], [7, 0.2, -0.4], [7, 0.01, -Infinity]].map(
  ([k, a, b]) => ({ kind: k, alpha: f(a), beta: f(b), id: `act=${k} alpha=${a} beta=${b}` }),
);

/** finite float32 activations: random in [lo, hi) with saturating, tiny, subnormal and signed-zero values mixed in */
function actInput(r, len, lo, hi) {
  const x = r.floats(len, lo, hi);
  const specials = [-0, 0, 1e30, -1e30, 100, -100, 88.5, -87.5, 3, -3, 2 ** -130, -(2 ** -140), 1e-20, -5.5];
  for (let i = 0; i < len; i++) if (i % 5 === 2) x[i] = specials[((i / 5) | 0) % specials.length];
  return x;
}

// ---- f32_dwconv_nhwc (depthwise conv; relaxed build fuses: '*.relaxed') and f32_im2col_nhwc ----

/** output size of one spatial axis */
const convOut = (size, k, s, p0, p1, d) => Math.floor((size + p0 + p1 - d * (k - 1) - 1) / s) + 1;

const DW_CASES = [];
for (const k of [3, 5]) {
  for (const [sh, sw] of [[1, 1], [2, 1], [1, 2]]) {
    for (const pad of ['same', 'valid', 'asym']) {
      for (const c of [5, 16, 17]) {
        const p = (k - 1) / 2;
        const pads = pad === 'same' ? [p, p, p, p] : pad === 'valid' ? [0, 0, 0, 0] : [k - 1, 1, 0, k - 2]; // [pt, pl, pb, pr]
        DW_CASES.push({ h: 7, w: 19, c, k, sh, sw, pads, dh: 1, dw: 1, clamp: c === 5 ? [0, 6] : c === 17 ? [-0.5, 0.5] : null });
      }
    }
  }
}
// dilation, and a wide-range variant (many binades, subnormal products)
DW_CASES.push({ h: 8, w: 17, c: 17, k: 3, sh: 1, sw: 1, pads: [2, 2, 2, 2], dh: 2, dw: 2, clamp: null });
DW_CASES.push({ h: 9, w: 15, c: 6, k: 5, sh: 2, sw: 1, pads: [1, 3, 2, 1], dh: 1, dw: 2, clamp: [-1, 1] });
DW_CASES.push({ h: 6, w: 21, c: 13, k: 3, sh: 1, sw: 1, pads: [1, 1, 1, 1], dh: 1, dw: 1, clamp: null, wide: true });
for (const d of DW_CASES) {
  const [pt, pl, pb, pr] = d.pads;
  d.oh = convOut(d.h, d.k, d.sh, pt, pb, d.dh);
  d.ow = convOut(d.w, d.k, d.sw, pl, pr, d.dw);
  d.name = `h=${d.h} w=${d.w} c=${d.c} k=${d.k}x${d.k} s=${d.sh},${d.sw} pads=${d.pads} d=${d.dh},${d.dw}${d.clamp ? ` clamp=${d.clamp}` : ''}${d.wide ? ' wide' : ''}`;
  const r = new Rng(`dwconv ${d.name}`);
  const taps = d.k * d.k;
  d.x = d.wide ? r.wideFloats(d.h * d.w * d.c) : r.floats(d.h * d.w * d.c, -2, 2);
  d.wt = d.wide ? r.wideFloats(taps * d.c) : r.floats(taps * d.c, -1, 1); // [tap][c]
  d.bias = d.wide ? r.wideFloats(d.c) : r.floats(d.c, -0.5, 0.5);
  // packed (assembly/conv/f32-conv.ts): [taps][Cp] then bias [Cp], Cp = C rounded up to 4, zero padded
  const cp = Math.ceil(d.c / 4) * 4;
  d.packed = new Float32Array((taps + 1) * cp);
  for (let t = 0; t < taps; t++) for (let ch = 0; ch < d.c; ch++) d.packed[t * cp + ch] = d.wt[t * d.c + ch];
  for (let ch = 0; ch < d.c; ch++) d.packed[taps * cp + ch] = d.bias[ch];
}

/** the baseline contract: bias, then + x*w over the taps inside the image (u-major), then clamp */
function refDwconv(d) {
  const { h, w, c, k, sh, sw, dh, dw, oh, ow } = d;
  const [pt, pl] = d.pads;
  const [lo, hi] = d.clamp ? d.clamp.map(f) : [-Infinity, Infinity];
  const c4 = c & ~3;
  const y = new Float32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = d.bias[ch];
        for (let u = 0; u < k; u++) {
          const iy = oy * sh - pt + u * dh;
          if (iy < 0 || iy >= h) continue;
          for (let v = 0; v < k; v++) {
            const ix = ox * sw - pl + v * dw;
            if (ix < 0 || ix >= w) continue;
            acc = f(acc + f(d.x[(iy * w + ix) * c + ch] * d.wt[(u * k + v) * c + ch]));
          }
        }
        // vector lanes: pmin(pmax(acc, lo), hi); the c % 4 tail: min(max(acc, lo), hi)
        y[(oy * ow + ox) * c + ch] = ch < c4 ? pmin(pmax(acc, lo), hi) : Math.min(Math.max(acc, lo), hi);
      }
    }
  }
  return y;
}

const IM2COL_CASES = [
  // [h, w, c, xc, kh, kw, sh, sw, [pt, pl, pb, pr], dh, dw]
  [7, 9, 3, 3, 3, 3, 1, 1, [1, 1, 1, 1], 1, 1],
  [6, 10, 5, 12, 3, 3, 2, 1, [1, 1, 1, 1], 1, 1], // one group's channels of a 12-channel input
  [9, 9, 16, 16, 5, 5, 2, 2, [2, 2, 2, 2], 1, 1],
  [8, 11, 17, 17, 3, 3, 1, 2, [0, 2, 1, 0], 1, 1],
  [9, 12, 4, 4, 3, 3, 1, 1, [2, 2, 2, 2], 2, 2],
  [5, 7, 1, 3, 1, 7, 1, 1, [0, 3, 0, 3], 1, 1],
].map(([h, w, c, xc, kh, kw, sh, sw, pads, dh, dwl]) => {
  const oh = convOut(h, kh, sh, pads[0], pads[2], dh);
  const ow = convOut(w, kw, sw, pads[1], pads[3], dwl);
  const name = `h=${h} w=${w} c=${c} xc=${xc} k=${kh}x${kw} s=${sh},${sw} pads=${pads} d=${dh},${dwl}`;
  const x = new Rng(`im2col ${name}`).floats(h * w * xc, -1, 1);
  return { name, h, w, c, xc, kh, kw, sh, sw, pads, dh, dw: dwl, oh, ow, x };
});

function refIm2col(q) {
  const { h, w, c, xc, kh, kw, sh, sw, dh, dw, oh, ow } = q;
  const [pt, pl] = q.pads;
  const out = new Float32Array(oh * ow * kh * kw * c);
  let o = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let u = 0; u < kh; u++) {
        for (let v = 0; v < kw; v++) {
          const iy = oy * sh - pt + u * dh;
          const ix = ox * sw - pl + v * dw;
          for (let ch = 0; ch < c; ch++, o++) out[o] = iy < 0 || iy >= h || ix < 0 || ix >= w ? 0 : q.x[(iy * w + ix) * xc + ch];
        }
      }
    }
  }
  return out;
}

async function runConvCases(rt, build) {
  for (const d of DW_CASES) {
    const [pt, pl] = d.pads;
    const [lo, hi] = d.clamp ?? [-Infinity, Infinity];
    const [y] = await withBuffers(rt, [d.x, d.packed], [[Float32Array, d.oh * d.ow * d.c]], ([x, wts], [yp]) =>
      rt.parallelColumns(d.oh, 1, (r0, r1) => ['f32_dwconv_nhwc', [d.h, d.w, d.c, d.k, d.k, d.sh, d.sw, pt, pl, d.dh, d.dw, r0, r1, d.ow, x, wts, yp, lo, hi]], 1));
    emit(build, '-', `${f32Name(build, 'f32_dwconv_nhwc')} ${d.name}`, digest(y));
  }
  for (const q of IM2COL_CASES) {
    const [pt, pl] = q.pads;
    const [y] = await withBuffers(rt, [q.x], [[Float32Array, q.oh * q.ow * q.kh * q.kw * q.c]], ([x], [out]) =>
      rt.parallelColumns(q.oh, 1, (r0, r1) => ['f32_im2col_nhwc', [q.h, q.w, q.c, q.xc, q.kh, q.kw, q.sh, q.sw, pt, pl, q.dh, q.dw, r0, r1, q.ow, x, out]], 1));
    emit(build, '-', `f32_im2col_nhwc ${q.name}`, digest(y));
  }
}

function refConvCases() {
  for (const d of DW_CASES) emit('ref', '-', `f32_dwconv_nhwc ${d.name}`, digest(refDwconv(d)));
  for (const q of IM2COL_CASES) emit('ref', '-', `f32_im2col_nhwc ${q.name}`, digest(refIm2col(q)));
}

// ---- qs8-conv-direct (qs8_conv_direct_4x8c2, _4x8c4_relaxed): the int8 convolution reading the
// staged, bordered image in place; integer sums (int32 out) and the requantizing epilogue (uint8 out),
// so one digest per case on every build and layout, equal to 'ref' (refQs8ConvDirectAcc) ----

const qcd = { ...(await import('../dist/kernels/qs8-conv-direct.js')), ...(await import('../dist/kernels/reference/qs8-conv-direct.js')), ...(await import('../dist/kernels/qs8.js')), ...(await import('../dist/kernels/params.js')) };
const QCD_CASES = [
  // [c, n, kh, kw, sh, sw, dh, oh, ow, copies, za]
  [5, 9, 3, 3, 1, 1, 1, 3, 7, 1, 131],
  [16, 24, 3, 3, 2, 2, 1, 5, 5, 1, 0],
  [7, 8, 3, 3, 1, 2, 1, 2, 13, 2, 255],
  [12, 17, 1, 3, 1, 1, 1, 4, 6, 1, 7],
  [3, 5, 3, 1, 2, 1, 2, 3, 9, 2, 200],
].map(([c, n, kh, kw, sh, sw, dh, oh, ow, copies, za]) => {
  const name = `qs8_conv_direct c=${c} n=${n} k=${kh}x${kw} s=${sh},${sw} dh=${dh} out=${oh}x${ow} copies=${copies} za=${za}`;
  const r = new Rng(name);
  const hp = (oh - 1) * sh + (kh - 1) * dh + 1, wp = (ow - 1) * sw + kw + 1, k = copies * kh * kw * c;
  const a = r.ints(Uint8Array, hp * wp * c, 0, 255);
  // 7-bit weights: c4 on the relaxed build, c2 on baseline; zero points 0 (c4 packs symmetric columns)
  const b = r.ints(Int8Array, k * n, -64, 63);
  const multiplier = r.floats(n, 1e-5, 3e-4);
  return { name, c, n, g: { kh, kw, sh, sw, dh, dw: 1, pt: 0, pl: 0 }, oh, ow, hp, wp, copies, za, k, a, b, multiplier };
});

async function runQcdCases(rt, build) {
  for (const q of QCD_CASES) {
    const packs = [lb.packQs8(rt, q.b, q.k, q.n, new Int32Array(q.n))];
    if (packs[0].layout === 'c4') packs.push(lb.packQs8(rt, q.b, q.k, q.n, new Int32Array(q.n), { allowSevenBit: false }));
    for (const w of packs) {
      const c4 = w.layout === 'c4';
      const staged = c4 ? Int8Array.from(q.a, (v) => v - 128) : Int16Array.from(q.a, (v) => v - q.za);
      const ps = new Int32Array(q.hp * q.wp);
      for (let p = 0; p < ps.length; p++) for (let ci = 0; ci < q.c; ci++) ps[p] += staged[p * q.c + ci];
      const dw = qcd.packQs8ConvDirect(rt, w, q.g.kh, q.g.kw, q.c, q.copies);
      for (const out of [{ kind: 'int32' }, { kind: 'uint8', multiplier: q.multiplier, zeroPoint: 9 }]) {
        const elem = out.kind === 'int32' ? 4 : 1, m = q.oh * q.ow;
        const y = await rt.scoped(async (alloc) => {
          const params = qcd.qs8Params(rt, alloc, w, q.za, false, out);
          params[qcd.QS8_PRM_ROW_SUM / 4] = alloc(m * 4 + 16);
          const prm = rt.putPadded(alloc, Int32Array, params, params.length);
          const xp = rt.putPadded(alloc, staged.constructor, staged, staged.length + 16), pps = rt.putPadded(alloc, Int32Array, ps, ps.length);
          const yp = alloc(m * q.n * elem + 16);
          await qcd.qs8ConvDirect(rt, q.g, { xp, ps: pps, hp: q.hp, wp: q.wp, w: dw, prm, y: yp, oh: q.oh, ow: q.ow, outStride: q.n * elem });
          return rt.read(elem === 4 ? Int32Array : Uint8Array, yp, m * q.n);
        });
        emit(build, w.layout, `${q.name} out=${out.kind}`, digest(y));
      }
      dw.dispose();
      w.dispose();
    }
  }
}

function refQcdCases() {
  for (const q of QCD_CASES) {
    const acc = qcd.refQs8ConvDirectAcc(Int32Array.from(q.a, (v) => v - q.za), q.wp, q.c, q.b, q.n, q.g, q.oh, q.ow, q.copies);
    emit('ref', '-', `${q.name} out=int32`, digest(acc));
    emit('ref', '-', `${q.name} out=uint8`, digest(lb.refRequantize(acc, q.oh * q.ow, q.n, q.multiplier, 9, false)));
  }
}

// ---- f32_act_nhwc, f32_softmax_rows, f32_gap_nhwc, f32_avgpool_nhwc, f32_scale_channels_nhwc,
// f32_add_nhwc, f32_copy_rows, f32_matmul_rows: plain IEEE mul/add in both builds (no relaxed_madd), so one name across builds ----

const ACT_CASES = [];
for (const [pixels, c] of [[9, 7], [3, 13], [2, 3], [1, 1]]) {
  for (const { kind, alpha, beta, id } of ACT_KINDS) {
    const name = `pixels=${pixels} c=${c} ${id}`;
    const r = new Rng(`act ${name}`);
    const cp = Math.ceil(c / 4) * 4;
    const ss = new Float32Array(2 * cp); // scale [cp], then shift [cp] (padded with 0)
    ss.set(r.floats(c, -2, 2), 0);
    ss.set(r.floats(c, -1, 1), cp);
    ACT_CASES.push({ name, pixels, c, cp, kind, alpha, beta, ss, x: actInput(r, pixels * c, -8, 8) });
  }
}

const refActNhwc = (a) => ew.refActNhwc(a.x, a.pixels, a.c, a.kind, a.alpha, a.beta, a.ss, a.ss.subarray(a.cp));

const SOFTMAX_CASES = [[3, 7], [2, 33], [5, 4], [4, 1], [2, 6625]].map(([rows, n]) => {
  const name = `rows=${rows} n=${n}`;
  const r = new Rng(`softmax ${name}`);
  const x = r.floats(rows * n, -10, 10);
  // row 1: a wide range (exp underflows, clamps at -87) and masked entries (-Infinity)
  if (rows > 1) {
    for (let j = 0; j < n; j++) x[n + j] = r.float(-150, 30);
    for (let j = 1; j < n; j += 3) x[n + j] = -Infinity;
  }
  return { name, rows, n, x };
});

const refSoftmax = (s) => ew.refSoftmaxRows(s.x, s.rows, s.n);

const GAP_CASES = [[49, 17], [1, 5], [9, 16], [13, 3]].map(([hw, c]) => {
  const name = `hw=${hw} c=${c}`;
  return { name, hw, c, x: new Rng(`gap ${name}`).floats(hw * c, -3, 3) };
});

const refGap = (g) => ew.refGapNhwc(g.x, g.hw, g.c);

const AVGPOOL_CASES = [];
for (const [h, w, c, kh, kw, sh, sw, pads] of [
  [7, 9, 17, 3, 3, 2, 2, [1, 1, 1, 1]],
  [8, 8, 5, 2, 2, 2, 2, [0, 0, 0, 0]],
  [6, 11, 16, 3, 5, 1, 2, [1, 2, 1, 2]],
  [5, 5, 7, 5, 5, 1, 1, [2, 2, 2, 2]],
  [7, 7, 3, 3, 3, 2, 2, [0, 0, 1, 1]],
]) {
  for (const countPad of [0, 1]) {
    const name = `h=${h} w=${w} c=${c} k=${kh}x${kw} s=${sh},${sw} pads=${pads} count_include_pad=${countPad}`;
    const oh = Math.floor((h + pads[0] + pads[2] - kh) / sh) + 1;
    const ow = Math.floor((w + pads[1] + pads[3] - kw) / sw) + 1;
    AVGPOOL_CASES.push({ name, h, w, c, kh, kw, sh, sw, pads, countPad, oh, ow, x: new Rng(`avgpool ${name}`).floats(h * w * c, -3, 3) });
  }
}

const refAvgpool = (a) => ew.refAvgpoolNhwc(a.x, a);

// max pooling: the same windows (count_include_pad does not apply), signed zeros and infinities mixed
// in (no NaN: wasm leaves a NaN result's payload to the CPU; test/elementwise.test.ts checks NaN wins)
const MAXPOOL_CASES = AVGPOOL_CASES.filter((a) => a.countPad === 0).map((a) => {
  const x = Float32Array.from(a.x);
  [x[1], x[5], x[9], x[12]] = [-Infinity, -0, 0, Infinity];
  return { ...a, name: a.name.replace(' count_include_pad=0', ''), x };
});
const refMaxpool = (a) => ew.refMaxpoolNhwc(a.x, a);

const SCALE_CASES = [[13, 17], [4, 5], [7, 16], [3, 2]].map(([pixels, c]) => {
  const name = `pixels=${pixels} c=${c}`;
  const r = new Rng(`scale-channels ${name}`);
  const cp = Math.ceil(c / 4) * 4;
  const s = new Float32Array(cp);
  s.set(r.floats(c, 0, 1.5));
  return { name, pixels, c, s, x: actInput(r, pixels * c, -4, 4) };
});

const refScaleChannels = (q) => ew.refScaleChannelsNhwc(q.x, q.c, q.s);

const ADD_CASES = [[13, 17], [4, 5], [7, 16], [3, 2], [1, 1]].map(([pixels, c]) => {
  const name = `pixels=${pixels} c=${c}`;
  const r = new Rng(`add ${name}`);
  return { name, pixels, c, a: actInput(r, pixels * c, -4, 4), b: actInput(r, pixels * c, -4, 4) };
});

const refAdd = (q) => ew.refAddNhwc(q.a, q.b);

// Concat on channels: rows of n floats into rows yStride floats apart (the floats between keep y's values)
const COPY_CASES = [[13, 17, 2, 24], [4, 5, 5, 9], [7, 16, 16, 16], [3, 1, 3, 4], [9, 24, 24, 96]].map(([rows, n, xStride, yStride]) => {
  xStride = Math.max(xStride, n);
  const name = `rows=${rows} n=${n} xstride=${xStride} ystride=${yStride}`;
  const r = new Rng(`copy-rows ${name}`);
  return { name, rows, n, xStride, yStride, x: r.floats(rows * xStride, -4, 4), y: r.floats(rows * yStride, -1, 1) };
});

const refCopy = (q) => ew.refCopyRows(q.x, q.xStride, q.y, q.yStride, q.rows, q.n);

const MATMUL_ROWS_CASES = [[1, 1, 7, 9], [2, 3, 7, 9], [3, 5, 33, 17], [2, 4, 16, 8], [1, 7, 1, 3], [4, 2, 5, 6]].map(([batch, m, k, n]) => {
  const name = `batch=${batch} m=${m} k=${k} n=${n}`;
  const r = new Rng(`matmul-rows ${name}`);
  return { name, batch, m, k, n, a: r.floats(batch * m * k, -1, 1), b: r.floats(batch * k * n, -1, 1) };
});

// f32_attention_rows: scores, the polynomial exp of util/act.ts and the weighted sum, plain mul/add
const ATTENTION_CASES = [[1, 1, 4, 5, 3], [3, 5, 15, 40, 15], [2, 7, 8, 9, 6], [2, 2, 3, 33, 5]].map(([heads, m, k, n, dv]) => {
  const name = `heads=${heads} m=${m} k=${k} n=${n} dv=${dv}`;
  const r = new Rng(`attention ${name}`);
  return { name, heads, m, k, n, dv, scale: 0.37, q: r.floats(heads * m * k, -2, 2), kt: r.floats(heads * k * n, -2, 2), v: r.floats(heads * n * dv, -1, 1) };
});

const refMatmulRows = (q) => ew.refMatmulRows(q.a, q.b, q.batch, q.m, q.k, q.n);

async function runElementwiseCases(rt, build) {
  for (const a of ACT_CASES) {
    const row = a.c * 4;
    const [y] = await withBuffers(rt, [a.x, a.ss], [[Float32Array, a.pixels * a.c]], ([x, ss], [yp]) =>
      rt.parallelColumns(a.pixels, 1, (p0, p1) => ['f32_act_nhwc', [x + p0 * row, p1 - p0, a.c, a.kind, a.alpha, a.beta, ss, ss + a.cp * 4, yp + p0 * row]], 1));
    emit(build, '-', `f32_act_nhwc ${a.name}`, digest(y));
  }
  for (const s of SOFTMAX_CASES) {
    const [y] = await withBuffers(rt, [s.x], [[Float32Array, s.rows * s.n]], ([x], [yp]) =>
      rt.parallelColumns(s.rows, 1, (r0, r1) => ['f32_softmax_rows', [x + r0 * s.n * 4, r1 - r0, s.n, yp + r0 * s.n * 4]], 1));
    emit(build, '-', `f32_softmax_rows ${s.name}`, digest(y));
  }
  for (const g of GAP_CASES) {
    const [y] = await withBuffers(rt, [g.x], [[Float32Array, g.c]], ([x], [yp]) => rt.kernels.f32_gap_nhwc(x, g.hw, g.c, yp));
    emit(build, '-', `f32_gap_nhwc ${g.name}`, digest(y));
  }
  for (const a of AVGPOOL_CASES) {
    const [pt, pl, pb, pr] = a.pads;
    const [y] = await withBuffers(rt, [a.x], [[Float32Array, a.oh * a.ow * a.c]], ([x], [yp]) =>
      rt.parallelColumns(a.oh, 1, (r0, r1) => ['f32_avgpool_nhwc', [a.h, a.w, a.c, a.kh, a.kw, a.sh, a.sw, pt, pl, pb, pr, a.countPad, r0, r1, a.ow, x, yp]], 1));
    emit(build, '-', `f32_avgpool_nhwc ${a.name}`, digest(y));
  }
  for (const a of MAXPOOL_CASES) {
    const [y] = await withBuffers(rt, [a.x], [[Float32Array, a.oh * a.ow * a.c]], ([x], [yp]) =>
      rt.parallelColumns(a.oh, 1, (r0, r1) => ['f32_maxpool_nhwc', [a.h, a.w, a.c, a.kh, a.kw, a.sh, a.sw, a.pads[0], a.pads[1], r0, r1, a.ow, x, yp]], 1));
    emit(build, '-', `f32_maxpool_nhwc ${a.name}`, digest(y));
  }
  for (const q of SCALE_CASES) {
    const row = q.c * 4;
    const [y] = await withBuffers(rt, [q.x, q.s], [[Float32Array, q.pixels * q.c]], ([x, s], [yp]) =>
      rt.parallelColumns(q.pixels, 1, (p0, p1) => ['f32_scale_channels_nhwc', [x + p0 * row, p1 - p0, q.c, s, yp + p0 * row]], 1));
    emit(build, '-', `f32_scale_channels_nhwc ${q.name}`, digest(y));
  }
  for (const q of ADD_CASES) {
    const row = q.c * 4;
    const [y] = await withBuffers(rt, [q.a, q.b], [[Float32Array, q.pixels * q.c]], ([a, b], [yp]) =>
      rt.parallelColumns(q.pixels, 1, (p0, p1) => ['f32_add_nhwc', [a + p0 * row, b + p0 * row, p1 - p0, q.c, yp + p0 * row]], 1));
    emit(build, '-', `f32_add_nhwc ${q.name}`, digest(y));
  }
  for (const q of COPY_CASES) {
    // the output starts as q.y: the floats between the copied rows must keep it
    const [y] = await withBuffers(rt, [q.x], [[Float32Array, q.y.length]], ([x], [yp]) => {
      rt.view(Float32Array, yp, q.y.length).set(q.y);
      return rt.parallelColumns(q.rows, 1, (r0, r1) => ['f32_copy_rows', [x + r0 * q.xStride * 4, q.xStride * 4, r1 - r0, q.n, yp + r0 * q.yStride * 4, q.yStride * 4]], 1);
    });
    emit(build, '-', `f32_copy_rows ${q.name}`, digest(y));
  }
  for (const q of MATMUL_ROWS_CASES) {
    const [y] = await withBuffers(rt, [q.a, q.b], [[Float32Array, q.batch * q.m * q.n]], ([a, b], [c]) =>
      rt.parallelColumns(q.batch, 1, (b0, b1) => ['f32_matmul_rows', [b0, b1, q.m, q.k, q.n, a, b, c]], 1));
    emit(build, '-', `f32_matmul_rows ${q.name}`, digest(y));
  }
  for (const a of ATTENTION_CASES) {
    const [y] = await withBuffers(rt, [a.q, a.kt, a.v, new Float32Array(a.heads * a.n)], [[Float32Array, a.heads * a.m * a.dv]], ([q, kt, v, s], [out]) =>
      rt.parallelColumns(a.heads, 1, (h0, h1) => ['f32_attention_rows', [h0, h1, a.m, a.k, a.n, a.dv, a.scale, q, kt, v, out, s]], 1));
    emit(build, '-', `f32_attention_rows ${a.name}`, digest(y));
  }
}

function refElementwiseCases() {
  for (const a of ACT_CASES) emit('ref', '-', `f32_act_nhwc ${a.name}`, digest(refActNhwc(a)));
  for (const s of SOFTMAX_CASES) emit('ref', '-', `f32_softmax_rows ${s.name}`, digest(refSoftmax(s)));
  for (const g of GAP_CASES) emit('ref', '-', `f32_gap_nhwc ${g.name}`, digest(refGap(g)));
  for (const a of AVGPOOL_CASES) emit('ref', '-', `f32_avgpool_nhwc ${a.name}`, digest(refAvgpool(a)));
  for (const a of MAXPOOL_CASES) emit('ref', '-', `f32_maxpool_nhwc ${a.name}`, digest(refMaxpool(a)));
  for (const q of SCALE_CASES) emit('ref', '-', `f32_scale_channels_nhwc ${q.name}`, digest(refScaleChannels(q)));
  for (const q of ADD_CASES) emit('ref', '-', `f32_add_nhwc ${q.name}`, digest(refAdd(q)));
  for (const q of COPY_CASES) emit('ref', '-', `f32_copy_rows ${q.name}`, digest(refCopy(q)));
  for (const q of MATMUL_ROWS_CASES) emit('ref', '-', `f32_matmul_rows ${q.name}`, digest(refMatmulRows(q)));
}

// ---- ivit_shiftmax_rows, ivit_shiftgelu, ivit_layernorm_rows (the I-ViT integer-only family):
// integer lanes only, so every build and CPU must give the scalar references' bytes
const IVIT_CASES = [[1, 1, 0.1], [3, 7, 0.37], [5, 33, 0.02], [2, 197, 4]].map(([rows, n, scale]) => {
  const name = `rows=${rows} n=${n} scale=${scale}`;
  const r = new Rng(`ivit ${name}`);
  const gamma = r.floats(n, 0.5, 1.5), beta = r.floats(n, -0.3, 0.3);
  return {
    name, rows, n, x: r.ints(Int8Array, rows * n, -128, 127),
    sm: lb.shiftmaxParams(scale), ge: lb.shiftGeluParams(scale, scale * 0.8, 1.702), ln: lb.layerNormParams(0.03, gamma, beta),
  };
});

async function runIvitCases(rt, build) {
  for (const c of IVIT_CASES) {
    const t = c.rows * c.n;
    const [sm, ge, ln] = await withBuffers(rt, [c.x, c.ln.gam, c.ln.bet], [[Uint8Array, t], [Int8Array, t], [Int8Array, t]], async ([x, gam, bet], [ys, yg, yl]) => {
      await lb.shiftmaxRows(rt, x, ys, c.rows, c.n, c.sm);
      await lb.shiftGelu(rt, x, yg, t, c.ge);
      await lb.layerNormRows(rt, x, yl, c.rows, c.n, gam, bet, c.ln);
    });
    emit(build, '-', `ivit_shiftmax_rows ${c.name}`, digest(sm));
    emit(build, '-', `ivit_shiftgelu ${c.name}`, digest(ge));
    emit(build, '-', `ivit_layernorm_rows ${c.name}`, digest(ln));
  }
}

function refIvitCases() {
  for (const c of IVIT_CASES) {
    emit('ref', '-', `ivit_shiftmax_rows ${c.name}`, digest(lb.refShiftmaxRows(c.x, c.rows, c.n, c.sm)));
    emit('ref', '-', `ivit_shiftgelu ${c.name}`, digest(lb.refShiftGelu(c.x, c.ge)));
    emit('ref', '-', `ivit_layernorm_rows ${c.name}`, digest(lb.refLayerNormRows(c.x, c.rows, c.n, c.ln)));
  }
}

// ---- qs8_stage_f32_c2 (QuantizeLinear to uint8 + c2 staging) and the qs8 float32 epilogue with an
// activation (params words 11..15); integer / plain-float paths: one name across builds and layouts ----

const STAGE_CASES = [[1, 1, 0.1, 0, 0], [3, 7, 0.05, 128, 0], [2, 8, 0.02, 255, 0], [5, 29, 0.5, 17, 3], [4, 64, 1, 0, 0], [2, 37, 2 ** -5, 100, 1]].map(
  ([m, k, scale, zp, extra]) => {
    scale = f(scale);
    const name = `m=${m} k=${k} scale=${scale} zp=${zp} xstride=${k + extra}`;
    const r = new Rng(`stage-f32 ${name}`);
    const xs = k + extra; // row stride in floats
    const x = r.floats(m * xs, -200 * scale, 200 * scale);
    const specials = [NaN, Infinity, -Infinity, -0, 0, 0.5 * scale, 1.5 * scale, -2.5 * scale, 1e30, -1e30, 127.5 * scale, -128.5 * scale, 254.5 * scale];
    for (let i = 0; i < x.length; i++) if (i % 3 === 1) x[i] = specials[((i / 3) | 0) % specials.length];
    return { name, m, k, kp: Math.ceil(k / 2) * 2, xs, scale, zp, x };
  },
);

function refStage(s) {
  const out = new Int16Array(s.m * s.kp);
  const sums = new Int32Array(s.m);
  for (let i = 0; i < s.m; i++) {
    for (let j = 0; j < s.k; j++) {
      const v = f(s.x[i * s.xs + j] / s.scale);
      const q = Number.isNaN(v) ? 0 : Math.min(255 - s.zp, Math.max(-s.zp, roundHalfEven(Math.max(-2147483648, Math.min(2147483647, v)))));
      out[i * s.kp + j] = q;
      sums[i] += q;
    }
  }
  return digest(out, sums);
}

const EPI_CASES = [];
for (const [m, k, n] of [[1, 37, 29], [5, 7, 9], [13, 37, 130]]) {
  for (const W of [WEIGHTS[0], WEIGHTS[1]]) {
    const A = ACTIVATIONS[m % 2];
    for (const { kind, alpha, beta, id } of ACT_KINDS) {
      const name = `qs8_gemm m=${m} k=${k} n=${n} a=${A.id} w=${W.id} zb=col out=float32 ${kind === 0 ? 'relu ' : ''}${id} +scale+shift`;
      const d = qs8Data(m, k, n, W, A, 'col'); // the data of the qs8_gemm ... zb=col cases
      const r = new Rng(name);
      const fo = d.outputs[4].out; // colScale, rowScale, bias, relu
      const out = {
        kind: 'float32', colScale: fo.colScale, rowScale: fo.rowScale, bias: fo.bias, relu: kind === 0,
        activation: { kind, alpha, beta, scale: r.floats(n, -2, 2), shift: r.floats(n, -1, 1) },
      };
      EPI_CASES.push({ name, m, k, n, a: d.a, b: d.b, za: d.za, zb: d.zb, out });
    }
  }
}

function refEpilogue(c) {
  const o = c.out;
  const { kind, alpha, beta, scale, shift } = o.activation;
  const y = lb.refDequantizeAcc(lb.refMatMulInteger(c.a, c.b, c.m, c.k, c.n, c.za, c.zb), c.m, c.n, o.colScale, o.rowScale, o.bias, !!o.relu);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      const t = i * c.n + j;
      y[t] = f(f(refAct(kind, y[t], alpha, beta) * scale[j]) + shift[j]);
    }
  }
  return y;
}

// ---- the int8 user layer's passes: f32_minmax_finite, qs8_stage_f32_rows_c2 (per-row symmetric
// int8 scales + c2 staging), and the int8 weight quantizer (q8_colmax_kn + q8_quantize_cols_kn for
// [K, N], q8_quantize_rows_nk for [N, K]); integer and plain-float paths: one name across builds ----

const ROW_CASES = [[1, 1], [3, 7], [2, 8], [5, 29], [4, 64], [2, 37]].map(([m, k]) => {
  const name = `m=${m} k=${k}`;
  const x = new Rng(`rows-c2 ${name}`).floats(m * k, -3, 3);
  x.fill(0, 0, Math.min(k, m > 1 ? k : 0)); // an all-zero row (scale 1) where there are two or more
  if (k > 2) x[k + 1 < x.length ? k + 1 : 1] = -0;
  return { name, m, k, kp: Math.ceil(k / 2) * 2, x };
});

function refRowsC2(c) {
  const out = new Int16Array(c.m * c.kp), sums = new Int32Array(c.m), scales = new Float32Array(c.m);
  for (let i = 0; i < c.m; i++) {
    let a = 0;
    for (let j = 0; j < c.k; j++) a = Math.max(a, Math.abs(c.x[i * c.k + j]));
    scales[i] = a > 0 ? f(a / 127) : 1;
    for (let j = 0; j < c.k; j++) {
      const q = Math.min(127, Math.max(-128, roundHalfEven(f(c.x[i * c.k + j] / scales[i]))));
      out[i * c.kp + j] = q;
      sums[i] += q;
    }
  }
  let lo = Infinity, hi = -Infinity;
  for (const v of c.x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [digest(out, sums, scales), digest(Float32Array.of(lo, hi))];
}

const WQ_CASES = [[1, 1, 127], [3, 5, 127], [37, 19, 63], [8, 64, 127], [29, 13, 127]].map(([k, n, qmax]) => {
  const name = `k=${k} n=${n} qmax=${qmax}`;
  const w = new Rng(`weights-q8 ${name}`).floats(k * n, -0.2, 0.2);
  for (let t = 0; t < k; t++) w[t * n + n - 1] = 0; // an all-zero channel (scale 1)
  const wnk = new Float32Array(k * n);
  for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) wnk[j * k + t] = w[t * n + j];
  return { name, k, n, qmax, w, wnk };
});

function refWeightsQ8(c) {
  const scales = new Float32Array(c.n), q = new Int8Array(c.k * c.n);
  for (let j = 0; j < c.n; j++) {
    let a = 0;
    for (let t = 0; t < c.k; t++) a = Math.max(a, Math.abs(c.w[t * c.n + j]));
    scales[j] = a > 0 ? f(a / c.qmax) : 1;
  }
  for (let i = 0; i < q.length; i++) q[i] = Math.max(-c.qmax, Math.min(c.qmax, roundHalfEven(f(c.w[i] / scales[i % c.n]))));
  return digest(q, scales);
}

async function runUserPathCases(rt, build) {
  for (const c of ROW_CASES) {
    let bad = -1, finite = -1;
    const [q, sums, scales] = await withBuffers(rt, [c.x], [[Int16Array, c.m * c.kp], [Int32Array, c.m], [Float32Array, c.m]], ([x], [out, rs, sc]) => {
      bad = rt.kernels.qs8_stage_f32_rows_c2(c.m, c.k, c.kp, x, c.k * 4, sc, out, rs);
    });
    const [mm] = await withBuffers(rt, [c.x], [[Float32Array, 2]], ([x], [o]) => {
      finite = rt.kernels.f32_minmax_finite(x, c.m * c.k, o);
    });
    if (bad !== 0 || finite !== 0) fail(`user-path cases ${c.name}: finite data reported as non-finite`);
    emit(build, '-', `qs8_stage_f32_rows_c2 ${c.name}`, digest(q, sums, scales));
    emit(build, '-', `f32_minmax_finite ${c.name}`, digest(mm));
  }
  for (const c of WQ_CASES) {
    const np = Math.ceil(c.n / 4) * 4;
    const [amax] = await withBuffers(rt, [c.w], [[Float32Array, np]], ([w], [a]) => rt.kernels.q8_colmax_kn(w, c.k, c.n, a));
    const scales = Float32Array.from(amax.subarray(0, c.n), (a) => (a > 0 ? f(a / c.qmax) : 1));
    const [qkn] = await withBuffers(rt, [c.w, scales], [[Int8Array, c.k * c.n]], ([w, s], [q]) => rt.kernels.q8_quantize_cols_kn(w, c.k, c.n, s, c.qmax, q));
    emit(build, '-', `q8 weights [K, N] ${c.name}`, digest(qkn, scales));
    const [snk, qnk] = await withBuffers(rt, [c.wnk], [[Float32Array, np], [Int8Array, c.k * c.n]], ([w], [s, q]) => rt.kernels.q8_quantize_rows_nk(w, c.n, c.k, c.n, 0, c.qmax, s, q));
    emit(build, '-', `q8 weights [N, K] ${c.name}`, digest(qnk, snk.subarray(0, c.n)));
  }
}

function refUserPathCases() {
  for (const c of ROW_CASES) {
    const [rows, mm] = refRowsC2(c);
    emit('ref', '-', `qs8_stage_f32_rows_c2 ${c.name}`, rows);
    emit('ref', '-', `f32_minmax_finite ${c.name}`, mm);
  }
  for (const c of WQ_CASES) {
    const d = refWeightsQ8(c);
    emit('ref', '-', `q8 weights [K, N] ${c.name}`, d);
    emit('ref', '-', `q8 weights [N, K] ${c.name}`, d);
  }
}

async function runQs8FloatCases(rt, build) {
  await runUserPathCases(rt, build);
  for (const s of STAGE_CASES) {
    const [q, sums] = await withBuffers(rt, [s.x], [[Int16Array, s.m * s.kp], [Int32Array, s.m]], ([x], [out, rs]) =>
      rt.kernels.qs8_stage_f32_c2(s.m, s.k, s.kp, x, s.xs * 4, s.scale, s.zp, out, rs));
    emit(build, '-', `qs8_stage_f32_c2 ${s.name}`, digest(q, sums));
  }
  for (const c of EPI_CASES) {
    const packs = [packOf(rt, c, {}), packOf(rt, c, W16)];
    if (packs[0].layout === 'c4') packs.push(packOf(rt, c, { allowSevenBit: false }));
    try {
      for (const w of packs) emit(build, w.layout, c.name, digest(await lb.runQs8(rt, c.a, c.m, c.za, w, c.out)));
    } finally {
      for (const w of packs) w.dispose();
    }
  }
}

function refQs8FloatCases() {
  refUserPathCases();
  for (const s of STAGE_CASES) emit('ref', '-', `qs8_stage_f32_c2 ${s.name}`, refStage(s));
  for (const c of EPI_CASES) emit('ref', '-', c.name, digest(refEpilogue(c)));
}

// ---- fp8 bulk encode / decode (E4M3FN, E5M2; saturate 0/1): integer and exact float ops only, the
// TS codec (src/quant/fp8.ts) is the reference; NaN signs and payloads, ±Inf, subnormals, -0 ----

function fp8EncodeInput(format, len) {
  const r = new Rng(`fp8-encode ${format} n=${len}`);
  const bits = new Uint32Array(len);
  const x = new Float32Array(bits.buffer);
  const max = lb.FP8[format].max;
  const minSub = format === 'e4m3fn' ? 2 ** -9 : 2 ** -16;
  const specials = [
    NaN, Infinity, -Infinity, 0, -0, max, -max, max * 1.03125, max * 1.0625, -max * 1.125, max * 2, 1e30, -1e30,
    minSub, -minSub, minSub * 0.5, minSub * 0.75, minSub * 0.25, minSub * 1.5, minSub * 2.5, -minSub * 3.5,
    2 ** -6, 2 ** -14, 2 ** -6 * 0.9375, 1.0625, 1.1875, 1.125, 3.25, -5.5, 0.1, -0.3333,
  ];
  const nanBits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x7fa12345, 0x00000001, 0x807fffff, 0x00400000];
  for (let i = 0; i < len; i++) {
    const t = i % 4;
    if (t === 0) bits[i] = r.next(); // any bit pattern: NaN payloads, subnormals, huge
    else if (t === 1) x[i] = specials[((i / 4) | 0) % specials.length] * (i & 8 ? -1 : 1);
    else if (t === 2) bits[i] = nanBits[((i / 4) | 0) % nanBits.length];
    else x[i] = (r.next() & 1 ? -1 : 1) * (1 + r.next() / 4294967296) * 2 ** r.int(-24, 18); // around the fp8 range
  }
  return x;
}

const FP8_ENCODE_LEN = 16 * 40 + 13; // vector blocks of 16 and a 13-element tail
const FP8_DECODE_CODES = (() => {
  const codes = new Uint8Array(256 * 2 + 7);
  for (let i = 0; i < 256; i++) codes[i] = i;
  const r = new Rng('fp8-decode codes');
  for (let i = 256; i < codes.length; i++) codes[i] = r.int(0, 255);
  return codes;
})();

async function runFp8Cases(rt, build) {
  for (const format of lb.FP8_FORMATS) {
    const x = fp8EncodeInput(format, FP8_ENCODE_LEN);
    for (const sat of [true, false]) {
      emit(build, '-', `fp8_encode ${format} saturate=${sat ? 1 : 0} n=${x.length}`, digest(await lb.encodeFp8Wasm(rt, x, format, sat)));
    }
    emit(build, '-', `fp8_decode ${format} n=${FP8_DECODE_CODES.length}`, digest(await lb.decodeFp8Wasm(rt, FP8_DECODE_CODES, format)));
  }
}

function refFp8Cases() {
  for (const format of lb.FP8_FORMATS) {
    const x = fp8EncodeInput(format, FP8_ENCODE_LEN);
    for (const sat of [true, false]) emit('ref', '-', `fp8_encode ${format} saturate=${sat ? 1 : 0} n=${x.length}`, digest(lb.encodeFp8(x, format, sat)));
    emit('ref', '-', `fp8_decode ${format} n=${FP8_DECODE_CODES.length}`, digest(lb.decodeFp8(FP8_DECODE_CODES, format)));
  }
}

// ---- f8w (8-bit float weights x float32, OCP FP8 and every FPx split; relaxed build fuses:
// '*.relaxed') and f8f8 (FP8 x FP8 with power-of-two row scales: every product exact, so one name
// across builds and the reference) ----

const F8W_CASES = [];
for (const format of ['e4m3fn', 'e5m2', 'E1M6', 'E2M5', 'E3M4', 'E4M3', 'E5M2']) {
  for (const [m, k, n] of [[1, 37, 19], [1, 300, 70], [5, 16, 33], [10, 100, 40]]) {
    const name = `${format} m=${m} k=${k} n=${n}`;
    const r = new Rng(`f8w ${name}`);
    // FPx codes are all finite; OCP NaN/Inf codes are folded into finite ones
    const finite = (c) => (format === 'e4m3fn' ? (c & 0x7f) !== 0x7f : format === 'e5m2' ? (c & 0x7f) < 0x7c : true);
    const codes = r.ints(Uint8Array, k * n, 0, 255).map((c) => (finite(c) ? c : c & 0x3f));
    F8W_CASES.push({ name, format, m, k, n, codes, scales: r.floats(n, 0.01, 1), x: r.floats(m * k, -3, 3), bias: (m + n) % 2 ? r.floats(n, -1, 1) : null });
  }
}

async function runF8wCases(rt, build) {
  for (const c of F8W_CASES) {
    const w = lb.packF8w(rt, c.codes, c.k, c.n, { format: c.format, scales: c.scales });
    try {
      emit(build, '-', `${f32Name(build, 'f8w')} ${c.name} clamp=-2,2`, digest(await lb.runF8w(rt, c.x, c.m, w, c.bias, -2, 2)));
      emit(build, '-', `f8f8 ${c.name}`, digest(await lb.runF8f8(rt, c.x, c.m, w, { bias: c.bias })));
    } finally {
      w.dispose();
    }
  }
}

function refF8wCases() {
  for (const c of F8W_CASES) {
    const q = { format: c.format, k: c.k, n: c.n, codes: c.codes, scales: c.scales };
    emit('ref', '-', `f8w ${c.name} clamp=-2,2`, digest(lb.refF8w(c.x, c.m, q, c.bias, -2, 2)));
    emit('ref', '-', `f8f8 ${c.name}`, digest(lb.refF8w(lb.quantizeF8Activations(c.x, c.m, c.k, 'e4m3fn').values, c.m, q, c.bias)));
  }
}

// ---- lut4 (4-bit codes through a 16-entry int8 table x int8 activations -> float32): exact int32
// sums and the same float ops in every build and layout (c2, c4), so one name and the reference ----

const LUT4_TABLES = {
  int4: () => lb.antType('int4').values,
  flint4: () => lb.antType('flint4').values,
  pot4: () => lb.antType('pot4').values, //  span 128: c2 on the relaxed build too
  random: () => Int8Array.from([5, -77, 127, -128, 0, 33, -1, 90, -60, 12, 64, -64, 100, -100, 7, 3]),
  span100: () => Int8Array.from([-50, -40, -31, -20, -13, -7, -2, 0, 3, 8, 15, 22, 29, 37, 44, 50]),
};
const LUT4_CASES = [];
for (const [tname, table] of Object.entries(LUT4_TABLES)) {
  for (const bs of [32, 'channel']) {
    for (const [m, k, n] of [[1, 100, 17], [1, 96, 130], [5, 269, 9], [9, 64, 24]]) {
      const scheme = LUT4_CASES.length % 2 ? 'per-block' : 'per-row';
      const name = `lut4 ${tname} bs=${bs} m=${m} k=${k} n=${n} act=${scheme}`;
      const r = new Rng(name);
      const b = lut4BlockSizeOf(k, bs);
      const nb = Math.ceil(k / b);
      const src = { n, k, table: table(), blockSize: bs, codes: r.ints(Uint8Array, n * k, 0, 15), scales: r.floats(n * nb, 0.001, 0.051) };
      const x = r.floats(m * k, -2, 2);
      x[0] = 1e4; // a saturated activation
      LUT4_CASES.push({ name, m, src, x, scheme, bias: (m + n) % 2 ? r.floats(n, -1, 1) : null });
    }
  }
}
// a table per panel: three tables, each channel's chosen at random (columns regrouped into
// panels of one table and gathered back); c4 on the relaxed build when every span is <= 127
for (const names of [['int4', 'flint4', 'span100'], ['pot4', 'random', 'int4']]) {
  for (const [m, k, n, bs] of [[1, 100, 29, 32], [5, 96, 21, 'channel'], [9, 64, 40, 32]]) {
    const scheme = LUT4_CASES.length % 2 ? 'per-block' : 'per-row';
    const name = `lut4 tables=${names.join('+')} bs=${bs} m=${m} k=${k} n=${n} act=${scheme}`;
    const r = new Rng(name);
    const nb = Math.ceil(k / lut4BlockSizeOf(k, bs));
    const columnTables = r.ints(Int32Array, n, 0, names.length - 1);
    const src = { n, k, tables: names.map((t) => LUT4_TABLES[t]()), columnTables, blockSize: bs, codes: r.ints(Uint8Array, n * k, 0, 15), scales: r.floats(n * nb, 0.001, 0.051) };
    const x = r.floats(m * k, -2, 2);
    x[0] = 1e4;
    LUT4_CASES.push({ name, m, src, x, scheme, bias: (m + n) % 2 ? r.floats(n, -1, 1) : null });
  }
}
function lut4BlockSizeOf(k, bs) {
  return bs === 'channel' ? Math.ceil(k / 32) * 32 : bs;
}

async function runLut4Cases(rt, build) {
  for (const c of LUT4_CASES) {
    const w = lb.packLut4(rt, c.src);
    try {
      emit(build, w.layout, c.name, digest(await lb.runLut4(rt, c.x, c.m, w, { bias: c.bias, activations: c.scheme })));
    } finally {
      w.dispose();
    }
  }
}

function refLut4Cases() {
  for (const c of LUT4_CASES) emit('ref', '-', c.name, digest(lb.refLut4(c.x, c.m, c.src, c.bias, c.scheme)));
}

// ---- f64_xtx_4x4 and f64_gemm_4x4 (GPTQ's layer Hessians XᵀX, its Cholesky rank updates and lazy
// batch updates; exact f64x2 mul then add, no FMA on either build): XtxSum against HessianSum, and
// int4 GPTQ with the wasm products against the scalar ones; one name across builds and 'ref' ----

const XTX_CASES = [[1, 3], [5, 37], [37, 263], [67, 300]].map(([k, rows]) => {
  const name = `f64_xtx_4x4 k=${k} rows=${rows}`;
  const x = new Rng(name).wideFloats(k * rows);
  return { name, k, rows, x };
});
const GPTQ_CASES = [[70, 5, false], [130, 9, true]].map(([k, n, actOrder]) => {
  const name = `gptq int4 k=${k} n=${n} actOrder=${actOrder}`;
  const r = new Rng(name);
  const x = r.floats(k * (k + 30), -1, 1);
  const w = r.floats(n * k, -0.2, 0.2);
  return { name, k, n, actOrder, x, w };
});

function gptqCase(c, dense) {
  const h = new lb.HessianSum(c.k);
  for (let i = 0; i < c.k + 30; i++) h.addRow(c.x, i * c.k);
  const q = lb.quantizeInt4GptqHessian(c.w, c.n, c.k, h.result(1 / (c.k + 30)), { blockSize: 32, actOrder: c.actOrder, clipSearch: true, ...dense });
  return digest(q.q, q.scales);
}

function runXtxCases(rt, build) {
  for (const c of XTX_CASES) {
    const s = new lb.XtxSum(rt, c.k);
    for (let i = 0; i < c.rows; i++) s.addRow(c.x, i * c.k);
    emit(build, '-', c.name, digest(s.result(1)));
  }
  for (const c of GPTQ_CASES) emit(build, '-', c.name, gptqCase(c, { syrk: lb.wasmSyrkLower(rt), gemm: lb.wasmGemmNT(rt) }));
}

function refXtxCases() {
  for (const c of XTX_CASES) {
    const s = new lb.HessianSum(c.k);
    for (let i = 0; i < c.rows; i++) s.addRow(c.x, i * c.k);
    emit('ref', '-', c.name, digest(s.result(1)));
  }
  for (const c of GPTQ_CASES) emit('ref', '-', c.name, gptqCase(c, {}));
}

// ---------------------------------------------------------------------------------------------
// every entry of the format table (src/formats/table.ts), through the table: quantize fixed
// weights, run the format's GEMM, and its scalar reference. Formats whose GEMM is bit for bit
// (referenceTolerance 0) share one case name with 'ref'; the others are named '*.relaxed' on the
// relaxed build (fused multiply-add), as f8w is.

const FORMAT_CASES = [];
for (const format of lb.WEIGHT_FORMATS) {
  for (const [m, k, n] of [[1, 64, 24], [3, 40, 9], [5, 96, 17]]) {
    const name = `format.${format.name} m=${m} k=${k} n=${n}`;
    const r = new Rng(name);
    const x = r.floats(m * k, -2, 2);
    const data = format.quantize(r.floats(n * k, -0.2, 0.2), n, k, { input: lb.uint8Range(-2, 2) });
    FORMAT_CASES.push({ name, format, data, m, x, bias: r.floats(n, -1, 1) });
  }
}

async function runFormatCases(rt, build) {
  for (const c of FORMAT_CASES) {
    const name = build === 'relaxed' && c.format.referenceTolerance > 0 ? `${c.name}.relaxed` : c.name;
    emit(build, '-', name, digest(await lb.runFormatGemm(rt, c.format, c.data, c.x, c.m, c.bias)));
  }
}

function refFormatCases() {
  for (const c of FORMAT_CASES) emit('ref', '-', c.name, digest(c.format.reference(c.data, c.x, c.m, c.bias)));
}

// ---- qs8_attn (int8 attention rows: exact, padded, pruned): int32 dots, the polynomial exp, plain
// mul/add and a relaxed dot only on 7-bit operands, so one digest on both builds and 'ref'
const attnRef = await import('../dist/kernels/reference/qs8-attn.js');
const ATTN_CASES = [[1, 5, 3], [20, 37, 6], [64, 9, 4], [80, 64, 5]].map(([h, t, m]) => {
  const name = `h=${h} keys=${t} m=${m}`;
  const r = new Rng(`qs8_attn ${name}`), hp = Math.ceil(h / 16) * 16;
  const rowsOf = (n, lo, hi) => {
    const out = new Int8Array(n * hp);
    for (let i = 0; i < n; i++) out.set(r.ints(Int8Array, h, lo, hi), i * hp);
    return out;
  };
  const q = rowsOf(m, -127, 127), k = rowsOf(t, -127, 127), v = rowsOf(t, -127, 127), q4 = rowsOf(m, -7, 7), k4 = rowsOf(t, 1, 15);
  const qScale = r.floats(m, 1e-4, 3e-3), q4Scale = r.floats(m, 0.01, 0.1);
  const his = Int32Array.from({ length: m }, (_, i) => (i === 0 ? 0 : r.int(1, t)));
  return { name, h, hp, t, m, q, k, v, q4, k4, qScale, q4Scale, his, vScale: Math.fround(0.013), theta: Math.fround(0.05) };
});

async function runQs8AttnCases(rt, build) {
  for (const a of ATTN_CASES) {
    const scratch = new Uint8Array(attnScratch(a.t, a.hp));
    for (const full of [0, 1]) {
      const [y] = await withBuffers(rt, [a.q, a.qScale, a.k, a.v, a.his, scratch], [[Float32Array, a.m * a.h]], ([q, qs, k, v, his, sc], [out]) =>
        rt.kernels.qs8_attn_rows(a.m, a.h, a.hp, q, qs, k, v, a.t, full, his, a.vScale, a.t, sc, out, a.h * 4));
      emit(build, '-', `qs8_attn_rows ${full ? 'padded' : 'ragged'} ${a.name}`, digest(y));
    }
    const [y, kept] = await withBuffers(rt, [a.q, a.qScale, a.q4, a.q4Scale, a.k, a.k4, a.v, a.his, scratch], [[Float32Array, a.m * a.h], [Int32Array, a.m]], ([q, qs, q4, q4s, k, k4, v, his, sc], [out, kept]) =>
      rt.kernels.qs8_attn_rows_pruned(a.m, a.h, a.hp, q, qs, q4, q4s, k, k4, v, his, a.theta, 0, a.vScale, a.t, sc, out, a.h * 4, kept));
    emit(build, '-', `qs8_attn_rows_pruned ${a.name}`, digest(y, kept));
    // top-k: the 3 highest approximate scores per row
    const [yk, keptk] = await withBuffers(rt, [a.q, a.qScale, a.q4, a.q4Scale, a.k, a.k4, a.v, a.his, scratch], [[Float32Array, a.m * a.h], [Int32Array, a.m]], ([q, qs, q4, q4s, k, k4, v, his, sc], [out, kept]) =>
      rt.kernels.qs8_attn_rows_pruned(a.m, a.h, a.hp, q, qs, q4, q4s, k, k4, v, his, a.theta, 3, a.vScale, a.t, sc, out, a.h * 4, kept));
    emit(build, '-', `qs8_attn_rows_pruned top-3 ${a.name}`, digest(yk, keptk));
  }
}

function attnScratch(tmax, hp) {
  return ((tmax + 7) & ~3) * 14 + hp * 2 + 64;
}

function refQs8AttnCases() {
  for (const a of ATTN_CASES) {
    for (const full of [0, 1]) emit('ref', '-', `qs8_attn_rows ${full ? 'padded' : 'ragged'} ${a.name}`, digest(attnRef.refQs8AttnRows({ ...a, n: full ? a.t : null })));
    const p = attnRef.refQs8AttnRowsPruned(a);
    emit('ref', '-', `qs8_attn_rows_pruned ${a.name}`, digest(p.out, p.kept));
    const pk = attnRef.refQs8AttnRowsPruned({ ...a, topk: 3 });
    emit('ref', '-', `qs8_attn_rows_pruned top-3 ${a.name}`, digest(pk.out, pk.kept));
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
refSpmmCases();
refSddmmCases();
refActBlockCases();
refConvCases();
refElementwiseCases();
refQs8FloatCases();
refFp8Cases();
refF8wCases();
refLut4Cases();
refFormatCases();
refXtxCases();
refIvitCases();
refQs8AttnCases();
refQcdCases();

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
    await runSpmmCases(rt, build);
    await runSddmmCases(rt, build);
    await runActBlockCases(rt, build);
    await runConvCases(rt, build);
    await runQcdCases(rt, build);
    await runElementwiseCases(rt, build);
    await runIvitCases(rt, build);
    await runQs8FloatCases(rt, build);
    await runFp8Cases(rt, build);
    await runF8wCases(rt, build);
    await runLut4Cases(rt, build);
    await runFormatCases(rt, build);
    runXtxCases(rt, build);
    await runQs8AttnCases(rt, build);
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
