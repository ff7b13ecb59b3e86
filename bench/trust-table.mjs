#!/usr/bin/env node
// Issue 12's closing tables: for each input class of its list (saved files that do not fit, NaN/Inf
// inputs, hostile graphs, bad inputs, the newcomer path, memory), adversarial cases run against
// dist/ and each outcome counted: a typed error (a LowbitError, or a CLI error of one line with exit
// code 2), a right answer (NaN where float32 is NaN; a damaged saved file whose outputs stay
// bit-identical; a bounded cache), a crash (any other exception, a stack trace, a hang) or a silent
// wrong answer (it ran and its outputs differ from what they must be). The issue's "done" is every
// count zero but typed errors and right answers.
//
//   npx tsc -p tsconfig.json && node bench/trust-table.mjs [--quick]
//
// The fuzzer's figures come from the fuzzing pass (LOWBIT_FUZZ_SECONDS=120 npx vitest run
// test/fuzz-run.test.ts --project baseline, as .ci/run runs it), the leak slope from bench/leak.mjs.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxproto from 'onnx-proto';
import {
  FORMAT_NAMES, LowbitError, createRuntime, loadModel, loadQuantized, mulberry32, normalFloats, quantizeModel, readSafetensors, saveQuantized, writeSafetensors,
} from '../dist/index.js';
import { metadataChecksum } from '../dist/model/saved.js';
import { sha256Hex } from '../dist/model/fingerprint.js';
import { readFileSync } from 'node:fs';
import { loadavg, machine } from './system.mjs';

const quick = process.argv.includes('--quick');
const { onnx } = onnxproto;
const FLOAT = 1, INT64 = 7;

// ------------------------------------------------------------------ models, written with onnx-proto

const vi = (name, elemType, dims) => ({ name, type: { tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } : {}) } } });
const f32 = (name, dims, seed, scale) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(normalFloats(mulberry32(seed), dims.reduce((a, b) => a * b, 1), scale).buffer) });
const i64 = (name, values) => ({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) });
const ia = (name, ints) => ({ name, type: 7, ints });
const model = ({ inputs, outputs, inits = [], nodes, opset = 13 }) => onnx.ModelProto.encode(onnx.ModelProto.create({
  irVersion: 8, opsetImport: [{ domain: '', version: opset }],
  graph: { name: 'trust', input: inputs, output: outputs, initializer: inits, node: nodes.map((n, i) => ({ name: n.name ?? `${n.opType}_${i}`, ...n })) },
})).finish();

/** Conv 3x3 -> Relu -> Flatten -> MatMul -> Softmax on [1, 4, 8, 8] (every layer quantized with speed 'off'). */
function convNet(seed = 1) {
  return model({
    inputs: [vi('x', FLOAT, [1, 4, 8, 8])], outputs: [vi('y', FLOAT)],
    inits: [f32('w1', [8, 4, 3, 3], seed, 0.3), f32('b1', [8], seed + 1, 0.1), f32('w3', [512, 10], seed + 2, 0.05)],
    nodes: [
      { opType: 'Conv', input: ['x', 'w1', 'b1'], output: ['c1'], attribute: [ia('pads', [1, 1, 1, 1])] },
      { opType: 'Relu', input: ['c1'], output: ['r1'] },
      { opType: 'Flatten', input: ['r1'], output: ['f'] },
      { opType: 'MatMul', input: ['f', 'w3'], output: ['z'] },
      { opType: 'Softmax', input: ['z'], output: ['y'] },
    ],
  });
}
const feed = (seed) => ({ x: { type: 'float32', dims: [1, 4, 8, 8], data: normalFloats(mulberry32(seed), 256, 1) } });

// ------------------------------------------------------------------ outcomes

const table = new Map();
function tally(cls, outcome, what) {
  const row = table.get(cls) ?? { tries: 0, typed: 0, right: 0, crash: 0, wrong: 0, examples: [] };
  row.tries++;
  row[outcome]++;
  if ((outcome === 'crash' || outcome === 'wrong') && row.examples.length < 12) row.examples.push(what);
  table.set(cls, row);
}
/** Runs fn: its value, or 'typed' for a LowbitError, or the crash. */
async function attempt(fn) {
  try {
    return { value: await fn() };
  } catch (e) {
    return e instanceof LowbitError ? { typed: e } : { crash: e };
  }
}
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const outputs = async (m, f) => Array.from((await m.run(f)).y.data);

const rt = await createRuntime({ threads: 1 });

// ------------------------------------------------------------------ 1. saved files that do not fit

async function savedFiles() {
  const cls = 'saved files that do not fit';
  const float = loadModel(rt, convNet(1));
  const schemes = quick ? ['int8', 'int4'] : FORMAT_NAMES;
  for (const scheme of schemes) {
    const q = await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(1), feed(2)] });
    const want = await outputs(q, feed(5));
    const file = saveQuantized(q);
    q.dispose();
    const headerEnd = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
    const r = mulberry32(100 + scheme.length);
    const cases = [];
    for (const [lo, hi, n] of [[headerEnd, file.length, quick ? 40 : 100], [8, headerEnd, quick ? 20 : 50]]) {
      for (let i = 0; i < n; i++) {
        const bad = file.slice();
        const at = lo + Math.floor(r() * (hi - lo));
        bad[at] ^= 1 << Math.floor(r() * 8);
        cases.push([`${scheme}: bit flip at byte ${at}`, bad]);
      }
    }
    for (const cut of [0, 8, headerEnd, headerEnd + 1, file.length - 1]) cases.push([`${scheme}: truncated to ${cut} bytes`, file.slice(0, cut)]);
    for (const [what, bytes] of cases) await judgeSaved(cls, what, float, bytes, want);
  }
  // forged records with valid checksums (the readers' own checks), int8
  const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [feed(1), feed(2)] });
  const want = await outputs(q, feed(5));
  const file = saveQuantized(q);
  q.dispose();
  const { tensors, metadata } = readSafetensors(file);
  const recs = JSON.parse(metadata.layers);
  const key = Object.keys(recs)[0];
  for (const input of [{ scale: 0, zeroPoint: 3 }, { scale: -1, zeroPoint: 3 }, { scale: 0.1, zeroPoint: 300 }]) {
    await judgeSaved(cls, `forged input ${JSON.stringify(input)}`, float, forge(tensors, metadata, { ...recs, [key]: { ...recs[key], input } }), want);
  }
  for (const v of [NaN, 0, -1, 1e30, Infinity]) {
    const s = tensors.get(`${key}/scales`);
    const bad = new Map(tensors).set(`${key}/scales`, { ...s, data: Float32Array.from(s.data, (x, i) => (i === 1 ? v : x)) });
    await judgeSaved(cls, `forged weight scale ${v}`, float, forge(bad, metadata), want);
  }
  await judgeSaved(cls, 'no layer records', float, forge(new Map(), metadata, {}), want);
  const { [key]: dropped, ...rest } = recs;
  void dropped;
  await judgeSaved(cls, `layer '${key}' left out`, float, forge(new Map([...tensors].filter(([n]) => !n.startsWith(`${key}/`))), metadata, rest), want);
  // another graph's file
  for (const seed of [2, 3]) {
    const other = loadModel(rt, convNet(seed));
    const oq = await quantizeModel(other, { scheme: 'int8', speed: 'off', calibration: [feed(1)] });
    await judgeSaved(cls, `another model's file (weights seed ${seed})`, float, saveQuantized(oq), want);
    oq.dispose();
    other.dispose();
  }
  await judgeSaved(cls, 'an empty file', float, new Uint8Array(0), want);
  await judgeSaved(cls, 'the .onnx file itself', float, convNet(1), want);
  float.dispose();
}

function forge(tensors, metadata, records, extra = {}) {
  const recs = structuredClone(records ?? JSON.parse(metadata.layers));
  for (const [name, t] of tensors) {
    const i = name.lastIndexOf('/');
    const r = recs[name.slice(0, i)];
    if (r && typeof r === 'object') r.sha256 = { ...r.sha256, [name.slice(i + 1)]: sha256Hex(t.data) };
  }
  const m = { ...metadata, layers: JSON.stringify(recs), ...extra };
  return writeSafetensors(tensors, { ...m, sha256: metadataChecksum(m) });
}

async function judgeSaved(cls, what, float, bytes, want) {
  const o = await attempt(async () => {
    const m = loadQuantized(float, bytes);
    try {
      return await outputs(m, feed(5));
    } finally {
      m.dispose();
    }
  });
  // a damaged file that loads must give the intact file's outputs, bit for bit
  tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : same(o.value, want) ? 'right' : 'wrong', `${what}: ${o.crash ? o.crash.message : 'ran with changed outputs'}`);
}

// ------------------------------------------------------------------ 2. NaN and Inf inputs

async function nonFinite() {
  // ±3.4e38 is finite: float32 gives finite outputs here (one-hot softmax), so a quantized model must
  // too, with its own answer (huge-inputs below), or a typed error (a static int8 range it cannot
  // represent: src/layers/nonfinite.ts)
  const classOf = (v) => (Number.isFinite(v) ? 'huge finite inputs (±3.4e38)' : 'NaN/Inf inputs');
  const float = loadModel(rt, convNet(1));
  const models = [['float32', float]];
  for (const scheme of FORMAT_NAMES) models.push([scheme, await quantizeModel(float, { scheme, speed: 'off', calibration: [feed(1), feed(2)] })]);
  const checking = await quantizeModel(float, { scheme: 'int8', speed: 'off', nonFinite: 'error', calibration: [feed(1), feed(2)] });
  models.push(['int8 (checking)', checking]);
  const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);
  for (const bad of [NaN, Infinity, -Infinity, 3.4e38, -3.4e38]) {
    for (const at of [0, 77, 255]) {
      const f = feed(9);
      f.x.data[at] = bad;
      const ref = await outputs(float, f);
      // the same input with the huge value at an ordinary magnitude (1e4: no float32 intermediate
      // overflows in any scheme): the scheme's own answer, weight rounding and all
      const g = feed(9);
      g.x.data[at] = Math.sign(bad) * 1e4;
      for (const [name, m] of models) {
        if (m === checking) continue;
        const o = await attempt(() => outputs(m, f));
        if (o.typed || o.crash) {
          tally(classOf(bad), o.typed ? 'typed' : 'crash', `${name} ${bad}@${at}: ${o.crash?.message}`);
          continue;
        }
        // non-finite exactly where float32 (and onnxruntime) are non-finite: never a confident number
        let ok = o.value.every((v, i) => Number.isFinite(v) === Number.isFinite(ref[i]));
        if (ok && Number.isFinite(bad)) {
          const own = await outputs(m, g);
          ok = argmax(o.value) === argmax(own);
          hugeTop1.tries++;
          if (argmax(o.value) === argmax(ref)) hugeTop1.agree++;
          else hugeTop1.flips.push(`${name} ${bad}@${at} (at 1e4 too: ${argmax(own) !== argmax(Array.from((await float.run(g)).y.data))})`);
        }
        tally(classOf(bad), ok ? 'right' : 'wrong', `${name} ${bad}@${at}: ${Number.isFinite(bad) ? 'not its own answer at 1e4, or' : ''} finite where float32 is not (or the reverse)`);
      }
      // asked to check (quantizeModel's nonFinite: 'error'): a typed error
      const o = await attempt(() => checking.run(f));
      if (!o.value) tally(classOf(bad), o.typed ? 'typed' : 'crash', `nonFinite 'error' ${bad}: ${o.crash?.message}`);
      else tally(classOf(bad), ref.every(Number.isFinite) ? 'right' : 'wrong', `int8 with nonFinite 'error' ${bad}@${at}: ran`);
    }
  }
  for (const [, m] of models) m.dispose();
}
/** huge inputs that ran: top-1 agreement with float32 (a flip at 1e4 too is the scheme's weight rounding) */
const hugeTop1 = { tries: 0, agree: 0, flips: [] };


// ------------------------------------------------------------------ 2b. rt.linear's static ranges, huge weights

async function linearAndWeights() {
  // rt.linear with a static (calibrated) int8 input range, ±3.4e38 or 1e6 in one row: a typed error,
  // or outputs whose top-1 per row is float32's (saturating at the calibrated end was not)
  const cls = 'huge finite inputs (±3.4e38)';
  const [m, k, n] = [3, 64, 10];
  const r = mulberry32(41);
  const w = normalFloats(r, k * n, 0.1), x = normalFloats(r, m * k, 1), calibration = normalFloats(r, 8 * k, 1);
  const argmax = (a) => a.reduce((b, v, i) => (v > a[b] ? i : b), 0);
  for (const [name, opts] of [['int8 static', { dtype: 'int8', activations: 'static', calibration }], ['int8-sparse', { dtype: 'int8-sparse', calibration }], ['int4-sparse', { dtype: 'int4-sparse', calibration }]]) {
    const layer = await rt.linear(w, [k, n], null, opts);
    for (const bad of [3.4e38, -3.4e38, 1e6]) {
      for (const at of [0, k + 17, 3 * k - 1]) {
        const d = x.slice();
        d[at] = bad;
        const o = await attempt(() => layer.forward(d));
        if (!o.value) { tally(cls, o.typed ? 'typed' : 'crash', `rt.linear ${name} ${bad}@${at}: ${o.crash?.message}`); continue; }
        const row = Math.floor(at / k), want = new Float64Array(n);
        for (let j = 0; j < n; j++) for (let i = 0; i < k; i++) want[j] += d[row * k + i] * w[i * n + j];
        const got = Array.from(o.value.subarray(row * n, (row + 1) * n));
        tally(cls, argmax(got) === argmax(Array.from(want)) ? 'right' : 'wrong', `rt.linear ${name} ${bad}@${at}: ran, top-1 of its row not float32's`);
      }
    }
    layer.dispose();
  }
  // a 1e30 weight in the Conv or the MatMul: each scheme a typed error naming the node, or no top-1
  // flip the scheme does not make without it (on 5 inputs: flips from the scheme's ordinary weight
  // rounding on this small random net are not the huge weight's doing)
  const wcls = 'huge weights (1e30)';
  const plain = loadModel(rt, convNet(1));
  const plainQ = new Map();
  for (const scheme of FORMAT_NAMES) plainQ.set(scheme, await quantizeModel(plain, { scheme, speed: 'off', calibration: [feed(1), feed(2)] }));
  for (const [init, at, node] of [['w1', 5 * 36 + 7, 'Conv'], ['w3', 300 * 10 + 2, 'MatMul']]) {
    const decoded = onnx.ModelProto.decode(convNet(1));
    const t = decoded.graph.initializer.find((i) => i.name === init);
    const v = new Float32Array(Uint8Array.from(t.rawData).buffer);
    v[at] = 1e30;
    t.rawData = new Uint8Array(v.buffer);
    const float = loadModel(rt, onnx.ModelProto.encode(decoded).finish());
    for (const scheme of FORMAT_NAMES) {
      const q = await attempt(() => quantizeModel(float, { scheme, speed: 'off', calibration: [feed(1), feed(2)] }));
      if (!q.value) {
        tally(wcls, q.typed ? 'typed' : 'crash', `${scheme}, 1e30 in ${node}: ${q.crash?.message}`);
        if (q.typed && !q.typed.message.includes(' node ')) wNamed.push(`${scheme} ${node}: ${q.typed.message.slice(0, 80)}`);
        continue;
      }
      let ok = true;
      for (const s of [11, 12, 13, 14, 15]) {
        const want = await outputs(float, feed(s)), got = await outputs(q.value, feed(s));
        const ownRight = argmax(await outputs(plain, feed(s))) === argmax(await outputs(plainQ.get(scheme), feed(s)));
        if ((ownRight && argmax(want) !== argmax(got)) || got.some((g, i) => Number.isFinite(g) !== Number.isFinite(want[i]))) ok = false;
      }
      tally(wcls, ok ? 'right' : 'wrong', `${scheme}, 1e30 in ${node}: ran, top-1 not float32's where the scheme's is without the huge weight`);
      q.value.dispose();
    }
    float.dispose();
  }
  for (const q of plainQ.values()) q.dispose();
  plain.dispose();
}
/** typed quantize-time errors for huge weights that do not name a node */
const wNamed = [];

// ------------------------------------------------------------------ 3. hostile graphs

async function hostileGraphs() {
  const cls = 'hostile graphs';
  const x = vi('x', FLOAT, [1, 4, 8, 8]), y = vi('y', FLOAT);
  const w = f32('w', [4, 4, 3, 3], 3, 0.3);
  const conv = (attrs) => model({ inputs: [x], outputs: [y], inits: [w], nodes: [{ opType: 'Conv', input: ['x', 'w'], output: ['y'], attribute: attrs }] });
  const pool = (op, attrs) => model({ inputs: [x], outputs: [y], nodes: [{ opType: op, input: ['x'], output: ['y'], attribute: attrs }] });
  const qdq = (scale) => model({
    inputs: [x], outputs: [y], inits: [{ name: 's', dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(scale).buffer) }, { name: 'zp', dims: [], dataType: 2, rawData: Uint8Array.of(128) }],
    nodes: [{ opType: 'QuantizeLinear', input: ['x', 's', 'zp'], output: ['q'] }, { opType: 'DequantizeLinear', input: ['q', 's', 'zp'], output: ['y'] }],
  });
  const big = (a, b) => [i64('a', [a]), i64('b', [b])];
  const int64Op = (op, out, attrs = []) => model({
    inputs: [x], outputs: [vi('y', FLOAT), vi('o', out)], inits: big(2n ** 60n + 5n, 2n ** 60n),
    nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }, { opType: op, input: op === 'Cast' ? ['a'] : ['a', 'b'], output: ['o'], attribute: attrs }],
  });
  const cases = [
    ['Conv dilations 0', conv([ia('dilations', [0, 0])])],
    ['Conv strides 0', conv([ia('strides', [0, 0])])],
    ['Conv pads -1', conv([ia('pads', [-1, -1, -1, -1])])],
    ['Conv group 0', conv([{ name: 'group', type: 2, i: 0 }])],
    ['Conv group 3 (does not divide 4 channels)', conv([{ name: 'group', type: 2, i: 3 }])],
    ['Conv kernel_shape [0, 0]', conv([ia('kernel_shape', [0, 0])])],
    ['MaxPool kernel 0', pool('MaxPool', [ia('kernel_shape', [0, 0])])],
    ['MaxPool pads >= kernel', pool('MaxPool', [ia('kernel_shape', [2, 2]), ia('pads', [2, 2, 2, 2])])],
    ['AveragePool strides 0', pool('AveragePool', [ia('kernel_shape', [2, 2]), ia('strides', [0, 0])])],
    ['Softmax axis 9', pool('Softmax', [{ name: 'axis', type: 2, i: 9 }])],
    ['QDQ scale NaN', qdq(NaN)], ['QDQ scale 0', qdq(0)], ['QDQ scale -1', qdq(-1)], ['QDQ scale Inf', qdq(Infinity)],
    ['int64 Sub of 2^60+5 and 2^60', int64Op('Sub', INT64)],
    ['int64 Equal of 2^60+5 and 2^60', int64Op('Equal', 9)],
    ['Cast int64 2^60+5 to float', int64Op('Cast', FLOAT, [{ name: 'to', type: 2, i: FLOAT }])],
    ['a cycle', model({ inputs: [x], outputs: [y], nodes: [{ opType: 'Add', input: ['x', 'z'], output: ['y'] }, { opType: 'Relu', input: ['y'], output: ['z'] }] })],
    ['an unknown operator', model({ inputs: [x], outputs: [y], nodes: [{ opType: 'NoSuchOp', input: ['x'], output: ['y'] }] })],
    ['a value read before it exists', model({ inputs: [x], outputs: [y], nodes: [{ opType: 'Relu', input: ['nowhere'], output: ['y'] }] })],
    ['opset 99', model({ inputs: [x], outputs: [y], nodes: [{ opType: 'Relu', input: ['x'], output: ['y'] }], opset: 99 })],
    ['not a protobuf', Uint8Array.from([0xff, 0xff, 0xff, 0x01, 0x02])],
  ];
  for (const [what, bytes] of cases) {
    const o = await attempt(async () => {
      const m = loadModel(rt, bytes);
      try {
        return await m.run(feed(3));
      } finally {
        m.dispose();
      }
    });
    // every one is refused by onnxruntime too (test/graph-validation.test.ts, test/int64-range.test.ts …): running is wrong
    tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : 'wrong', `${what}: ${o.crash ? o.crash.message : 'ran'}`);
  }
  // NonZero of a run-time input: valid (onnxruntime runs it); refused before staged plans, now it
  // must give the indices of the non-zeros, row-major, int64 [4, count]
  const nz = model({ inputs: [x], outputs: [vi('y', INT64)], nodes: [{ opType: 'NonZero', input: ['x'], output: ['y'] }] });
  const nzm = loadModel(rt, nz);
  const nzIn = feed(3);
  nzIn.x.data[5] = 0;
  const o = await attempt(async () => (await nzm.run(nzIn)).y);
  nzm.dispose();
  const at = [...nzIn.x.data.keys()].filter((i) => nzIn.x.data[i] !== 0);
  const want = [0, 1, 2, 3].flatMap((d) => at.map((i) => Math.floor(i / [256, 64, 8, 1][d]) % [1, 4, 8, 8][d]));
  const right = o.value && o.value.dims.join() === `4,${at.length}` && Array.from(o.value.data, Number).every((v, i) => v === want[i]);
  tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : right ? 'right' : 'wrong', `NonZero of a run-time input: ${o.crash ? o.crash.message : 'ran, not the indices of the non-zeros'}`);
  // a run-time Gather index out of range
  const gather = model({ inputs: [vi('i', INT64, [2])], outputs: [vi('y', FLOAT)], inits: [f32('t', [5, 3], 4, 1)], nodes: [{ opType: 'Gather', input: ['t', 'i'], output: ['y'] }] });
  for (const idx of [[0, 5], [-6, 0], [2 ** 40, 0]]) {
    const m = loadModel(rt, gather);
    const o = await attempt(() => m.run({ i: { type: 'int64', dims: [2], data: idx } }));
    m.dispose();
    tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : 'wrong', `Gather index ${idx}: ${o.crash ? o.crash.message : 'ran'}`);
  }
}

// ------------------------------------------------------------------ 4. bad inputs

async function badInputs() {
  const cls = 'bad inputs';
  const m = loadModel(rt, convNet(1));
  const x = feed(1).x;
  const cases = [
    ['run(null)', null], ['run(undefined)', undefined], ['run(42)', 42], ['run("x")', 'x'], ['run([])', []], ['run({})', {}],
    ['x: null', { x: null }], ['x: a Float32Array without dims', { x: x.data }],
    ['x: Int32Array data', { x: { ...x, data: new Int32Array(256) } }],
    ['x: type int64', { x: { ...x, type: 'int64' } }],
    ['x: 255 values', { x: { ...x, data: x.data.subarray(0, 255) } }],
    ['x: dims [1, 4, 8, 9]', { x: { ...x, dims: [1, 4, 8, 9] } }],
    ['x: dims [1, 4, 64]', { x: { ...x, dims: [1, 4, 64] } }],
    ['x: dims with NaN', { x: { ...x, dims: [1, 4, NaN, 8] } }],
    ['x: dims with -1', { x: { ...x, dims: [1, 4, -8, -8] } }],
    ['x: dims 2^53', { x: { ...x, dims: [2 ** 53, 4, 8, 8] } }],
    ['an unknown input', { x, extra: x }],
  ];
  const want = Array.from((await m.run({ x })).y.data);
  for (const [what, feeds, options] of cases) {
    const o = await attempt(() => m.run(feeds, options));
    // every case is refused (a feed the model does not take too, as onnxruntime-web does: "invalid input 'extra'")
    void want;
    tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : 'wrong', `${what}: ${o.crash ? `${o.crash.name}: ${o.crash.message}` : 'ran'}`);
  }
  m.dispose();
  const ints = loadModel(rt, model({ inputs: [vi('k', INT64, [2])], outputs: [vi('y', INT64)], nodes: [{ opType: 'Identity', input: ['k'], output: ['y'] }] }));
  for (const [what, data] of [['int64 2^60 + 1', BigInt64Array.from([1n, 2n ** 60n + 1n])], ['int64 1.5', [1, 1.5]], ['int64 NaN', [1, NaN]], ['int64 "3"', [1, '3']]]) {
    const o = await attempt(() => ints.run({ k: { type: 'int64', dims: [2], data } }));
    tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : 'wrong', `${what}: ${o.crash ? o.crash.message : 'ran'}`);
  }
  ints.dispose();
}

// ------------------------------------------------------------------ 5. the newcomer path (CLI, runtime creation)

async function newcomer() {
  const cls = 'newcomer path';
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-trust-'));
  writeFileSync(join(dir, 'notes.txt'), 'not a model\n');
  writeFileSync(join(dir, 'm.onnx'), convNet(1));
  writeFileSync(join(dir, 'bad.safetensors'), Uint8Array.of(1, 2, 3));
  const cli = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
  const cases = [
    ['lowbit --version', ['--version'], 0],
    ['lowbit run missing.onnx', ['run', join(dir, 'missing.onnx')]],
    ['lowbit run notes.txt', ['run', join(dir, 'notes.txt')]],
    ['lowbit run m.onnx --quantized bad.safetensors', ['run', join(dir, 'm.onnx'), '--quantized', join(dir, 'bad.safetensors')]],
    ['lowbit run m.onnx --quantized missing', ['run', join(dir, 'm.onnx'), '--quantized', join(dir, 'nope.safetensors')]],
    ['lowbit quantize m.onnx --scheme int9', ['quantize', join(dir, 'm.onnx'), '--scheme', 'int9']],
    ['lowbit --no-such-option', ['--no-such-option']],
    ['lowbit no-such-command', ['no-such-command']],
    ['lowbit run (no model)', ['run']],
  ];
  for (const [what, args, wantCode] of cases) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
    const stack = /\n\s+at /.test(r.stderr) || /\n\s+at /.test(r.stdout);
    if (r.status === null || stack || (wantCode === 0 ? r.status !== 0 : r.status === 0)) tally(cls, 'crash', `${what}: exit ${r.status}${stack ? ', a stack trace' : ''}`);
    else if (wantCode === 0) tally(cls, 'right', what);
    else tally(cls, r.stderr.trim().split('\n').length <= 2 ? 'typed' : 'crash', `${what}: ${r.stderr.trim().split('\n').length} lines`);
  }
  for (const [what, wasm] of [['invalid wasm bytes', Uint8Array.of(0, 1, 2, 3)], ['a PNG as wasm', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10)]]) {
    const o = await attempt(() => createRuntime({ wasm: { baseline: wasm, relaxed: wasm } }));
    if (o.value) o.value.dispose?.();
    tally(cls, o.typed && !/SIMD/.test(o.typed.message) ? 'typed' : o.crash ? 'crash' : 'wrong', `${what}: ${o.typed?.message ?? o.crash?.message ?? 'created'}`);
  }
}

// ------------------------------------------------------------------ 6. memory

async function memory() {
  const cls = 'memory';
  // a model of any width: 300 widths, the plan cache stays bounded
  const any = model({ inputs: [vi('x', FLOAT, [1, 4, 8, 'w'])], outputs: [vi('y', FLOAT)], inits: [f32('w', [4, 4, 3, 3], 3, 0.3)], nodes: [{ opType: 'Conv', input: ['x', 'w'], output: ['y'], attribute: [ia('pads', [1, 1, 1, 1])] }] });
  const m = loadModel(rt, any);
  let maxPlans = 0;
  for (let w = 1; w <= (quick ? 60 : 300); w++) {
    await m.run({ x: { type: 'float32', dims: [1, 4, 8, w], data: new Float32Array(32 * w) } });
    maxPlans = Math.max(maxPlans, m.plans.size);
  }
  tally(cls, maxPlans <= m.plans.capacity ? 'right' : 'wrong', `plans cached: ${maxPlans} > capacity ${m.plans.capacity}`);
  // large runs, then small ones: the arena is given back (arenas up to 1 MiB are kept)
  for (let i = 0; i < 4; i++) await m.run({ x: { type: 'float32', dims: [1, 4, 8, 65536], data: new Float32Array(32 * 65536) } });
  const large = m.arenaBytes;
  for (let i = 0; i < 8; i++) await m.run({ x: { type: 'float32', dims: [1, 4, 8, 8], data: new Float32Array(256) } });
  tally(cls, m.arenaBytes < large / 4 ? 'right' : 'wrong', `arena stayed at ${m.arenaBytes} bytes after small runs (large run: ${large})`);
  m.dispose();
  // dispose returns every byte to the runtime
  const before = rt.heap.inUse;
  for (let i = 0; i < 50; i++) {
    const k = loadModel(rt, convNet(1));
    await k.run(feed(1));
    k.dispose();
  }
  tally(cls, rt.heap.inUse === before ? 'right' : 'wrong', `wasm bytes in use ${before} -> ${rt.heap.inUse} after 50 load/run/dispose`);
  // prepare: a quantized model is ready when quantizeModel returns (no layer built at the first run)
  const float = loadModel(rt, convNet(1));
  const q = await quantizeModel(float, { scheme: 'int8', speed: 'off', calibration: [feed(1)] });
  const o = await attempt(() => q.prepare({ x: [1, 4, 8, 8] }));
  tally(cls, o.typed ? 'typed' : o.crash ? 'crash' : 'right', `prepare: ${o.crash?.message}`);
  q.dispose();
  float.dispose();
  // a model past wasm32's 4 GiB: refused at load with the size it needs
  const huge = model({ inputs: [vi('x', FLOAT, [1, 2 ** 20])], outputs: [vi('y', FLOAT)], inits: [{ name: 'w', dims: [2 ** 20, 2 ** 11], dataType: FLOAT, floatData: [] }], nodes: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }] });
  const h = await attempt(() => loadModel(rt, huge));
  tally(cls, h.typed ? 'typed' : h.crash ? 'crash' : 'wrong', `a 8 GiB weight: ${h.crash?.message ?? 'loaded'}`);
}

// ------------------------------------------------------------------ run and print

const t0 = Date.now();
for (const [name, fn] of [['saved', savedFiles], ['nonfinite', nonFinite], ['linear-weights', linearAndWeights], ['hostile', hostileGraphs], ['inputs', badInputs], ['newcomer', newcomer], ['memory', memory]]) {
  const t = Date.now();
  await fn();
  console.error(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
rt.dispose?.();
console.log(`# Issue 12: adversarial inputs by class (bench/trust-table.mjs${quick ? ' --quick' : ''}, ${new Date().toISOString().slice(0, 16)}Z)\n`);
const mc = machine();
const flags = ['avx_vnni', 'avx512_vnni'].filter((f) => new RegExp(`\\b${f}\\b`).test(readFileSync('/proc/cpuinfo', 'utf8')));
console.log(`${mc.model}, ${mc.cores} vCPUs (${flags.join(', ') || 'no VNNI flags'}), Node ${mc.node}, commit ${mc.commit}, load average ${loadavg()}\n`);
console.log('| input class | tries | typed errors | right answers | crashes | silent wrong answers |');
console.log('|---|---|---|---|---|---|');
let bad = 0;
for (const [cls, r] of table) {
  console.log(`| ${cls} | ${r.tries} | ${r.typed} | ${r.right} | ${r.crash} | ${r.wrong} |`);
  bad += r.crash + r.wrong;
}
console.log(`\nhuge finite inputs that ran: top-1 as float32 in ${hugeTop1.agree} of ${hugeTop1.tries}; the others (the same flip at 1e4 = the scheme's weight rounding): ${hugeTop1.flips.join('; ') || 'none'}`);
console.log(`\nhuge-weight refusals that name no node: ${wNamed.length ? wNamed.join('; ') : 'none'}`);
console.log('\n"right answers": a huge finite input giving the scheme\'s own answer at 1e4 (top-1) and finite where float32 is; NaN/Inf where the float32 model (and onnxruntime) give them; a damaged saved file whose outputs stay bit-identical (a header flip in a field no check reads); a bounded plan cache, a shrunk arena, every wasm byte back after dispose; `--version`; prepare.');
for (const [cls, r] of table) for (const e of r.examples) console.log(`- ${cls}: ${e}`);
console.error(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; ${bad} crashes or silent wrong answers`);
process.exitCode = bad ? 1 : 0;
