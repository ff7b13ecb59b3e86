// Plans by key (input dims, and the values of small integer inputs), the least recently used
// dropped past `capacity`: a model fed many shapes keeps a bounded set (issue 12: 300 widths took
// RSS from 132 to 205 MB). A plan holds host data only (folded constants, arena offsets; layers are
// the model's, by node), so dropping it frees it; a later run with that key plans again.

export const DEFAULT_PLAN_CACHE_SIZE = 16;

export class PlanCache<T> {
  private readonly map = new Map<string, T>();

  constructor(public capacity = DEFAULT_PLAN_CACHE_SIZE) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): T | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // most recent last
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, v: T): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > Math.max(1, this.capacity)) this.map.delete(this.map.keys().next().value as string);
  }

  clear(): void {
    this.map.clear();
  }
}
