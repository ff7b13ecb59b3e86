// Finding and compiling the kernel modules. Four builds from one source: baseline and relaxed SIMD,
// each with a plain or a shared (threaded) imported memory. In Node they are read from the package
// files; elsewhere fetched next to this module (bundlers follow `new URL(..., import.meta.url)`), or
// handed in by the caller as a WebAssembly.Module or bytes (edge runtimes that can't compile URLs).

import { ArgumentError, FeatureError, describe } from '../errors.js';

export type BuildName = 'baseline' | 'relaxed' | 'baseline-mt' | 'relaxed-mt';
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView;
export type WasmSources = Partial<Record<BuildName, WasmSource>>;

function urlOf(name: BuildName): URL {
  // literal URLs, one per build, so bundlers can see and copy each file
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
}

const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:' && isNode) {
    const fs = await import('node:fs/promises');
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
