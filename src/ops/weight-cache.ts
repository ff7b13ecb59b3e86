// Packed B matrices of rt.ops.matMulInteger kept between calls, so a model-like loop calling it with
// the same weights does not repack them every time (packing 4096x11008 took 92 ms on baseline, 205 ms
// on relaxed; the GEMV it feeds takes a few). onnxruntime prepacks constant initializers the same way.
//
// An entry is keyed on B's data array (a WeakMap: a dropped array drops its entry, and a
// FinalizationRegistry gives its linear memory back), and matches only the same K, N, element type
// and B zero points. What is checked on each call is the caller's choice (WeightCacheMode):
//   'verify' (default)  B's bytes are compared with a copy taken when packing (memcmp speed in Node,
//                       ~2.4 ms for 16 MiB here): changed data is repacked, stale weights never run;
//   'trust'             identity only: the caller promises B's data does not change in place (call
//                       forget(B) after changing it); no copy kept, nothing read;
//   'off'               packed for this call and freed, nothing kept.
// At most MAX_ENTRIES entries and MAX_BYTES of packed weights stay; the least recently used go first.
// An entry in use by a running call is freed only when that call ends.

import { ArgumentError, describe } from '../errors.js';
import { packQs8, type Qs8Weights } from '../kernels/qs8.js';
import type { KernelHost } from '../runtime/host.js';

export type WeightCacheMode = 'verify' | 'trust' | 'off';
export const WEIGHT_CACHE_MODES: readonly WeightCacheMode[] = ['verify', 'trust', 'off'];

const MAX_ENTRIES = 32;
const MAX_BYTES = 256 * 2 ** 20;

type B8 = Int8Array | Uint8Array;

interface Entry {
  w: Qs8Weights;
  key: WeakRef<B8>;
  k: number;
  n: number;
  signed: boolean;
  zb: Int32Array;
  /** B's bytes when packed ('verify'), or null ('trust') */
  copy: Uint8Array | null;
  users: number;
  dropped: boolean;
}

const bytesOf = (b: B8) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/** whether two byte arrays are equal: memcmp through Buffer where Node has it, else 4 bytes at a time */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const buf = (globalThis as { Buffer?: { compare(x: Uint8Array, y: Uint8Array): number } }).Buffer;
  if (buf) return buf.compare(a, b) === 0;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const x = new Int32Array(a.buffer, a.byteOffset, a.length >> 2), y = new Int32Array(b.buffer, b.byteOffset, b.length >> 2);
    for (; i < x.length; i++) if (x[i] !== y[i]) return false;
    i <<= 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const sameZb = (a: Int32Array, b: ArrayLike<number>) => a.length === b.length && a.every((v, i) => v === b[i]);

export function checkWeightCacheMode(v: unknown): WeightCacheMode {
  if (v === undefined) return 'verify';
  if (!WEIGHT_CACHE_MODES.includes(v as WeightCacheMode)) throw new ArgumentError(`weightCache: expected 'verify', 'trust' or 'off', got ${describe(v)}`);
  return v as WeightCacheMode;
}

export class PackedWeightCache {
  private readonly byData = new WeakMap<B8, Entry>();
  /** live entries, least recently used first */
  private readonly order: Entry[] = [];
  private readonly finalizer = new FinalizationRegistry<Entry>((e) => this.drop(e));

  constructor(private readonly rt: KernelHost) {}

  /**
   * Runs fn with B (K x N, row-major) packed with zero points zb, from the cache when `mode` allows
   * and the entry still matches.
   */
  async with<R>(b: B8, k: number, n: number, zb: ArrayLike<number>, mode: WeightCacheMode, fn: (w: Qs8Weights) => Promise<R>): Promise<R> {
    if (mode === 'off') {
      const w = packQs8(this.rt, b, k, n, zb);
      try {
        return await fn(w);
      } finally {
        w.dispose();
      }
    }
    const e = this.entry(b, k, n, zb, mode);
    e.users++;
    try {
      return await fn(e.w);
    } finally {
      e.users--;
      if (e.dropped && e.users === 0) this.free(e);
    }
  }

  /** Forgets B's packed weights (after changing B's data in place under 'trust'). */
  forget(b: B8): void {
    const e = this.byData.get(b);
    if (e) this.drop(e);
  }

  /** bytes of linear memory the cached weights hold */
  get bytes(): number {
    return this.order.reduce((s, e) => s + e.w.bytes, 0);
  }

  get size(): number {
    return this.order.length;
  }

  private entry(b: B8, k: number, n: number, zb: ArrayLike<number>, mode: WeightCacheMode): Entry {
    const signed = b instanceof Int8Array;
    const old = this.byData.get(b);
    if (old && !old.dropped && old.k === k && old.n === n && old.signed === signed && sameZb(old.zb, zb)) {
      // 'verify' needs the copy: an entry packed under 'trust' has none, so it is repacked once
      if (mode === 'trust' || (old.copy && sameBytes(old.copy, bytesOf(b)))) {
        this.touch(old);
        return old;
      }
    }
    if (old) this.drop(old);
    const w = packQs8(this.rt, b, k, n, zb);
    const e: Entry = { w, key: new WeakRef(b), k, n, signed, zb: Int32Array.from(zb), copy: mode === 'verify' ? bytesOf(b).slice() : null, users: 0, dropped: false };
    this.byData.set(b, e);
    this.finalizer.register(b, e, e);
    this.order.push(e);
    this.evict();
    return e;
  }

  private touch(e: Entry): void {
    const i = this.order.indexOf(e);
    if (i >= 0 && i !== this.order.length - 1) {
      this.order.splice(i, 1);
      this.order.push(e);
    }
  }

  private evict(): void {
    let bytes = this.bytes;
    while (this.order.length > 1 && (this.order.length > MAX_ENTRIES || bytes > MAX_BYTES)) {
      const e = this.order[0];
      bytes -= e.w.bytes;
      this.drop(e);
    }
  }

  private drop(e: Entry): void {
    if (e.dropped) return;
    e.dropped = true;
    const i = this.order.indexOf(e);
    if (i >= 0) this.order.splice(i, 1);
    const b = e.key.deref();
    if (b && this.byData.get(b) === e) this.byData.delete(b);
    this.finalizer.unregister(e);
    if (e.users === 0) this.free(e);
  }

  private free(e: Entry): void {
    e.copy = null;
    if (!e.w.disposed) e.w.dispose();
  }

  /** Frees every entry (the runtime's own dispose frees the memory anyway). */
  clear(): void {
    for (const e of [...this.order]) this.drop(e);
  }
}
