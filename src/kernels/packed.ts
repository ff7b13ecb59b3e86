// What every kernel family's packed weights share: the blocks of linear memory they own, freed
// once by dispose(), and a flag the run functions check so disposed weights are an error, never a
// read of freed memory.

import type { KernelHost } from '../runtime/host.js';

export abstract class PackedWeights {
  private live = true;

  /** @param owned the linear-memory blocks these weights own (0 entries: none) */
  protected constructor(host: KernelHost, owned: readonly number[]) {
    this.release = () => {
      for (const p of owned) if (p) host.free(p);
    };
  }

  private readonly release: () => void;

  dispose(): void {
    if (!this.live) return;
    this.live = false;
    this.release();
  }

  get disposed(): boolean {
    return !this.live;
  }
}
