// The runtime: build selection and the relaxed-dot probe, loading from bytes or a Module, the
// allocator, and what the built wasm really contains (checked with wabt).

import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { describe, expect, it } from 'vitest';
import { createRuntime, LowbitError } from '../src/index.js';
import { packQs8, runQs8, refMatMulInteger } from '../src/kernels.js';
import { Allocator } from '../src/runtime/memory.js';
import { splitRange } from '../src/runtime/runtime.js';
import { SIMD, firstMismatch, randInt8, randUint8, rng } from './helpers.js';

const buildFile = (name: string) => fileURLToPath(new URL(`../build/${name}.wasm`, import.meta.url));

describe('build selection', () => {
  it(`runs the ${SIMD} build in this project and says why`, async () => {
    const rt = await createRuntime({ simd: 'auto' });
    // the relaxed project runs node with relaxed SIMD on and Liftoff off, so auto must pick relaxed
    expect(rt.features.simd).toBe(SIMD);
    expect(rt.features.reason.length).toBeGreaterThan(10);
    expect(rt.features.threads).toBe(1);
    rt.dispose();
  });

  it('auto falls back to baseline when the engine computes the relaxed dot wrongly (V8 11.3 Liftoff)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    const script = `import('${new URL('../dist/index.js', import.meta.url).href}').then(async (m) => {
      const rt = await m.createRuntime({ simd: 'auto' });
      console.log(JSON.stringify(rt.features));
      let forced = 'ok';
      try { await m.createRuntime({ simd: 'relaxed' }); } catch (e) { forced = e.code; }
      console.log(forced);
    })`;
    // relaxed SIMD on, Liftoff (V8's baseline tier) on: V8 11.3's Liftoff gets the dot product wrong
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n');
    const features = JSON.parse(out[0]);
    expect(features.relaxedSimdValid).toBe(true);
    if (major === 20) {
      expect(features.simd).toBe('baseline');
      expect(features.relaxedDotExact).toBe(false);
      expect(features.reason).toMatch(/wrongly/);
      expect(out[1]).toBe('ERR_FEATURE');
    } else {
      // newer engines compute it right: whatever was chosen, the probe's verdict decides
      expect(features.simd).toBe(features.relaxedDotExact ? 'relaxed' : 'baseline');
    }
  });

  it('accepts precompiled Modules and raw bytes for every build', async () => {
    const bytes = new Uint8Array(fs.readFileSync(buildFile(SIMD)));
    const module = await WebAssembly.compile(bytes);
    for (const src of [bytes, module, bytes.buffer]) {
      const rt = await createRuntime({ simd: SIMD, wasm: { [SIMD]: src } });
      const r = rng(3);
      const a = randUint8(3 * 20, r);
      const b = randInt8(20 * 5, r);
      const w = packQs8(rt, b, 20, 5, [0, 1, 2, 3, 4]);
      const y = await runQs8(rt, a, 3, 7, w, { kind: 'int32' });
      expect(firstMismatch(y, refMatMulInteger(a, b, 3, 20, 5, 7, [0, 1, 2, 3, 4]))).toBeNull();
      rt.dispose();
    }
  });

  it('rejects a module that is not the build it is given for', async () => {
    const other = SIMD === 'baseline' ? 'relaxed' : 'baseline';
    const bytes = new Uint8Array(fs.readFileSync(buildFile(other)));
    if (other === 'relaxed' && !WebAssembly.validate(bytes)) return; // can't even compile it here
    await expect(createRuntime({ simd: SIMD, wasm: { [SIMD]: bytes } })).rejects.toThrow(/is not that build/);
  });

  it('rejects bad options with clear errors', async () => {
    await expect(createRuntime({ simd: 'fast' as never })).rejects.toThrow(/simd: expected 'auto', 'baseline' or 'relaxed', got fast/);
    await expect(createRuntime({ threads: 0 })).rejects.toThrow(/threads: expected an integer from 1 to 256, got 0/);
    await expect(createRuntime({ maxMemoryPages: 70000 })).rejects.toThrow(/maxMemoryPages/);
  });

  it('refuses use after dispose', async () => {
    const rt = await createRuntime({ simd: SIMD });
    rt.dispose();
    const e = await rt.ops.dynamicQuantizeLinear({ type: 'float32', data: new Float32Array(2), dims: [2] }).catch((x) => x);
    expect(e).toBeInstanceOf(LowbitError);
    expect(e.code).toBe('ERR_DISPOSED');
  });
});

describe('allocator', () => {
  it('aligns to 64 bytes, reuses and merges freed blocks, grows memory', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 100 });
    const heap = new Allocator(memory, 1000, 100);
    const a = heap.alloc(10);
    const b = heap.alloc(100);
    const c = heap.alloc(64);
    expect([a % 64, b % 64, c % 64]).toEqual([0, 0, 0]);
    expect(b).toBe(a + 64);
    expect(c).toBe(b + 128);
    heap.freeBlock(a);
    heap.freeBlock(b);
    // a and b merged: 192 bytes fit where they were
    expect(heap.alloc(150)).toBe(a);
    const big = heap.alloc(200_000);
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big + 200_000);
    heap.freeBlock(big);
    heap.freeBlock(c);
    expect(() => heap.freeBlock(c)).toThrow(/not a live allocation/);
  });

  it('gives a clear out-of-memory error at the page limit, and keeps working afterwards', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 20 });
    const heap = new Allocator(memory, 0, 20);
    const p = heap.alloc(1000);
    expect(() => heap.alloc(2_000_000)).toThrow(/cannot allocate 2000000 bytes.*maxMemoryPages = 20/);
    expect(heap.alloc(1000)).toBe(p + 1024);
  });

  it('a failed allocation keeps the free block at the top of the heap (found by the fuzzing pass)', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 20 });
    const heap = new Allocator(memory, 0, 20);
    const big = heap.alloc(1_000_000);
    heap.freeBlock(big);
    expect(() => heap.alloc(2_000_000)).toThrow(/cannot allocate 2000000 bytes/);
    // the freed megabyte is reused, not lost: the heap does not grow past its high-water mark
    expect(heap.alloc(900_000)).toBe(big);
    expect(heap.heapSize).toBe(1_000_000);
    expect(heap.inUse).toBe(900_032);
  });

  it('a runtime reports the 4 GiB wasm32 limit by name', async () => {
    const rt = await createRuntime({ simd: SIMD });
    expect(() => rt.alloc(2 ** 32)).toThrow(/4 GiB wasm32 limit/);
    rt.dispose();
  });

  it('operators give back every byte they allocate, also when they throw', async () => {
    const rt = await createRuntime({ simd: SIMD });
    const r = rng(5);
    const A = { type: 'uint8' as const, data: randUint8(7 * 40, r), dims: [7, 40] };
    const B = { type: 'int8' as const, data: randInt8(40 * 9, r), dims: [40, 9] };
    await rt.ops.matMulInteger(A, B); // warm up (first allocations grow the heap)
    const before = rt.heap.inUse;
    await rt.ops.matMulInteger(A, B);
    await rt.ops.qlinearMatMul(A, { type: 'float32', data: Float32Array.of(0.1), dims: [] }, { type: 'uint8', data: Uint8Array.of(3), dims: [] },
      B, { type: 'float32', data: Float32Array.of(0.1), dims: [] }, { type: 'int8', data: Int8Array.of(0), dims: [] },
      { type: 'float32', data: Float32Array.of(1), dims: [] }, { type: 'uint8', data: Uint8Array.of(0), dims: [] });
    await rt.ops.dynamicQuantizeLinear({ type: 'float32', data: Float32Array.of(1, -2, 3), dims: [3] });
    await rt.ops.matMul({ type: 'float32', data: new Float32Array(6), dims: [2, 3] }, { type: 'float32', data: new Float32Array(12), dims: [3, 4] });
    await rt.ops.dynamicQuantizeLinear({ type: 'float32', data: Float32Array.of(1, NaN), dims: [2] }).catch(() => {});
    const layer = await rt.linear(new Float32Array(40 * 9).fill(0.5), [40, 9], null, { reference: true });
    await layer.compare(new Float32Array(2 * 40).fill(1));
    layer.dispose();
    expect(rt.heap.inUse).toBe(before);
    rt.dispose();
  });

  it('splits columns into aligned ranges per thread', () => {
    expect(splitRange(100, 8, 2, 8)).toEqual([[0, 56], [56, 100]]);
    expect(splitRange(7, 8, 4, 8)).toEqual([[0, 7]]);
    expect(splitRange(300, 8, 2, 64)).toEqual([[0, 152], [152, 300]]);
    expect(splitRange(100, 8, 2, 64)).toEqual([[0, 100]]);
  });
});

describe('what the built wasm contains', () => {
  async function text(name: string): Promise<string> {
    const wabt = await wabtInit();
    const mod = wabt.readWasm(fs.readFileSync(buildFile(name)), { simd: true, relaxed_simd: true, threads: true });
    // wabt.js refuses to validate shared memories, so only the single-threaded builds are validated
    if (!name.endsWith('-mt')) mod.validate();
    mod.generateNames();
    mod.applyNames();
    const t = mod.toText({});
    mod.destroy();
    return t;
  }

  /** the text of one function, found by the name wabt derives from its export */
  function body(wat: string, fn: string): string {
    const start = wat.indexOf(`(func $${fn} `);
    expect(start, `function ${fn} not found`).toBeGreaterThanOrEqual(0);
    const end = wat.indexOf('\n  (func ', start + 1);
    return wat.slice(start, end < 0 ? undefined : end);
  }

  it('the baseline INT8 kernel really uses i32x4.dot_i16x8_s and no relaxed instruction', async () => {
    const wat = await text('baseline');
    expect(body(wat, 'qs8_gemm_4x8c2')).toContain('i32x4.dot_i16x8_s');
    expect(wat).not.toMatch(/\b(i8x16|i16x8|i32x4|f32x4|f64x2)\.relaxed_/);
  });

  it('the relaxed build uses the relaxed dot product and fused multiply-add', async () => {
    const wat = await text('relaxed');
    expect(body(wat, 'qs8_gemm_4x8c4_relaxed')).toContain('i32x4.relaxed_dot_i8x16_i7x16_add_s');
    expect(body(wat, 'f32_gemm_4x8')).toContain('f32x4.relaxed_madd');
  });

  it('the threaded builds import a shared memory', async () => {
    for (const name of ['baseline-mt', 'relaxed-mt']) {
      expect(await text(name)).toMatch(/\(import "env" "memory" \(memory .*shared\)\)/);
    }
  });
});
