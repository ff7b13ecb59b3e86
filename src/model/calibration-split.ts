// The 'auto' scheme's three-way split of the calibration inputs: the part the candidates' weights are
// fitted on (GPTQ's and the by-effect choices' Hessians), the part the search measures mixes on, and
// the part the final gate (and the search's held-back check) judges on. No input is in two parts.
//
// Why three: with two parts the search measured on lines the 4-bit weights were fitted on, where a
// 4-bit layer looks better than it is (PP-OCRv4: the search's mix beat int8 there and read 1.5 points
// fewer test lines).
// Why not every k-th input: calibration sets are often interleaved by class or source. The demo's 68
// lines cycle through 4 fonts, so "every 4th" held back one font only (17 Liberation Serif lines).
// Inputs are ranked by frac(i·φ) (a low-discrepancy order; φ the golden ratio): any periodic
// interleaving spreads evenly over the three parts, and the split is the same on every run.

import type { Feeds } from './calibrate.js';

/** Default share of the calibration inputs the gate judges on (the rest split evenly between fit and search). */
export const DEFAULT_HOLD_OUT = 1 / 3;
/** Fewer inputs than this: no separate fit part (the search measures on the lines the weights are fitted on, as before). */
export const MIN_THREE_WAY = 6;

export interface CalibrationSplit {
  /** the candidates' Hessians (GPTQ, ANT/FPx by effect) come from these */
  fit: Feeds[];
  /** the search measures each layer and mix on these (at most `limit`, spread over the part) */
  search: Feeds[];
  /** the gate's inputs (every one held back: its verdict needs as many as there are) */
  heldOut: Feeds[];
  /** the search's held-back check between rounds: the held-back inputs, at most `limit` of them spread over the part */
  check: Feeds[];
}

const PHI = (Math.sqrt(5) - 1) / 2;

/** Each input's part: 0 fit, 1 search, 2 held out (the gate); with fewer than MIN_THREE_WAY inputs no 0 (fitPart then takes the search part). */
export function calibrationParts(count: number, holdOut = DEFAULT_HOLD_OUT): Uint8Array {
  const part = new Uint8Array(count);
  if (count < 2 || !(holdOut > 0)) return part.fill(1); // no check: the search measures on everything
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => ((a + 1) * PHI) % 1 - ((b + 1) * PHI) % 1);
  const gate = Math.max(1, Math.min(count - 1, Math.round(holdOut * count)));
  const three = count >= MIN_THREE_WAY;
  const search = three ? Math.max(1, Math.round((count - gate) / 2)) : count - gate;
  order.forEach((i, r) => (part[i] = r < gate ? 2 : r < gate + search ? 1 : 0));
  return part;
}

/** The calibration inputs split three ways (see the header); `limit` caps the search part. */
export function splitCalibration(calibration: readonly Feeds[], holdOut = DEFAULT_HOLD_OUT, limit = Infinity): CalibrationSplit {
  const part = calibrationParts(calibration.length, holdOut);
  const of = (p: number) => calibration.filter((_, i) => part[i] === p);
  const heldOut = of(2);
  return { fit: fitPart(calibration, holdOut), search: evenly(of(1), limit), heldOut, check: evenly(heldOut, limit) };
}

/** The inputs the candidates' weights are fitted on: the fit part, or with too few inputs for three parts everything the gate does not hold back. */
export function fitPart(calibration: readonly Feeds[], holdOut = DEFAULT_HOLD_OUT): Feeds[] {
  const part = calibrationParts(calibration.length, holdOut);
  const three = calibration.length >= MIN_THREE_WAY && holdOut > 0;
  return calibration.filter((_, i) => (three ? part[i] === 0 : part[i] !== 2));
}

function evenly<T>(list: T[], count: number): T[] {
  if (list.length <= count) return list;
  return Array.from({ length: count }, (_, i) => list[Math.floor(((i + 0.5) * list.length) / count)]);
}
