// Argument checks the kernel wrappers share: the wasm kernels do no bounds checks of their own.

import { ShapeError } from '../errors.js';

/** Throws unless every size is an integer >= min (0 by default). */
export function checkSizes(fn: string, sizes: Record<string, number>, min = 0): void {
  // for-in, not Object.entries: no arrays per call (this runs for every layer of a model)
  for (const name in sizes) {
    const v = sizes[name];
    if (!Number.isInteger(v) || v < min) throw new ShapeError(`${fn}: ${name} must be an integer >= ${min}, got ${v}`);
  }
}
