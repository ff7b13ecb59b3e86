// The fuzzer's onnxruntime, in a process of its own (test/fuzz/ort-process.ts starts it): a mutant
// can hang onnxruntime-web's run with its event loop blocked (seen: a Resize whose scales input was
// rewired to the graph's output, 2026-12-06), which no timer in the same process can break. The
// parent kills this process when a run outlasts its deadline and starts another.
// Requests (process messages): { id, engine: 'web' | 'node', optimize, bytes, feeds: { name: { data, dims } } }.
// Replies: { id, ran: { outputs, types, dims } } or { id, ran: null } when onnxruntime refuses.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const web = await import('onnxruntime-web');
web.env.logLevel = 'fatal'; // mutants make it log every refusal
const node = (() => {
  try {
    return require('onnxruntime-node'); // no dependency of the package: a second build where installed
  } catch {
    return null;
  }
})();

function ran(tensors) {
  return {
    outputs: tensors.map((t) => Array.from(t.data, Number)),
    types: tensors.map((t) => t.type),
    dims: tensors.map((t) => [...t.dims]),
  };
}

async function run({ engine, optimize, bytes, feeds }) {
  const ort = engine === 'node' ? node : web;
  if (!ort) return null;
  let session;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, ...(optimize ? {} : { graphOptimizationLevel: 'disabled' }) });
    const f = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
    return ran(Object.values(await session.run(f)));
  } catch {
    return null;
  } finally {
    await session?.release().catch(() => {});
  }
}

process.on('message', async (req) => {
  process.send({ id: req.id, ran: await run(req) });
});
process.send({ ready: true });
