// Which build to run. `auto` takes the relaxed build only when the engine validates it AND its
// relaxed integer dot products (i32x4 with add, and i16x8) give exact results on operands in the range our kernels feed it
// (first operand int8, second in [0, 127]). V8 11.3 (Node 20, behind --experimental-wasm-relaxed-simd)
// fails this in its baseline tier (Liftoff) while passing in its optimizing tier, so the probe runs
// the check on the first call (Liftoff, if enabled) and again after many calls (tiered up).

import { FeatureError } from '../errors.js';
import { buildBytes, checkBuildModule, invalidBuild, type BuildName, type WasmSources } from './load.js';
import type { KernelExports } from './exports.js';

export type SimdChoice = 'auto' | 'baseline' | 'relaxed';

export interface Features {
  /** the build that runs: 'baseline' or 'relaxed' */
  readonly simd: 'baseline' | 'relaxed';
  /** worker threads in use (1 = main thread only) */
  readonly threads: number;
  /** linear memory is a SharedArrayBuffer */
  readonly sharedMemory: boolean;
  /** the engine validates the relaxed-SIMD build */
  readonly relaxedSimdValid: boolean;
  /** the relaxed dot product gave exact results in the probe (null: not probed) */
  readonly relaxedDotExact: boolean | null;
  /** why this build was chosen, in words */
  readonly reason: string;
  /** the JS engine, as far as it tells */
  readonly engine: string;
}

export function engineName(): string {
  const p = (globalThis as { process?: { versions?: Record<string, string> } }).process;
  if (p?.versions?.bun) return `bun ${p.versions.bun}`;
  if ((globalThis as { Deno?: { version?: { deno: string } } }).Deno?.version) {
    return `deno ${(globalThis as unknown as { Deno: { version: { deno: string; v8: string } } }).Deno.version.deno}`;
  }
  if (p?.versions?.node) return `node ${p.versions.node} (v8 ${p.versions.v8})`;
  return typeof navigator !== 'undefined' ? navigator.userAgent : 'unknown';
}

const PROBE_VECTORS = 64;
const PROBE_TIERUP_CALLS = 400;

/** Runs both relaxed dot products (i32 with add, and i16) on seeded operands; true when every lane is exact. */
export function probeRelaxedDot(x: KernelExports, memory: WebAssembly.Memory, base: number): boolean {
  const a = base;
  const b = a + PROBE_VECTORS * 16;
  const acc = b + PROBE_VECTORS * 16;
  const out = acc + PROBE_VECTORS * 16; // i32 results, then i16 results
  const out16 = out + PROBE_VECTORS * 16;
  const i8 = new Int8Array(memory.buffer);
  const i16 = new Int16Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  let s = 0x9e3779b9 >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  for (let i = 0; i < PROBE_VECTORS * 16; i++) {
    i8[a + i] = next() - 128;
    i8[b + i] = next() & 127;
    i8[acc + i] = next() - 128;
  }
  // the extremes: -128 * 127 in every lane of the first vector
  for (let i = 0; i < 16; i++) {
    i8[a + i] = -128;
    i8[b + i] = 127;
  }
  const check = () => {
    x.probe_relaxed_dot(a, b, acc, out, PROBE_VECTORS);
    x.probe_relaxed_dot16(a, b, out16, PROBE_VECTORS);
    for (let v = 0; v < PROBE_VECTORS * 4; v++) {
      let e = i32[(acc >> 2) + v];
      for (let j = 0; j < 4; j++) e = (e + i8[a + v * 4 + j] * i8[b + v * 4 + j]) | 0;
      if (i32[(out >> 2) + v] !== e) return false;
    }
    for (let v = 0; v < PROBE_VECTORS * 8; v++) {
      const e = i8[a + v * 2] * i8[b + v * 2] + i8[a + v * 2 + 1] * i8[b + v * 2 + 1];
      if (i16[(out16 >> 1) + v] !== e) return false;
    }
    return true;
  };
  if (!check()) return false;
  for (let i = 0; i < PROBE_TIERUP_CALLS; i++) {
    x.probe_relaxed_dot(a, b, acc, out, PROBE_VECTORS);
    x.probe_relaxed_dot16(a, b, out16, PROBE_VECTORS);
  }
  return check();
}

export interface BuildChoice {
  build: 'baseline' | 'relaxed';
  relaxedSimdValid: boolean;
  relaxedDotExact: boolean | null;
  reason: string;
}

/** Decides which build to run. Throws when `relaxed` was demanded and can't be given. */
export async function chooseBuild(simd: SimdChoice, shared: boolean, sources?: WasmSources): Promise<BuildChoice> {
  const suffix = shared ? '-mt' : '';
  const baseName = `baseline${suffix}` as BuildName;
  const relaxedName = `relaxed${suffix}` as BuildName;
  const baseBytes = await buildBytes(baseName, sources);
  if (baseBytes instanceof WebAssembly.Module) checkBuildModule(baseName, baseBytes, sources);
  else if (!WebAssembly.validate(baseBytes as BufferSource)) throw await invalidBuild(baseName, baseBytes, sources);
  if (simd === 'baseline') {
    return { build: 'baseline', relaxedSimdValid: false, relaxedDotExact: null, reason: "simd: 'baseline' requested" };
  }
  let relaxedBytes: Uint8Array | WebAssembly.Module;
  try {
    relaxedBytes = await buildBytes(relaxedName, sources);
  } catch (e) {
    if (simd === 'relaxed') throw e;
    return { build: 'baseline', relaxedSimdValid: false, relaxedDotExact: null, reason: `relaxed build unavailable: ${(e as Error).message}` };
  }
  const valid = relaxedBytes instanceof WebAssembly.Module || WebAssembly.validate(relaxedBytes as BufferSource);
  if (!valid) {
    const why = 'the engine does not validate relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)';
    if (simd === 'relaxed') throw new FeatureError(`simd: 'relaxed' requested but ${why}`);
    return { build: 'baseline', relaxedSimdValid: false, relaxedDotExact: null, reason: why };
  }
  const module = relaxedBytes instanceof WebAssembly.Module ? relaxedBytes : await WebAssembly.compile(relaxedBytes as BufferSource);
  checkBuildModule(relaxedName, module, sources);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared } as WebAssembly.MemoryDescriptor);
  const inst = (await WebAssembly.instantiate(module, { env: { memory } })) as WebAssembly.Instance;
  const x = inst.exports as unknown as KernelExports;
  if (x.build_relaxed() !== 1) throw new FeatureError(`the module given for build '${relaxedName}' is not that build`);
  const exact = probeRelaxedDot(x, memory, (x.heap_base() + 63) & ~63);
  if (!exact) {
    const why =
      'the engine computes i32x4.relaxed_dot_i8x16_i7x16_add_s wrongly on 7-bit operands ' +
      '(V8 11.3 does in its baseline tier; --no-liftoff avoids it)';
    if (simd === 'relaxed') throw new FeatureError(`simd: 'relaxed' requested but ${why}`);
    return { build: 'baseline', relaxedSimdValid: true, relaxedDotExact: false, reason: why };
  }
  return {
    build: 'relaxed',
    relaxedSimdValid: true,
    relaxedDotExact: true,
    reason: simd === 'relaxed' ? "simd: 'relaxed' requested; probe exact" : 'relaxed SIMD validates and its dot product probed exact',
  };
}
