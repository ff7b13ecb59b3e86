// Offsets for activation buffers inside one block of linear memory, from their lifetimes:
// first-fit over a sorted free list, buffers freed after their last reader. The block's size is
// the plan's peak activation memory.

import { ModelError } from '../errors.js';

export const ARENA_ALIGN = 64;

export class ArenaPlanner {
  private free: { start: number; size: number }[] = [];
  private end = 0;
  private live = new Map<number, number>(); // offset -> size
  peak = 0;

  alloc(bytes: number): number {
    const size = Math.max(ARENA_ALIGN, Math.ceil(bytes / ARENA_ALIGN) * ARENA_ALIGN);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].size >= size && (best < 0 || this.free[i].size < this.free[best].size)) best = i;
    }
    let offset: number;
    if (best >= 0) {
      const f = this.free[best];
      offset = f.start;
      if (f.size === size) this.free.splice(best, 1);
      else this.free[best] = { start: f.start + size, size: f.size - size };
    } else {
      // grow; reuse a free block that touches the end
      const last = this.free[this.free.length - 1];
      if (last && last.start + last.size === this.end) {
        offset = last.start;
        this.free.pop();
        this.end = offset + size;
      } else {
        offset = this.end;
        this.end += size;
      }
    }
    this.live.set(offset, size);
    this.peak = Math.max(this.peak, this.end);
    return offset;
  }

  release(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) throw new ModelError(`arena: offset ${offset} is not live (a plan released a buffer it never placed)`);
    this.live.delete(offset);
    this.free.push({ start: offset, size });
    this.free.sort((a, b) => a.start - b.start);
    const merged: { start: number; size: number }[] = [];
    for (const f of this.free) {
      const m = merged[merged.length - 1];
      if (m && m.start + m.size === f.start) m.size += f.size;
      else merged.push({ ...f });
    }
    this.free = merged;
  }
}
