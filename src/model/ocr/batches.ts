// Groups a page's text lines into recognizer batches: lines of similar width together (sorted by
// width, a batch closes when it is full or its next line would be more than `maxPadRatio` times
// as wide as its first), so little of a batch is padding.

import { ArgumentError, describe } from '../../errors.js';

export interface BatchOptions {
  /** lines per batch (default 8) */
  maxBatch?: number;
  /** widest / narrowest line allowed in one batch (default 1.5) */
  maxPadRatio?: number;
}

/** Indices of `widths` grouped into batches, narrowest first. */
export function lineBatches(widths: readonly number[], options: BatchOptions = {}): number[][] {
  const maxBatch = options.maxBatch ?? 8;
  const maxPadRatio = options.maxPadRatio ?? 1.5;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ArgumentError(`lineBatches: maxBatch must be a positive integer, got ${describe(options.maxBatch)}`);
  if (!(maxPadRatio >= 1)) throw new ArgumentError(`lineBatches: maxPadRatio must be ≥ 1, got ${describe(options.maxPadRatio)}`);
  const order = widths.map((_, i) => i).sort((a, b) => widths[a]! - widths[b]! || a - b);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const i of order) {
    if (batch.length > 0 && (batch.length === maxBatch || widths[i]! > widths[batch[0]!]! * maxPadRatio)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(i);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
