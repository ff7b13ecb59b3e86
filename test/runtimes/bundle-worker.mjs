// Bundles worker.mjs (and lowbit from the throwaway install beside it) into one ES module for
// workerd with rolldown, resolving package.json "exports" with the workerd condition. The .wasm and
// .onnx imports stay imports: workerd binds them as modules (workerd.capnp).
//   node test/runtimes/bundle-worker.mjs APP_DIR   (writes APP_DIR/worker.js)
import { join } from 'node:path';
import { rolldown } from 'rolldown';

const app = process.argv[2];
const bundle = await rolldown({
  input: join(app, 'worker.mjs'),
  platform: 'browser',
  resolve: { conditionNames: ['workerd', 'worker', 'browser', 'import', 'default'] },
  external: [/\.wasm$/, /\.onnx$/, /^node:/],
  logLevel: 'warn',
});
await bundle.write({ file: join(app, 'worker.js'), format: 'esm', codeSplitting: false });
await bundle.close();
