// 2-D bilinear Resize gives onnxruntime's bits exactly (its float32 order: corner weights, then
// ((w11 x11 + w21 x21) + w12 x12) + w22 x22). A float64 sum rounded once was within an ulp, and that
// ulp changed the integers of a DynamicQuantizeLinear after the upsample now and then: ISNet's
// dynamically quantized decoder (@imgly/background-removal) drifted 4% of its output range from
// onnxruntime's.

import { describe, it } from 'vitest';
import { SIMD, useRuntimes } from './helpers.js';
import { X, compareWithOrt } from './model-ort-check.js';
import { OnnxBuilder } from './onnx-builder.js';

const rts = useRuntimes();

const MODES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric'];
// [H, W] in, [H, W] out: 2x (the FPN / U-Net case), odd factors, down in one axis, to 1 row
const SIZES: [number[], number[]][] = [[[5, 7], [10, 14]], [[6, 4], [13, 9]], [[9, 8], [4, 17]], [[3, 5], [1, 8]], [[1, 3], [4, 6]]];

function resize(b: OnnxBuilder, x: string, y: string, dims: number[], out: number[], mode: string): OnnxBuilder {
  b.ints(`${y}.sizes`, [dims[0], dims[1], out[0], out[1]]);
  return b.node('Resize', [x, '', '', `${y}.sizes`], y, { mode: 'linear', coordinate_transformation_mode: mode });
}

describe(`bilinear Resize: onnxruntime's bits (${SIMD} build)`, () => {
  it('every coordinate mode, up and down, on an input (standard layout) and a conv output (channels-last): max |diff| 0', async () => {
    for (const mode of MODES) {
      for (const [[h, w], out] of SIZES) {
        const dims = [2, 3, h, w];
        const b = new OnnxBuilder(13).input('x', dims).output('y').output('z');
        // a 1x1 conv by the identity: its output is x exactly, channels-last in lowbit
        b.init('eye', [3, 3, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1]);
        resize(b, 'x', 'y', dims, out, mode);
        b.node('Conv', ['x', 'eye'], 'c', { kernel_shape: [1, 1] });
        resize(b, 'c', 'z', [2, 3], out, mode);
        await compareWithOrt(rts.one, b, { x: X(dims, 5 + h, 37) }, 0);
      }
    }
  });

  it('a DynamicQuantizeLinear after the upsample gives onnxruntime\'s integers and scale', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const dims = [1, 8, 16, 16];
      const b = new OnnxBuilder(13).input('x', dims).output('q', 'uint8').output('s').output('zp', 'uint8');
      resize(b, 'x', 'u', dims, [32, 32], 'half_pixel').node('DynamicQuantizeLinear', ['u'], ['q', 's', 'zp']);
      await compareWithOrt(rts.one, b, { x: X(dims, 100 + seed, 3) }, 0);
    }
  });
});
