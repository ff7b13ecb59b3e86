// When a model gives its activation arena back. The arena grows to the largest plan run so far; a
// run with a large batch would otherwise keep that memory for the model's life (issue 12). After
// each run: a run that needed far more than the runs before it (a spike) returns its arena at once;
// an arena far larger than every recent run needed is returned too. The next run allocates what it
// needs. Small arenas are kept (reallocating them would buy nothing).

/** recent runs remembered: the steady size is the most any of them needed */
export const ARENA_WINDOW = 4;
/** an arena more than this many times the steady size is returned */
export const ARENA_SHRINK_FACTOR = 4;
/** arenas up to this size are always kept */
export const ARENA_KEEP_BYTES = 1 << 20;

export class ArenaHistory {
  private readonly needs: number[] = [];

  /** Records a run that needed `need` bytes in an arena of `bytes`; whether to free the arena now. */
  afterRun(bytes: number, need: number): boolean {
    const before = this.needs.length ? Math.max(...this.needs) : 0;
    this.needs.push(need);
    if (this.needs.length > ARENA_WINDOW) this.needs.shift();
    if (bytes <= ARENA_KEEP_BYTES) return false;
    const spike = before > 0 && need > ARENA_SHRINK_FACTOR * before;
    return spike || bytes > ARENA_SHRINK_FACTOR * Math.max(...this.needs);
  }
}
