// workerd (Cloudflare Workers): smoke.mjs in a worker module. The four kernel builds are bound as
// precompiled wasm modules (workerd.capnp) and handed to createRuntime({ wasm }), so nothing is
// compiled at run time; no top-level await, no eval. GET /?threads=N answers the report as JSON.
import { smoke } from './smoke.mjs';
import baseline from './baseline.wasm';
import relaxed from './relaxed.wasm';
import baselineMt from './baseline-mt.wasm';
import relaxedMt from './relaxed-mt.wasm';
import model from './smoke-model.onnx';

export default {
  async fetch(request) {
    const threads = Number(new URL(request.url).searchParams.get('threads') ?? 1);
    const wasm = { baseline, relaxed, 'baseline-mt': baselineMt, 'relaxed-mt': relaxedMt };
    const report = await smoke({ threads, wasm, model: new Uint8Array(model) });
    return Response.json(report);
  },
};
