// Runs in the browser page (test/browser/page.html), as served: plain JS, no build step.
// Creates runtimes on each build and thread count, runs matMulInteger and packQs8/runQs8 on seeded
// data, checks every output against the library's scalar reference, and returns a JSON-able report.

import { createRuntime, tensor, mulberry32, loadModel, quantizeModel } from '/dist/index.js';
import { packQs8, runQs8, refMatMulInteger } from '/dist/kernels.js';

const CONFIGS = [
  { name: 'auto', options: { simd: 'auto' } },
  { name: 'baseline', options: { simd: 'baseline' } },
  { name: 'auto-2t', options: { simd: 'auto', threads: 2 } },
  { name: 'baseline-2t', options: { simd: 'baseline', threads: 2 } },
];

// M x K · K x N; with two threads each shape is split by columns (GEMM at 8-column panels, GEMV at
// 64 columns), so the worker computes part of every output.
const SHAPES = [
  { m: 13, k: 37, n: 29 },
  { m: 1, k: 64, n: 200 },
];

const ints = (n, r, lo, hi, Ctor) => Ctor.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));

function data({ m, k, n }, seed) {
  const r = mulberry32(seed);
  return {
    a: ints(m * k, r, 0, 255, Uint8Array),
    za: ints(1, r, 0, 255, Uint8Array),
    b: ints(k * n, r, -128, 127, Int8Array),
    // 7-bit weights: every column spans at most 127 values, so the relaxed build packs them 'c4'
    b7: ints(k * n, r, -64, 63, Int8Array),
    zb: ints(n, r, -128, 127, Int8Array),
  };
}

function firstMismatch(got, want) {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return `index ${i}: ${got[i]} vs ${want[i]}`;
  return null;
}

// FNV-1a over the int32 outputs: equal digests across runtimes = identical bits
function digest(arr) {
  let h = 0x811c9dc5;
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  for (const x of bytes) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** the smoke model's input: seeded, the same as the Node side of the test makes */
export function modelInput() {
  const r = mulberry32(77);
  return tensor('float32', Float32Array.from({ length: 3 * 12 * 10 }, () => r() * 2 - 1), [1, 3, 12, 10]);
}

async function runConfig({ name, options }) {
  const warnings = [];
  const t0 = performance.now();
  const rt = await createRuntime({ ...options, onWarning: (w) => warnings.push(w) });
  const createMs = performance.now() - t0;
  const checks = [];
  const t1 = performance.now();
  try {
    for (const [si, shape] of SHAPES.entries()) {
      const { m, k, n } = shape;
      const d = data(shape, 1000 + si);
      const label = `${m}x${k}·${k}x${n}`;

      const y = await rt.ops.matMulInteger(tensor('uint8', d.a, [m, k]), tensor('int8', d.b, [k, n]), tensor('uint8', d.za, []), tensor('int8', d.zb, [n]));
      const want = refMatMulInteger(d.a, d.b, m, k, n, d.za[0], d.zb);
      checks.push({ op: 'matMulInteger', shape: label, type: y.type, dims: [...y.dims], mismatch: firstMismatch(y.data, want), digest: digest(y.data) });

      const w = packQs8(rt, d.b7, k, n, d.zb);
      try {
        const got = await runQs8(rt, d.a, m, d.za[0], w, { kind: 'int32' });
        const want7 = refMatMulInteger(d.a, d.b7, m, k, n, d.za[0], d.zb);
        checks.push({ op: 'runQs8', shape: label, layout: w.layout, mismatch: firstMismatch(got, want7), digest: digest(got) });
      } finally {
        w.dispose();
      }
    }
    // a small ONNX model (the test wrote it beside /dist/): import, plan, run in float32 and int8
    const bytes = new Uint8Array(await (await fetch('/dist/smoke-model.onnx')).arrayBuffer());
    const model = loadModel(rt, bytes);
    const x = modelInput();
    const y = Object.values(await model.run({ x }))[0];
    const q = await quantizeModel(model, { scheme: 'int8', calibration: [{ x }] });
    const yq = Object.values(await q.run({ x }))[0];
    checks.push({ op: 'model float32', shape: '1x3x12x10', dims: [...y.dims], mismatch: null, digest: digest(y.data) });
    checks.push({ op: 'model int8', shape: '1x3x12x10', dims: [...yq.dims], mismatch: null, digest: digest(yq.data) });
    q.dispose();
    model.dispose();
  } finally {
    rt.dispose();
  }
  return { name, options, features: { ...rt.features }, warnings, checks, createMs, runMs: performance.now() - t1 };
}

export async function smoke() {
  const report = {
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    sharedArrayBuffer: typeof SharedArrayBuffer !== 'undefined',
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    runs: [],
  };
  for (const c of CONFIGS) {
    try {
      report.runs.push(await runConfig(c));
    } catch (e) {
      report.runs.push({ name: c.name, options: c.options, error: `${e && e.name}: ${e && e.message}\n${e && e.stack}` });
    }
  }
  return report;
}
