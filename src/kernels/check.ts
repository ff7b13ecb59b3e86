// Argument checks the kernel wrappers share: the wasm kernels do no bounds checks of their own.

import { ShapeError } from '../errors.js';

/** Throws unless every size is a non-negative integer. */
export function checkSizes(fn: string, sizes: Record<string, number>): void {
  for (const [name, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(`${fn}: ${name} must be a non-negative integer, got ${v}`);
  }
}
