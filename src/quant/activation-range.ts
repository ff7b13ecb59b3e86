// Static uint8 quantization of a layer's input, from the range calibration saw.

import { ValueRangeError } from '../errors.js';
import { roundHalfEven } from './rounding.js';

/** Static uint8 quantization of a tensor: q = clamp(round(x / scale) + zeroPoint, 0, 255). */
export interface ActivationQuant {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric uint8 parameters covering [min, max] (and 0, so zero padding stays exact). */
export function uint8Range(min: number, max: number): ActivationQuant {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new ValueRangeError(`activation range [${min}, ${max}] must be finite with min <= max`);
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = Math.fround(hi > lo ? (hi - lo) / 255 : 1);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}
