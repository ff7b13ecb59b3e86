// Why a weight layer of a quantized model stayed float32, in words a report can print: the user
// asked for int8 and should not have to guess why `compare` shows float32 for some layers.

import type { LayerSpec } from './model.js';
import type { RangeStats } from './calibrate.js';
import { gemmShape } from './int8-shape-rule.js';

/** The reason a node's layer is float32 under `scheme`, or null when it is quantized. */
export function keptFloatReason(spec: LayerSpec, s: RangeStats | undefined, scheme: string, asked: string, byOption: boolean, tooSmall: boolean): string | null {
  if (spec.type === 'conv' && spec.geometry.group !== 1) return 'grouped/depthwise convolution (memory-bound; the quantized kernels are dense GEMMs)';
  if (!s) return 'no calibration input reached it';
  if (byOption && scheme === 'float32') return 'layerScheme chose float32';
  if (tooSmall) {
    const [m, k, n] = gemmShape(spec, s.dims)!;
    return `int8 shape rule: GEMM ${m}x${k}x${n} too small for int8 to beat float32 (speed 'shape', the int8 default; speed 'off' quantizes it)`;
  }
  if (scheme === 'float32' && asked === 'auto') return "scheme 'auto' chose float32 (accuracy)";
  if (scheme === 'float32' && asked !== 'float32') return `scheme ${asked} does not apply`;
  return null;
}
