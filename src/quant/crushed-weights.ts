// A weight so much larger than the rest of its output channel that every other weight of the
// channel rounds to 0 at the channel's scale (int8-sparse: one per row; int4-sparse: one per row,
// times a block multiplier of at most 63): the layer keeps that single weight and answers
// confidently wrong wherever that weight's input is small (int8-sparse / int4-sparse with a 1e30
// weight ran silently). Refused at quantize time, as FPx refuses a channel its scales cannot
// reach. 2^16 is far past where rounding crushes the rest (int8: 254x, int4-sparse: 882x), so
// ordinary outlier weights pass.

import { ValueRangeError } from '../errors.js';

export const CRUSH_LOG2 = 16;

/** Throws a ValueRangeError when a row of W (N rows of K) holds a |w| >= 2^16 times every other non-zero |w| of the row. */
export function checkCrushedWeights(what: string, wnk: Float32Array, n: number, k: number): void {
  for (let j = 0; j < n; j++) {
    let top = 0, second = 0, at = -1;
    for (let t = j * k; t < (j + 1) * k; t++) {
      const a = Math.abs(wnk[t]);
      if (a > top) [second, top, at] = [top, a, t];
      else if (a > second) second = a;
    }
    if (second > 0 && top >= 2 ** CRUSH_LOG2 * second) {
      throw new ValueRangeError(`${what}: W[${j}][${at - j * k}] is ${wnk[at]}, over 2^${CRUSH_LOG2} times every other weight of output channel ${j} (the next largest is ${second.toPrecision(4)}): at the channel's scale they would all round to 0 and the layer would answer wrong. Keep this layer float32`);
    }
  }
}
