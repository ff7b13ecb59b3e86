// FP8 bulk conversion throughput, kernel only (data already in linear memory), one core.
// node bench/fp8.mjs [baseline|relaxed]   (relaxed on Node 20: node --experimental-wasm-relaxed-simd --no-liftoff bench/fp8.mjs relaxed)
// Results: bench/RESULTS-fp8-lut4.md.
import fs from 'node:fs';
const build = process.argv[2] || 'baseline';
const bytes = fs.readFileSync(new URL(`../build/${build}.wasm`, import.meta.url));
const memory = new WebAssembly.Memory({ initial: 4096, maximum: 65536 });
const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
const k = instance.exports;
const base = (k.heap_base() + 63) & ~63;
function run(label, n) {
  const px = base, pc = px + n * 4, po = pc + n + 64;
  const x = new Float32Array(memory.buffer, px, n);
  let s = 12345;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = ((s >>> 8) / 16777216 - 0.5) * 600; }
  const reps = Math.max(3, Math.round(4e8 / n));
  const time = (f) => { for (let r = 0; r < 3; r++) f(); const t = []; for (let j = 0; j < 5; j++) { const t0 = performance.now(); for (let r = 0; r < reps; r++) f(); t.push((performance.now() - t0) / reps); } return Math.min(...t); };
  const res = {};
  for (const [name, f] of [
    ['enc e4m3 sat', () => k.fp8_encode_e4m3_f32(px, n, 1, pc)],
    ['enc e4m3 nosat', () => k.fp8_encode_e4m3_f32(px, n, 0, pc)],
    ['enc e5m2 sat', () => k.fp8_encode_e5m2_f32(px, n, 1, pc)],
    ['dec e4m3', () => k.fp8_decode_e4m3_f32(pc, n, po)],
    ['dec e5m2', () => k.fp8_decode_e5m2_f32(pc, n, po)],
  ]) res[name] = (n / time(f) / 1e6).toFixed(2) + ' G/s';
  console.log(build, label, `n=${n}`, res);
}
run('hot (L2)', 1 << 16);
run('streaming', 1 << 24);
