// The runtime smoke test, run by Deno, Bun (main.mjs) and workerd (worker.mjs) against the packed
// package (`lowbit` from a throwaway install, never src/): createRuntime (which build and why), an
// int8 rt.linear forward against a float64 reference computed here, loadModel on the smoke model and
// its int8 quantizeModel (outputs returned for check-report.mjs to compare with onnxruntime's), and
// bad arguments that must give typed LowbitErrors. Plain JS, no imports but lowbit's.

import { createRuntime, loadModel, quantizeModel, tensor, LowbitError } from 'lowbit';
import { modelInputData } from './input.mjs';

/** int8 rt.linear (per-channel weights, dynamic uint8 activations): measured ~40 dB on this data */
export const LINEAR_BUDGET_DB = 30;

function rand(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

function sqnrDb(ref, got) {
  let sig = 0, err = 0;
  for (let i = 0; i < ref.length; i++) {
    sig += ref[i] * ref[i];
    err += (ref[i] - got[i]) ** 2;
  }
  return 10 * Math.log10(sig / err);
}

async function linearCheck(rt) {
  const [m, k, n] = [7, 96, 40];
  const r = rand(11);
  const w = Float32Array.from({ length: k * n }, r);
  const b = Float32Array.from({ length: n }, () => r() * 0.1);
  const x = Float32Array.from({ length: m * k }, r);
  const layer = await rt.linear(w, [k, n], b);
  try {
    const y = await layer.forward(tensor('float32', x, [m, k]));
    const ref = new Float64Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = b[j];
        for (let p = 0; p < k; p++) s += x[i * k + p] * w[p * n + j];
        ref[i * n + j] = s;
      }
    }
    const db = sqnrDb(ref, y);
    return { shape: `${m}x${k}x${n}`, type: layer.type, sqnrDb: +db.toFixed(2), budgetDb: LINEAR_BUDGET_DB, ok: y.length === m * n && db >= LINEAR_BUDGET_DB };
  } finally {
    layer.dispose();
  }
}

async function modelCheck(rt, bytes) {
  const model = loadModel(rt, bytes);
  const x = tensor('float32', modelInputData(), [1, 3, 12, 10]);
  try {
    const y = Object.values(await model.run({ x }))[0];
    const q = await quantizeModel(model, { scheme: 'int8', calibration: [{ x }] });
    try {
      const yq = Object.values(await q.run({ x }))[0];
      return { dims: [...y.dims], float32: [...y.data], int8: [...yq.data] };
    } finally {
      q.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** Calls fn, which must throw a LowbitError subclass: returns what was thrown. */
async function typedError(label, fn) {
  try {
    await fn();
    return { label, ok: false, thrown: null };
  } catch (e) {
    const typed = e instanceof LowbitError;
    return { label, ok: typed && typeof e.code === 'string', name: e?.name, code: e?.code, message: String(e?.message).slice(0, 200) };
  }
}

/**
 * options: { threads, simd, wasm (createRuntime's precompiled modules), model (the .onnx bytes) }.
 * Returns a JSON-able report; never throws (a failure is the report's `error`).
 */
export async function smoke({ threads = 1, simd = 'auto', wasm, model }) {
  const report = { threads, warnings: [] };
  const t0 = performance.now();
  let rt;
  try {
    // minParallelWork 0: every kernel call goes to the pool, so threads > 1 really uses the workers
    rt = await createRuntime({ threads, simd, wasm, minParallelWork: threads > 1 ? 0 : undefined, onWarning: (w) => report.warnings.push(w) });
    report.createMs = Math.round(performance.now() - t0);
    report.features = { ...rt.features };
    const t1 = performance.now();
    report.linear = await linearCheck(rt);
    report.model = await modelCheck(rt, model);
    report.errors = [
      await typedError('rt.linear with 10 weights for [3, 4]', () => rt.linear(new Float32Array(10), [3, 4])),
      await typedError('createRuntime({ threads: 0 })', () => createRuntime({ threads: 0, wasm })),
      await typedError('loadModel on 4 bytes that are not ONNX', () => loadModel(rt, new Uint8Array([1, 2, 3, 4]))),
    ];
    report.runMs = Math.round(performance.now() - t1);
  } catch (e) {
    report.error = `${e?.name}: ${e?.message}\n${e?.stack ?? ''}`;
  } finally {
    rt?.dispose();
  }
  return report;
}
