// Whether an int8 layer can beat float32 at its shape, derived from the GEMM's dimensions alone (no
// timing: the choice, and so the output, is the same on every machine and engine). Per call the int8
// layer pays, beyond float32's products, for quantizing and staging each input value (cost ~ M*K)
// and for the dequantizing epilogue of each output (~ M*N); it saves a fraction of each
// multiply-add (~ M*K*N). So int8 wins only when both K and N are large enough:
//   S/N + E/K <= LIMIT, and the call is big enough that its fixed costs do not dominate.
// S, E and LIMIT come from timing the float32 and int8 model layers over M 1..2304, K and N 8..200
// (bench/int8-shape-grid.mjs; Node 20 baseline build, AMD EPYC; table in bench/RESULTS-npm-models.md):
// the crossing was near K=200 N=16, K=88 N=32 and K=32 N=200; LIMIT keeps a margin, as a layer near
// the crossing gains nothing either way.

import { convOutSize } from '../layers/conv2d.js';
import type { LayerSpec } from './model.js';

/** the schemes the rule applies to by default (speed 'shape'): int8's kernels, static or dynamic activations */
export const SHAPE_RULE_SCHEMES: readonly string[] = ['int8', 'int8-dynamic'];

const S = 14;
const E = 30;
const LIMIT = 0.8;
/** below this many multiply-adds per call the int8 layer's fixed costs (staging, the NaN scan) are a loss */
const MIN_MACS = 16384;

/** [M, K, N] of the layer's GEMM for an input of `dims` (NCHW for convolutions), or null when it is not a GEMM (grouped convolution). */
export function gemmShape(spec: LayerSpec, dims: readonly number[]): [number, number, number] | null {
  if (spec.type === 'conv') {
    const g = spec.geometry;
    if (g.group !== 1 || dims.length !== 4) return null;
    const [oh, ow] = convOutSize(g, dims[2], dims[3]);
    return [dims[0] * oh * ow, g.kh * g.kw * g.cin, g.cout];
  }
  const count = dims.reduce((a, b) => a * b, 1);
  return [count / spec.k, spec.k, spec.n];
}

/** Whether int8 is expected to be at least as fast as float32 for this GEMM shape. */
export function int8Pays(m: number, k: number, n: number): boolean {
  return S / n + E / k <= LIMIT && m * k * n >= MIN_MACS;
}
