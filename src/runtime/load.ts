// Finding and compiling the kernel modules. Four builds from one source: baseline and relaxed SIMD,
// each with a plain or a shared (threaded) imported memory. In Node they are read from the package
// files; elsewhere fetched next to this module (bundlers follow `new URL(..., import.meta.url)`), or
// handed in by the caller as a WebAssembly.Module or bytes (edge runtimes that can't compile URLs).

import { ArgumentError, FeatureError, describe, type LowbitError } from '../errors.js';
import { nodeBuiltin } from './node.js';

export type BuildName = 'baseline' | 'relaxed' | 'baseline-mt' | 'relaxed-mt';
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView;
export type WasmSources = Partial<Record<BuildName, WasmSource>>;

function urlOf(name: BuildName): URL {
  // literal URLs, one per build, so bundlers can see and copy each file
  try {
    switch (name) {
      case 'baseline':
        return new URL('../../build/baseline.wasm', import.meta.url);
      case 'relaxed':
        return new URL('../../build/relaxed.wasm', import.meta.url);
      case 'baseline-mt':
        return new URL('../../build/baseline-mt.wasm', import.meta.url);
      case 'relaxed-mt':
        return new URL('../../build/relaxed-mt.wasm', import.meta.url);
    }
  } catch {
    // Cloudflare Workers (workerd) give modules no URL: import.meta.url is undefined there
    throw new FeatureError(
      `cannot locate lowbit's ${name}.wasm: this runtime gives its modules no URL (import.meta.url is ${String(import.meta.url)}); ` +
        `pass the builds as modules, createRuntime({ wasm: { ${name}: module } })`,
    );
  }
}

const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:' && isNode) {
    const fs = await nodeBuiltin<typeof import('node:fs/promises')>('node:fs/promises');
    return new Uint8Array(await fs.readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new FeatureError(`cannot load ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

const cache = new Map<string, Promise<WebAssembly.Module>>();

function toBytes(src: ArrayBuffer | ArrayBufferView, name: string): Uint8Array {
  if (src instanceof ArrayBuffer) return new Uint8Array(src);
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  throw new ArgumentError(`wasm.${name}: expected a WebAssembly.Module, ArrayBuffer or typed array, got ${describe(src)}`);
}

/** Bytes of a build, when it has to be validated before compiling. */
export async function buildBytes(name: BuildName, sources?: WasmSources): Promise<Uint8Array | WebAssembly.Module> {
  const given = sources?.[name];
  if (given instanceof WebAssembly.Module) return given;
  if (given) return toBytes(given, name);
  return readBytes(urlOf(name));
}

export function compileBuild(name: BuildName, sources?: WasmSources): Promise<WebAssembly.Module> {
  const given = sources?.[name];
  if (given instanceof WebAssembly.Module) return Promise.resolve(given);
  if (given) return WebAssembly.compile(toBytes(given, name) as BufferSource);
  let p = cache.get(name);
  if (!p) {
    p = readBytes(urlOf(name)).then((b) => WebAssembly.compile(b as BufferSource));
    cache.set(name, p);
    p.catch(() => cache.delete(name));
  }
  return p;
}

/** A module with one SIMD instruction (i8x16.splat): whether this engine has WebAssembly SIMD at all. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

/** Where a build came from, for messages: the caller's wasm option, or lowbit's own file. */
function origin(name: BuildName, sources?: WasmSources): string {
  return sources?.[name] ? `the wasm given as wasm.${name}` : `lowbit's ${name}.wasm (${urlOf(name).href})`;
}

/**
 * Why a build's bytes do not validate, as an error: not WebAssembly at all, an engine without
 * SIMD, or a module this engine rejects (damaged, or not lowbit's). Lowbit's own file broken
 * means a broken install; bytes the caller gave are an ArgumentError.
 */
export async function invalidBuild(name: BuildName, bytes: Uint8Array, sources?: WasmSources): Promise<LowbitError> {
  const what = origin(name, sources);
  const Err = sources?.[name] ? ArgumentError : FeatureError;
  const fix = sources?.[name] ? 'pass the bytes of lowbit\'s build/' + name + '.wasm' : 'reinstall lowbit';
  const magic = bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
  if (!magic) return new Err(`${what} is not WebAssembly (${bytes.length} bytes, no \\0asm header); ${fix}`);
  if (!WebAssembly.validate(SIMD_PROBE)) return new FeatureError('this engine does not support WebAssembly SIMD (128-bit), which lowbit needs');
  const reason = await WebAssembly.compile(bytes as BufferSource).then(() => 'it compiles, yet does not validate', (e: Error) => e.message);
  return new Err(`${what} is not a valid WebAssembly module (${reason}); ${fix}`);
}

/** Refuses a compiled module that is not a lowbit build (its kernels would be missing at the first call). */
export function checkBuildModule(name: BuildName, module: WebAssembly.Module, sources?: WasmSources): void {
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  const missing = ['heap_base', 'build_relaxed', 'f32_minmax'].find((e) => !exports.has(e));
  if (missing) {
    const what = sources?.[name] ? `the WebAssembly.Module given as wasm.${name}` : `lowbit's ${name}.wasm`;
    throw new ArgumentError(`${what} is not a lowbit build: it lacks the export '${missing}'`);
  }
}
