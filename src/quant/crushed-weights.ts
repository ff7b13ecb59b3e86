// A weight so much larger than the rest of its output channel that every other weight of the
// channel rounds to 0 at the channel's (or its block's) scale, in every weight format: the layer
// keeps that single weight and answers confidently wrong wherever that weight's input is small or
// 0 (padding, a Relu). A 1e30 weight ran silently in int8-sparse / int4-sparse, and ant4 flipped
// the top class (bench/trust-table.mjs). Refused at quantize time (every scheme, the model path
// and rt.linear), as FPx refuses a channel its scales cannot reach. The bar is 2^32, not where
// rounding starts to crush (int8: 254x, 4-bit: 14x): a real model's channel can hold one weight
// at 2^17 times the rest (PP-OCRv4 rec, a Conv channel: 16.1 and the others <= 1e-4), rounded to
// 0 harmlessly; past 2^32 (256x float32's own precision) the others count only when that weight's
// input is exactly 0, where the quantized layer answers 0.

import { ValueRangeError } from '../errors.js';

export const CRUSH_LOG2 = 32;

/** the crushed weights count when they are within 2^8 of the layer's usual runner-up weight */
export const MATTERS_LOG2 = 8;

/**
 * Throws a ValueRangeError when an output channel j of W holds a |w| >= 2^32 times every other
 * non-zero |w| of the channel, and those others are not negligible in the layer: the channel's
 * runner-up is at least 2^-8 times the median runner-up over the layer's channels. (PP-OCRv4's
 * detector has a depthwise channel of one 2.6e-7 weight and the rest below 6e-17, where the other
 * channels' runners-up are ~1e-2: dropping them changes nothing.) W is N rows of K, or with `kn`
 * K rows of N (ONNX MatMul's [K, N]).
 */
export function checkCrushedWeights(what: string, w: Float32Array, n: number, k: number, kn = false): void {
  const [rowStep, colStep] = kn ? [1, n] : [k, 1];
  const tops = new Float64Array(n), seconds = new Float64Array(n), ats = new Int32Array(n).fill(-1);
  for (let j = 0; j < n; j++) {
    let top = 0, second = 0, at = -1;
    for (let i = 0; i < k; i++) {
      const a = Math.abs(w[j * rowStep + i * colStep]);
      if (a > top) [second, top, at] = [top, a, i];
      else if (a > second) second = a;
    }
    [tops[j], seconds[j], ats[j]] = [top, second, at];
  }
  const runnersUp = seconds.filter((v) => v > 0).sort();
  if (runnersUp.length === 0) return;
  const usual = runnersUp[runnersUp.length >> 1];
  for (let j = 0; j < n; j++) {
    const top = tops[j], second = seconds[j];
    if (second > 0 && top >= 2 ** CRUSH_LOG2 * second && second >= usual * 2 ** -MATTERS_LOG2) {
      throw new ValueRangeError(`${what}: output channel ${j} holds ${w[j * rowStep + ats[j] * colStep]} (input ${ats[j]}), over 2^${CRUSH_LOG2} times every other weight of the channel (the next largest is ${second.toPrecision(4)}): at the channel's scale they would all round to 0 and the layer would answer wrong. Keep this layer float32`);
    }
  }
}
