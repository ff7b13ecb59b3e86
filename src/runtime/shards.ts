// Shards: several runtimes, each with its own wasm32 linear memory (at most 4 GiB each), for models
// whose weights do not fit one memory. This file only plans and creates them: planShards cuts an
// ordered list of items (embedding, layers, head) into contiguous runs of at most `budget` bytes,
// createShards makes one runtime per run. The caller keeps each item's buffers in its shard's memory
// and passes the (small) activations between shards through JS.

import { ArgumentError } from '../errors.js';
import { createKernelRuntime, type KernelRuntime, type RuntimeOptions } from './runtime.js';

/** A wasm32 memory's ceiling: 65536 pages of 64 KiB. */
export const WASM32_MEMORY_BYTES = 2 ** 32;

/**
 * Default bytes of items per shard: 3.5 GiB leaves room under 4 GiB for scratch, the allocator's
 * alignment and the pool's control block.
 */
export const DEFAULT_SHARD_BYTES = 3.5 * 2 ** 30;

export interface ShardPlan {
  /** the shard of each item */
  readonly shardOf: readonly number[];
  /** bytes of items in each shard */
  readonly bytes: readonly number[];
}

/**
 * Cuts items (in order) into contiguous shards of at most `budget` bytes each, as even as the items
 * allow: the fewest shards that fit, each cut where an item's middle passes the even share.
 */
export function planShards(itemBytes: readonly number[], budget = DEFAULT_SHARD_BYTES): ShardPlan {
  if (!(Number.isSafeInteger(budget) && budget > 0 && budget <= WASM32_MEMORY_BYTES)) {
    throw new ArgumentError(`budget: expected an integer number of bytes from 1 to 2^32, got ${String(budget)}`);
  }
  if (itemBytes.length === 0) throw new ArgumentError('itemBytes: expected at least one item');
  itemBytes.forEach((b, i) => {
    if (!(Number.isSafeInteger(b) && b >= 0)) throw new ArgumentError(`itemBytes[${i}]: expected a non-negative integer, got ${String(b)}`);
    if (b > budget) throw new ArgumentError(`itemBytes[${i}]: ${b} bytes do not fit a shard of ${budget} bytes`);
  });
  const total = itemBytes.reduce((a, b) => a + b, 0);
  const share = total / Math.max(1, Math.ceil(total / budget));
  const shardOf: number[] = [];
  const bytes: number[] = [0];
  for (const b of itemBytes) {
    const cur = bytes[bytes.length - 1];
    if (cur > 0 && (cur + b > budget || cur + b / 2 > share)) bytes.push(0);
    bytes[bytes.length - 1] += b;
    shardOf.push(bytes.length - 1);
  }
  return { shardOf, bytes };
}

/** One runtime (own memory, own worker pool when threads > 1) per shard; all are disposed if one fails. */
export async function createShards(count: number, options: RuntimeOptions = {}): Promise<KernelRuntime[]> {
  if (!(Number.isInteger(count) && count >= 1 && count <= 64)) throw new ArgumentError(`count: expected an integer from 1 to 64, got ${String(count)}`);
  const shards: KernelRuntime[] = [];
  try {
    for (let i = 0; i < count; i++) shards.push(await createKernelRuntime(options));
  } catch (e) {
    for (const rt of shards) rt.dispose();
    throw e;
  }
  return shards;
}

export interface ShardMemory {
  /** bytes of linear memory the shard has grown to */
  readonly linearBytes: number;
  /** bytes its allocator has handed out and not freed */
  readonly inUse: number;
}

export function shardMemory(rt: KernelRuntime): ShardMemory {
  return { linearBytes: rt.memory.buffer.byteLength, inUse: rt.heap.inUse };
}
