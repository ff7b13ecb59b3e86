// Bundles worker.mjs (and lowbit from the throwaway install beside it) into one ES module for
// workerd with rolldown, resolving package.json "exports" with the workerd condition. The .wasm and
// .onnx imports stay imports: workerd binds them as modules (workerd.capnp). Then refuses a bundle
// with a top-level await (Workers allow one only if it settles at once; lowbit must need none).
//   node test/runtimes/bundle-worker.mjs APP_DIR   (writes APP_DIR/worker.js)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rolldown } from 'rolldown';
import { parseAst } from 'rolldown/parseAst';

const app = process.argv[2];
const out = join(app, 'worker.js');
const bundle = await rolldown({
  input: join(app, 'worker.mjs'),
  platform: 'browser',
  resolve: { conditionNames: ['workerd', 'worker', 'browser', 'import', 'default'] },
  external: [/\.wasm$/, /\.onnx$/, /^node:/],
  logLevel: 'warn',
});
await bundle.write({ file: out, format: 'esm', codeSplitting: false });
await bundle.close();

/** await expressions and for-await loops outside every function (source offsets) */
function topLevelAwaits(node, found = []) {
  if (!node || typeof node !== 'object') return found;
  if (Array.isArray(node)) {
    for (const n of node) topLevelAwaits(n, found);
    return found;
  }
  if (/Function/.test(node.type ?? '')) return found;
  if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node.await)) found.push(node.start);
  for (const key of Object.keys(node)) if (key !== 'parent') topLevelAwaits(node[key], found);
  return found;
}
const code = readFileSync(out, 'utf8');
const tla = topLevelAwaits(parseAst(code));
if (tla.length) {
  console.error(`worker.js has ${tla.length} top-level await(s), first: ${code.slice(tla[0], tla[0] + 80)}`);
  process.exit(1);
}
console.log(`worker.js: ${(code.length / 1024).toFixed(0)} KiB bundled by rolldown, no top-level await`);
