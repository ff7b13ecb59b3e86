// Static uint8 quantization of a layer's input, from the range calibration saw.

import { ValueRangeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

/**
 * Static uint8 quantization of a tensor: q = clamp(round(x / scale) + zeroPoint, 0, 255), or, with
 * per-channel parts, q = clamp(floor(x / (scale * channelScale[c]) + 1 - border[c]) + zeroPoint, 0, 255)
 * for the value's channel c (its index mod the vectors' length; the qs8-stage-chan kernel).
 */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
  /** per input channel: x is divided by it before the per-tensor scale; the weights' rows carry it (SmoothQuant's migration) */
  channelScale?: Float32Array;
  /** per input channel: the fraction at which a value rounds up (AQuant's border; 0.5 is round half up) */
  border?: Float32Array;
}

/** Asymmetric uint8 parameters covering [min, max] (and 0, so zero padding stays exact). */
export function uint8Range(min: number, max: number): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new ValueRangeError(`activation range [${min}, ${max}] must be finite with min <= max`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}
