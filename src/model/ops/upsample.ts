// Upsample (opsets 7–9, deprecated in 10): older exports (PyTorch at opset 9, Keras converters) use
// it for FPN and segmentation upsampling. It is Resize-10 under another name: scales per axis,
// asymmetric coordinates, nearest or linear; opset 7 gives the scales as an attribute, 9 as input 1.
// onnxruntime runs both on one kernel, so this runs them on Resize's (resize.ts at opset 10).

import { UnsupportedOperatorError, ValueRangeError } from '../../errors.js';
import { resizeDef } from './resize.js';
import { attr, fail, type HostValue, type OpContext, type OpDef, type ValueInfo } from './types.js';

const AS_RESIZE = 10;

/** the scales attribute of Upsample-7 as the constant input 1 that Resize-10 takes */
function scalesAttr(ctx: OpContext): Float32Array {
  const s = ctx.node.attrs.get('scales');
  if (!Array.isArray(s) || s.some((v) => typeof v !== 'number')) fail(ctx, "attribute 'scales' (a list of floats) is required at opset 7 and 8");
  return Float32Array.from(s as number[]);
}

function asResize<T extends ValueInfo | HostValue>(ctx: OpContext, ins: (T | null)[]): [OpContext, (T | ValueInfo | HostValue | null)[]] {
  const rctx = { ...ctx, opset: AS_RESIZE };
  if (ctx.opset >= 9) return [rctx, ins];
  const data = scalesAttr(ctx);
  const scales = { type: 'float32' as const, dims: [data.length], data, value: { type: 'float32' as const, dims: [data.length], data }, nhwc: false };
  return [rctx, [ins[0], scales]];
}

export const UPSAMPLE_OPS: Record<string, OpDef> = {
  Upsample: {
    layout: 'aware',
    opsets: [7, 9],
    check: (ctx) => {
      const mode = attr(ctx.node, 'mode', 'nearest');
      if (mode !== 'nearest' && mode !== 'linear') fail(ctx, `mode '${mode}' is not one of nearest, linear`, UnsupportedOperatorError);
      if (ctx.opset < 9) scalesAttr(ctx);
    },
    infer: (ctx, ins) => {
      const [c, i] = asResize(ctx, ins);
      // ONNX: each scale is >= 1 (onnxruntime refuses the model otherwise)
      const s = (i[1] as ValueInfo | null)?.value?.data;
      if (s && Array.from(s as ArrayLike<number>).some((v) => !(v >= 1))) fail(ctx, `scales [${Array.from(s as ArrayLike<number>)}] must each be >= 1`, ValueRangeError);
      return resizeDef.infer(c, i as (ValueInfo | null)[]);
    },
    outNhwc: resizeDef.outNhwc,
    compute: (ctx, ins, outs) => {
      const [c, i] = asResize(ctx, ins);
      resizeDef.compute!(c, i as (HostValue | null)[], outs);
    },
  },
};
