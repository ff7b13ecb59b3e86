// workerd (Cloudflare Workers): smoke.mjs in a worker module. The four kernel builds are bound as
// precompiled wasm modules (workerd.capnp) and handed to createRuntime({ wasm }), so nothing is
// compiled at run time; no top-level await, no eval. GET /?threads=N answers the report as JSON
// (with a `sandbox` field: what the isolate forbids); /?wasm=none runs it without the modules.
import { smoke } from './smoke.mjs';
import baseline from './baseline.wasm';
import relaxed from './relaxed.wasm';
import baselineMt from './baseline-mt.wasm';
import relaxedMt from './relaxed-mt.wasm';
import model from './smoke-model.onnx';

/** What this isolate forbids (the test asserts both): lowbit passing the smoke test here needs neither. */
async function sandbox() {
  const blocked = async (f) => f().then(() => false, () => true);
  return {
    evalBlocked: await blocked(async () => new Function('return 1')),
    wasmCompileBlocked: await blocked(() => WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))),
  };
}

export default {
  async fetch(request) {
    const threads = Number(new URL(request.url).searchParams.get('threads') ?? 1);
    // ?wasm=none: without the modules, lowbit must say how to pass them (a FeatureError)
    const given = new URL(request.url).searchParams.get('wasm') !== 'none';
    const wasm = given ? { baseline, relaxed, 'baseline-mt': baselineMt, 'relaxed-mt': relaxedMt } : undefined;
    const report = await smoke({ threads, wasm, model: new Uint8Array(model) });
    return Response.json({ ...report, sandbox: await sandbox() });
  },
};
