// A quantized model in the browser: lowbit's float32 and int8 runs of model.onnx (served beside the
// page), side by side. threads: 2 needs a cross-origin isolated page (COOP/COEP headers); elsewhere
// lowbit warns once and runs on one thread.
import { createRuntime, loadModel, quantizeModel, tensor } from 'lowbit';

const out = document.getElementById('result');

/** the model's input: 1x3x12x10, seeded */
function input() {
  let s = 77;
  const data = Float32Array.from({ length: 360 }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
  return tensor('float32', data, [1, 3, 12, 10]);
}

async function main() {
  const rt = await createRuntime({ threads: 2 });
  const bytes = new Uint8Array(await (await fetch('model.onnx')).arrayBuffer());
  const model = loadModel(rt, bytes);
  const x = input();
  const [y] = Object.values(await model.run({ x }));
  const int8 = await quantizeModel(model, { scheme: 'int8', calibration: [{ x }] });
  const [yq] = Object.values(await int8.run({ x }));
  const { simd, threads, reason } = rt.features;
  out.textContent = `lowbit ${simd} build, ${threads} thread(s) (${reason})\nfloat32: ${fmt(y.data)}\nint8:    ${fmt(yq.data)}`;
  out.dataset.report = JSON.stringify({ features: rt.features, crossOriginIsolated, float32: [...y.data], int8: [...yq.data] });
}

const fmt = (a) => [...a].map((v) => v.toFixed(4)).join(' ');

main().catch((e) => {
  out.textContent = `failed: ${e}`;
  out.dataset.report = JSON.stringify({ error: `${e?.name}: ${e?.message}` });
});
