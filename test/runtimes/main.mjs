// Deno and Bun: runs smoke.mjs with the package's own wasm loading (no `wasm` option) and prints the
// report as one JSON line. Usage: `deno run --allow-read main.mjs [threads]`, `bun run main.mjs [threads]`.
import { readFile } from 'node:fs/promises';
import { smoke } from './smoke.mjs';

const threads = Number(globalThis.Deno ? Deno.args[0] ?? 1 : process.argv[2] ?? 1);
const model = new Uint8Array(await readFile(new URL('./smoke-model.onnx', import.meta.url)));
// a pool that cannot start must fail, not hang: give up after 60 s
const timer = setTimeout(() => {
  console.log(JSON.stringify({ threads, error: 'timed out after 60 s' }));
  (globalThis.Deno ?? process).exit(2);
}, 60_000);
console.log(JSON.stringify(await smoke({ threads, model })));
clearTimeout(timer);
