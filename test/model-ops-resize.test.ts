// Resize against onnxruntime-web: every mode, nearest_mode and coordinate_transformation_mode,
// scales and sizes, opsets 10/11/13/18/19, on standard and channels-last (conv output) inputs;
// then the ONNX conformance cases (libonnx-testdata) and the load/plan-time errors.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedOperatorError } from '../src/errors.js';
import { DTypeError, LowbitError, ShapeError, loadModel } from '../src/index.js';
import { SIMD, useRuntimes } from './helpers.js';
import { f, OnnxBuilder } from './onnx-builder.js';
import { ONNX_ROOT, W, X, checkAgainstOrt, runConformance } from './ort-compare.js';
import { hasSystemPackage } from './system-packages.js';

const rts = useRuntimes();
const TRANSFORMS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_crop_and_resize'];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const DIMS = [1, 2, 5, 7];

type Sizing = { scales: number[] } | { sizes: number[] };
const SIZINGS: [string, Sizing][] = [
  ['up x2', { scales: [1, 1, 2, 2] }],
  ['up 1.7/2.4', { scales: [1, 1, 1.7, 2.4] }],
  ['down 0.6/0.45', { scales: [1, 1, 0.6, 0.45] }],
  ['sizes 8x5', { sizes: [1, 2, 8, 5] }],
  ['sizes 1x1', { sizes: [1, 2, 1, 1] }],
];

interface ResizeCase {
  opset?: number;
  attrs?: Record<string, unknown>;
  sizing: Sizing;
  roi?: number[];
  /** feed Resize a channels-last conv output */
  conv?: boolean;
  dims?: number[];
}

function resizeModel(c: ResizeCase): OnnxBuilder {
  const opset = c.opset ?? 13;
  const dims = c.dims ?? DIMS;
  const b = new OnnxBuilder(opset).input('x', dims).output('y');
  let x = 'x';
  if (c.conv) {
    b.init('cw', [dims[1], dims[1], 1, 1], W(dims[1] * dims[1], 3, 0.7)).node('Conv', ['x', 'cw'], 'c');
    x = 'c';
  }
  const sizing = c.sizing;
  if ('scales' in sizing) b.init('scales', [sizing.scales.length], sizing.scales);
  else b.ints('sizes', sizing.sizes);
  if (opset < 11) return b.node('Resize', [x, 'scales'], 'y', c.attrs as never);
  b.init('roi', [c.roi?.length ?? 0], c.roi ?? []);
  const empty = opset < 13 ? (b.init('none', [0], []), 'none') : '';
  const ins = 'scales' in sizing ? [x, 'roi', 'scales'] : [x, 'roi', empty, 'sizes'];
  return b.node('Resize', ins, 'y', c.attrs as never);
}

async function check(c: ResizeCase, what: string): Promise<void> {
  await checkAgainstOrt(rts.one, resizeModel(c), { x: X(c.dims ?? DIMS, 5) }, 1e-5, what);
}

const ROI = [0, 0, 0.2, 0.1, 1, 1, 0.9, 1.15];

describe(`Resize vs onnxruntime-web (${SIMD} build)`, () => {
  for (const transform of TRANSFORMS) {
    it(`nearest, every nearest_mode, ${transform}`, async () => {
      for (const nearest of NEAREST) for (const [name, sizing] of SIZINGS) {
        const attrs = { mode: 'nearest', nearest_mode: nearest, coordinate_transformation_mode: transform, extrapolation_value: f(-3) };
        await check({ attrs, sizing, roi: transform === 'tf_crop_and_resize' ? ROI : undefined }, `${nearest} ${name}`);
      }
    });

    for (const mode of ['linear', 'cubic']) {
      it(`${mode}, ${transform}`, async () => {
        for (const [name, sizing] of SIZINGS) {
          const attrs = { mode, coordinate_transformation_mode: transform, extrapolation_value: f(2.5) };
          await check({ attrs, sizing, roi: transform === 'tf_crop_and_resize' ? ROI : undefined }, name);
        }
      });
    }
  }

  it('cubic: cubic_coeff_a and exclude_outside', async () => {
    for (const [a, ex] of [[-0.5, 0], [-0.5, 1], [-0.75, 1]]) for (const [name, sizing] of SIZINGS) {
      await check({ attrs: { mode: 'cubic', cubic_coeff_a: f(a), exclude_outside: ex }, sizing }, `a ${a} exclude ${ex} ${name}`);
    }
  });

  it('opset 10 (scales only, asymmetric) and 11 (tf_half_pixel_for_nn, empty roi and scales inputs)', async () => {
    for (const mode of ['nearest', 'linear']) for (const [name, sizing] of SIZINGS.filter(([, s]) => 'scales' in s)) {
      await check({ opset: 10, attrs: { mode }, sizing }, `opset 10 ${mode} ${name}`);
    }
    for (const [name, sizing] of SIZINGS) {
      await check({ opset: 11, attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, sizing }, `tf_half_pixel_for_nn ${name}`);
      await check({ opset: 11, attrs: { mode: 'linear' }, sizing }, `opset 11 linear ${name}`);
    }
  });

  it('opset 19: half_pixel_symmetric', async () => {
    for (const mode of ['nearest', 'linear', 'cubic']) for (const [name, sizing] of SIZINGS) {
      await check({ opset: 19, attrs: { mode, coordinate_transformation_mode: 'half_pixel_symmetric' }, sizing }, `${mode} ${name}`);
    }
  });

  it('opset 18: axes (any order, negative) and keep_aspect_ratio_policy', async () => {
    for (const policy of ['stretch', 'not_larger', 'not_smaller']) {
      for (const mode of ['nearest', 'linear']) {
        await check({ opset: 18, attrs: { mode, axes: [2, 3], keep_aspect_ratio_policy: policy }, sizing: { sizes: [9, 4] } }, `${policy} ${mode}`);
        await check({ opset: 18, attrs: { mode, axes: [3, 2], keep_aspect_ratio_policy: policy }, sizing: { sizes: [4, 9] } }, `${policy} ${mode} reversed`);
      }
    }
    // negative axes: onnxruntime 1.x ignores keep_aspect_ratio_policy with them, so stretch only
    await check({ opset: 18, attrs: { mode: 'linear', axes: [-1, -2] }, sizing: { sizes: [4, 9] } }, 'negative axes');
    await check({ opset: 18, attrs: { mode: 'linear', axes: [3, 2] }, sizing: { scales: [1.5, 0.5] } }, 'scales with axes');
    await check({ opset: 18, attrs: { mode: 'cubic', axes: [2, 3], coordinate_transformation_mode: 'tf_crop_and_resize' }, sizing: { sizes: [6, 6] }, roi: [0.1, -0.2, 0.8, 1.1] }, 'roi with axes');
  });

  // (onnxruntime ignores the roi of an axis whose size does not change, nearest mode; lowbit crops
  // it as the spec says, so the cases below change every cropped axis)
  it('opset 18: antialias (linear and cubic, exclude_outside, every coordinate mode), both layouts', async () => {
    const sizings: Sizing[] = [{ scales: [1, 1, 0.6, 0.45] }, { scales: [1, 1, 0.3, 0.75] }, { sizes: [1, 2, 2, 3] }, { scales: [1, 1, 2, 1.5] }];
    for (const mode of ['linear', 'cubic']) for (const ex of [0, 1]) for (const transform of ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric']) {
      for (const sizing of sizings) {
        const attrs = { mode, antialias: 1, exclude_outside: ex, coordinate_transformation_mode: transform, cubic_coeff_a: f(-0.5) };
        await check({ opset: 18, attrs, sizing, dims: [1, 2, 9, 11] }, `${mode} ex ${ex} ${transform} ${JSON.stringify(sizing)}`);
      }
    }
    await check({ opset: 18, attrs: { mode: 'linear', antialias: 1 }, sizing: { scales: [1, 1, 0.4, 0.5] }, conv: true, dims: [1, 3, 10, 12] }, 'channels-last');
    for (const mode of ['linear', 'cubic']) {
      const attrs = { mode, antialias: 1, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: f(4) };
      await check({ opset: 18, attrs, sizing: { sizes: [1, 2, 4, 3] }, roi: ROI, dims: [1, 2, 9, 11] }, `${mode} tf_crop_and_resize`);
    }
    await check({ opset: 18, attrs: { mode: 'cubic', antialias: 1 }, sizing: { sizes: [3, 5] }, dims: [10, 12] }, '2-D');
  });

  it('channels-last input (a conv output): the detector\'s 2x nearest, and the general passes', async () => {
    const floor = { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' };
    const cases: ResizeCase[] = [
      { attrs: floor, sizing: { scales: [1, 1, 2, 2] }, opset: 11 },
      { attrs: floor, sizing: { scales: [1, 1, 8, 4] }, opset: 11 },
      { attrs: floor, sizing: { scales: [1, 1, 0.5, 0.75] } },
      { attrs: floor, sizing: { scales: [2, 2, 2, 2] } },
      { attrs: { mode: 'linear' }, sizing: { scales: [1, 1, 2, 2] } },
      { attrs: { mode: 'cubic' }, sizing: { sizes: [1, 3, 3, 11] } },
      { attrs: { mode: 'nearest', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: f(7) }, sizing: { sizes: [1, 3, 7, 4] }, roi: ROI },
      { attrs: floor, sizing: { scales: [1, 1, 1, 1] } },
    ];
    for (const c of cases) await check({ ...c, conv: true, dims: [1, 3, 5, 6] }, JSON.stringify(c));
  });

  it('other ranks: nearest on 1-D, 3-D and 5-D; linear on 2-D and 5-D (trilinear)', async () => {
    await check({ dims: [9], attrs: { mode: 'nearest' }, sizing: { scales: [1.5] } }, '1-D');
    await check({ dims: [3, 4, 5], attrs: { mode: 'nearest', nearest_mode: 'ceil' }, sizing: { scales: [2, 0.5, 1.4] } }, '3-D');
    await check({ dims: [1, 2, 3, 4, 2], attrs: { mode: 'nearest' }, sizing: { sizes: [2, 1, 5, 3, 4] } }, '5-D');
    await check({ dims: [4, 6], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, sizing: { sizes: [7, 3] } }, '2-D linear');
    await check({ dims: [1, 2, 3, 4, 5], attrs: { mode: 'linear' }, sizing: { scales: [1, 1, 2, 1.5, 0.6] } }, 'trilinear');
  });

  it('an empty output (a size of 0) and size-1 axes', async () => {
    // onnxruntime refuses a size of 0 (scale 0); the spec allows it: an empty output
    const m = loadModel(rts.one, resizeModel({ attrs: { mode: 'linear' }, sizing: { sizes: [1, 2, 0, 3] } }).build());
    const y = (await m.run({ x: X(DIMS, 5) }).finally(() => m.dispose())).y;
    expect(y.dims).toEqual([1, 2, 0, 3]);
    expect(y.data.length).toBe(0);
    await check({ dims: [1, 1, 1, 1], attrs: { mode: 'cubic' }, sizing: { sizes: [1, 1, 3, 2] } }, 'from one pixel');
    await check({ dims: [1, 1, 1, 5], attrs: { mode: 'linear', coordinate_transformation_mode: 'align_corners' }, sizing: { sizes: [1, 1, 4, 1] } }, 'to one column');
  });

  it('the result is the same through a constant subgraph (folded at plan time)', async () => {
    const b = new OnnxBuilder(13).input('x', [1, 2, 3, 3]).output('y');
    b.init('k', [1, 2, 3, 3], W(18, 4)).init('scales', [4], [1, 1, 2, 1.5]).init('roi', [0], []);
    b.node('Resize', ['k', 'roi', 'scales'], 'r', { mode: 'linear' }).node('Resize', ['x', 'roi', 'scales'], 's', { mode: 'linear' }).node('Add', ['r', 's'], 'y');
    await checkAgainstOrt(rts.one, b, { x: X([1, 2, 3, 3], 8) });
  });
});

describe.runIf(hasSystemPackage('libonnx-testdata'))(`Resize: ONNX conformance cases (${SIMD} build)`, () => {
  const cases = fs.existsSync(ONNX_ROOT) ? fs.readdirSync(ONNX_ROOT).filter((n) => n.startsWith('test_resize_')) : [];
  // align_corners when downsampling by scales: the reference implementation divides by
  // (input x scale - 1), onnxruntime (and lowbit) by (output size - 1); onnxruntime skips these two
  const ORT_DIFFERS = ['test_resize_downsample_scales_cubic_align_corners', 'test_resize_downsample_scales_linear_align_corners'];
  it('the cases are installed', () => expect(cases.length).toBeGreaterThan(20));
  for (const name of cases) {
    if (ORT_DIFFERS.includes(name)) it(`${name} (against onnxruntime-web)`, () => runConformance(rts.one, name, 'ort'));
    else it(name, () => runConformance(rts.one, name));
  }
});

describe('Resize: errors', () => {
  const errorModel = (opset: number, attrs: Record<string, unknown>, scales: number[] | null, sizes: number[] | null, name = 'rz') => {
    const b = new OnnxBuilder(opset).input('x', DIMS).output('y').init('roi', [0], []);
    if (scales) b.init('scales', [scales.length], scales);
    if (sizes) b.ints('sizes', sizes);
    return b.node('Resize', ['x', 'roi', scales ? 'scales' : '', sizes ? 'sizes' : ''], 'y', attrs as never, name).build();
  };
  const expectErr = async (bytes: Uint8Array, cls: new (...a: never[]) => LowbitError, parts: string[]) => {
    let err: unknown;
    try {
      const m = loadModel(rts.one, bytes);
      try {
        await m.run({ x: X(DIMS, 1) });
      } finally {
        m.dispose();
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(cls);
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it('attributes lowbit does not implement or ONNX does not define: refused at load', () => {
    const cases: [number, Record<string, unknown>, string][] = [
      [18, { mode: 'linear', antialias: 2 }, 'antialias'],
      [13, { mode: 'bilinear' }, 'bilinear'],
      [13, { coordinate_transformation_mode: 'tf_half_pixel_for_nn' }, 'tf_half_pixel_for_nn'],
      [18, { coordinate_transformation_mode: 'half_pixel_symmetric' }, 'half_pixel_symmetric'],
      [13, { nearest_mode: 'round' }, 'nearest_mode'],
      [18, { keep_aspect_ratio_policy: 'fit' }, 'keep_aspect_ratio_policy'],
    ];
    // Resize-10 has two inputs (X, scales)
    const cubic10 = new OnnxBuilder(10).input('x', DIMS).output('y').init('scales', [4], [1, 1, 2, 2]).node('Resize', ['x', 'scales'], 'y', { mode: 'cubic' }, 'rz').build();
    expect(() => loadModel(rts.one, cubic10)).toThrow(UnsupportedOperatorError);
    expect(() => loadModel(rts.one, cubic10)).toThrow(/Resize node 'rz'.*cubic/);
    for (const [opset, attrs, what] of cases) {
      expect(() => loadModel(rts.one, errorModel(opset, attrs, [1, 1, 2, 2], null)), what).toThrow(UnsupportedOperatorError);
      expect(() => loadModel(rts.one, errorModel(opset, attrs, [1, 1, 2, 2], null)), what).toThrow(new RegExp(`Resize node 'rz'.*${what}`));
    }
    loadModel(rts.one, errorModel(21, {}, [1, 1, 2, 2], null)).dispose(); // opset 21 means Resize-19: loads
  });

  it('bad scales, sizes and roi: ShapeError naming the node and the input', async () => {
    await expectErr(errorModel(13, {}, [1, 1, 2, 2], [1, 2, 3, 3]), ShapeError, ["'rz'", 'exactly one of scales and sizes']);
    await expectErr(errorModel(13, {}, null, null), ShapeError, ['exactly one of scales and sizes']);
    await expectErr(errorModel(13, {}, [1, 2, 2], null), ShapeError, ['scales has 3 values, expected 4']);
    await expectErr(errorModel(13, {}, [1, 1, -2, 2], null), ShapeError, ['scales[2] = -2']);
    await expectErr(errorModel(13, {}, [1, 1, 0, 2], null), ShapeError, ['scales[2] = 0']);
    await expectErr(errorModel(13, {}, null, [1, 2, -1, 3]), ShapeError, ['sizes[2] = -1']);
    await expectErr(errorModel(13, {}, null, [1, 2, 3]), ShapeError, ['sizes has 3 values']);
    await expectErr(errorModel(13, { coordinate_transformation_mode: 'tf_crop_and_resize' }, [1, 1, 2, 2], null), ShapeError, ['roi']);
    await expectErr(errorModel(18, { axes: [2, 2] }, [2, 2], null), ShapeError, ['repeat']);
    await expectErr(errorModel(18, { axes: [4] }, [2], null), ShapeError, ['axis 4 is out of range']);
  });

  it('scales that are a runtime value run (read during the run: a staged plan) as onnxruntime-web; linear on integers is refused naming the node', async () => {
    const b = new OnnxBuilder(13).input('x', DIMS).input('s', [4]).output('y').init('roi', [0], []).node('Resize', ['x', 'roi', 's'], 'y', {}, 'rz');
    for (const sc of [[1, 1, 2, 2], [1, 1, 0.5, 3]]) await checkAgainstOrt(rts.one, b, { x: X(DIMS, 1), s: { type: 'float32', dims: [4], data: new Float32Array(sc) } }, 1e-5);
    const c = new OnnxBuilder(13).input('x', DIMS).output('y').init('roi', [0], []).init('scales', [4], [1, 1, 2, 2]);
    c.node('Cast', ['x'], 'i', { to: 6 }).node('Resize', ['i', 'roi', 'scales'], 'r', { mode: 'linear' }, 'rz').node('Cast', ['r'], 'y', { to: 1 });
    await expectErr(c.build(), DTypeError, ["'rz'", 'float32']);
  });
});
