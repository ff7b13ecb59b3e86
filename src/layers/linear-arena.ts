// A layer's working memory in linear memory, kept between forward calls: named regions sized for M
// rows, grown (never shrunk) when a larger M comes, freed by dispose().
//
// Placement is deterministic, whatever the heap looked like when the layer was built: the arena
// starts on a 4 KiB boundary and each region starts on a 4 KiB boundary plus its own offset
// (REGION_SKEW apart), so the streams the GEMM reads and writes together (staged A, output, params)
// never start at the same offset within a page (4 KiB aliasing between loads and stores), and every
// region is 64-byte aligned. Issue 18 measured the same layer at 43-48 or 76-77 GOPS depending on
// where per-call allocations happened to land.
//
// Two calls on one layer may overlap (forward is async while threads run the GEMM): a call that finds
// the arena busy gets a temporary one, freed when it ends.

import { ArgumentError } from '../errors.js';
import type { KernelHost } from '../runtime/host.js';

const PAGE = 4096;
const REGION_SKEW = 64 * 9;
const up = (n: number, a: number) => Math.ceil(n / a) * a;

type Regions = Record<string, number>;

interface Block {
  ptr: number;
  rows: number;
  at: Regions;
  /** the last region, a bump allocator's space for the GEMM's per-call scratch */
  scratch: number;
  scratchEnd: number;
}

export class LinearArena {
  private block: Block | null = null;
  private busy = false;
  private disposed = false;

  /** `sizes(m)`: the byte size of each region for M rows; the last one is the GEMM's scratch */
  constructor(private readonly rt: KernelHost, private readonly sizes: (m: number) => Regions) {}

  /** Runs fn with the regions' addresses for M rows and a scratch allocator (valid during fn). */
  async use<R>(m: number, fn: (at: Regions, alloc: (bytes: number) => number) => Promise<R>): Promise<R> {
    if (this.disposed) throw new ArgumentError('forward: this layer was disposed');
    let block: Block;
    const own = !this.busy;
    if (own) {
      if (!this.block || this.block.rows < m) {
        this.release();
        this.block = this.allocate(m);
      }
      block = this.block;
      this.busy = true;
    } else block = this.allocate(m);
    const extra: number[] = [];
    let top = block.scratch;
    const alloc = (bytes: number) => {
      const p = top;
      if (p + bytes <= block.scratchEnd) {
        top = up(p + bytes, 64);
        return p;
      }
      // the GEMM asked for more than the estimate: fall back to the heap for this call
      const q = this.rt.alloc(bytes);
      extra.push(q);
      return q;
    };
    try {
      return await fn(block.at, alloc);
    } finally {
      for (const q of extra) this.rt.free(q);
      if (!own) this.rt.free(block.ptr);
      else {
        this.busy = false;
        if (this.disposed) this.release();
      }
    }
  }

  private allocate(m: number): Block {
    const sizes = this.sizes(m);
    const names = Object.keys(sizes);
    const offsets: Regions = {};
    let end = 0;
    names.forEach((name, i) => {
      const start = up(end, PAGE) + ((i * REGION_SKEW) % PAGE);
      offsets[name] = start;
      end = start + up(Math.max(sizes[name], 16), 64);
    });
    const ptr = this.rt.alloc(end + PAGE);
    const base = up(ptr, PAGE);
    const at: Regions = {};
    for (const name of names) at[name] = base + offsets[name];
    const last = names[names.length - 1];
    return { ptr, rows: m, at, scratch: at[last], scratchEnd: at[last] + sizes[last] };
  }

  private release(): void {
    if (this.block) this.rt.free(this.block.ptr);
    this.block = null;
  }

  /** bytes of linear memory the arena holds now */
  get bytes(): number {
    if (!this.block) return 0;
    const s = this.sizes(this.block.rows);
    return Object.values(s).reduce((a, b) => a + b, 0);
  }

  /** Frees the arena (at the end of a call still running on it). */
  dispose(): void {
    this.disposed = true;
    if (!this.busy) this.release();
  }
}
