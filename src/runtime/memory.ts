// The runtime's allocator over wasm linear memory. Blocks are 64-byte aligned (a cache line, so
// v128 loads are aligned and threads writing neighbouring blocks don't share lines). Free blocks
// sit in an address-ordered list and merge with their neighbours; the top of the heap grows the
// memory page by page. Only the main thread allocates.

import { ArgumentError, OutOfMemoryError } from '../errors.js';

const ALIGN = 64;
const PAGE = 65536;
export const WASM32_MAX_PAGES = 65536;

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export class Allocator {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;
  private readonly maxPages: number;
  private free: { ptr: number; size: number }[] = [];
  private readonly sizes = new Map<number, number>();

  constructor(memory: WebAssembly.Memory, heapBase: number, maxPages: number) {
    this.memory = memory;
    this.base = align(heapBase);
    this.top = this.base;
    this.maxPages = maxPages;
  }

  /** Bytes handed out and not yet freed. */
  get inUse(): number {
    let n = 0;
    for (const s of this.sizes.values()) n += s;
    return n;
  }

  /** Bytes of linear memory reserved by the heap (its high-water mark). */
  get heapSize(): number {
    return this.top - this.base;
  }

  alloc(bytes: number): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new ArgumentError(`alloc: bytes must be a non-negative integer, got ${bytes}`);
    }
    const size = align(Math.max(bytes, 1));
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      if (f.size >= size) {
        const ptr = f.ptr;
        if (f.size === size) this.free.splice(i, 1);
        else {
          f.ptr += size;
          f.size -= size;
        }
        this.sizes.set(ptr, size);
        return ptr;
      }
    }
    // extend the heap; a free block at the top is reused as its start
    const last = this.free[this.free.length - 1];
    const topFree = last && last.ptr + last.size === this.top;
    const ptr = topFree ? last.ptr : this.top;
    const end = ptr + size;
    this.ensure(end, bytes); // may throw: the free list is still whole
    if (topFree) this.free.pop();
    this.top = end;
    this.sizes.set(ptr, size);
    return ptr;
  }

  /** Allocates and zero-fills. */
  calloc(bytes: number): number {
    const p = this.alloc(bytes);
    new Uint8Array(this.memory.buffer, p, align(Math.max(bytes, 1))).fill(0);
    return p;
  }

  freeBlock(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new ArgumentError(`free: ${ptr} is not a live allocation`);
    this.sizes.delete(ptr);
    // insert in address order, merging with neighbours
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid].ptr < ptr) lo = mid + 1;
      else hi = mid;
    }
    const block = { ptr, size };
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    if (prev && prev.ptr + prev.size === ptr) {
      prev.size += size;
      if (next && prev.ptr + prev.size === next.ptr) {
        prev.size += next.size;
        this.free.splice(lo, 1);
      }
    } else if (next && ptr + size === next.ptr) {
      next.ptr = ptr;
      next.size += size;
    } else {
      this.free.splice(lo, 0, block);
    }
  }

  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil(end / PAGE);
    if (pages > this.maxPages) {
      const limit = this.maxPages * PAGE;
      throw new OutOfMemoryError(
        `cannot allocate ${requested} bytes: the heap would reach ${end} bytes, past the ` +
          `${limit === 2 ** 32 ? '4 GiB wasm32' : `${limit}-byte (maxMemoryPages = ${this.maxPages})`} limit ` +
          `(${this.inUse} bytes in use)`,
      );
    }
    try {
      this.memory.grow(pages - have / PAGE);
    } catch (e) {
      throw new OutOfMemoryError(`cannot grow wasm memory to ${pages} pages for ${requested} bytes: ${(e as Error).message}`);
    }
  }
}
