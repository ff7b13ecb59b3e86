// Why a weight layer of a quantized model stayed float32, in words a report can print: the user
// asked for int8 and should not have to guess why `compare` shows float32 for some layers.

import type { LayerSpec } from './model.js';
import type { RangeStats } from './calibrate.js';
import { gemmShape } from './int8-shape-rule.js';

/** [K, N] of a layer's GEMM */
const weightKN = (spec: LayerSpec): [number, number] => (spec.type === 'conv' ? [spec.geometry.kh * spec.geometry.kw * spec.geometry.cin, spec.geometry.cout] : [spec.k, spec.n]);

/** The reason a node's layer is float32 under `scheme`, or null when it is quantized. */
export function keptFloatReason(spec: LayerSpec, s: RangeStats | undefined, scheme: string, asked: string, byOption: boolean, tooSmall: boolean, uncalibrated = false): string | null {
  if (spec.type === 'conv' && spec.geometry.group !== 1) return 'grouped/depthwise convolution (memory-bound; the quantized kernels are dense GEMMs)';
  if (!s && !uncalibrated) return 'no calibration input reached it';
  if (byOption && scheme === 'float32') return 'layerScheme chose float32';
  if (tooSmall) {
    const shape = s ? gemmShape(spec, s.dims)!.join('x') : `K ${weightKN(spec).join(' x N ')} (no calibration: M unknown)`;
    return `int8 shape rule: GEMM ${shape} too small for int8 to beat float32 (speed 'shape', the int8 default; speed 'off' quantizes it)`;
  }
  if (scheme === 'float32' && asked === 'auto') return "scheme 'auto' chose float32 (accuracy)";
  if (scheme === 'float32' && asked !== 'float32') return `scheme ${asked} does not apply`;
  return null;
}
