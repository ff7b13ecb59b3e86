// Argument checks shared by the linear layers.

import { ArgumentError, ShapeError } from '../errors.js';

/** K and N of a weight given as [K, N] (or [N, K] when transposed), after checking it. */
export function linearShape(weight: unknown, dims: readonly [number, number], transposed = false): { k: number; n: number } {
  if (!(weight instanceof Float32Array)) throw new ArgumentError('weight: expected a Float32Array');
  const [d0, d1] = dims;
  if (!Number.isInteger(d0) || !Number.isInteger(d1) || d0 < 1 || d1 < 1 || weight.length !== d0 * d1) {
    throw new ShapeError(`weight: dims [${dims.join(', ')}] don't match its ${weight.length} elements`);
  }
  return transposed ? { k: d1, n: d0 } : { k: d0, n: d1 };
}

/** Checks an optional bias of N floats. */
export function checkBias(bias: unknown, n: number): void {
  if (bias && (!(bias instanceof Float32Array) || bias.length !== n)) {
    throw new ShapeError(`bias: expected a Float32Array of ${n} (one per output), got ${(bias as { length?: number }).length ?? 'none'}`);
  }
}
