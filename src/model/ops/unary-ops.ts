// Elementwise math beyond the activations math.ts has: Log, trigonometric and hyperbolic functions, rounding, the smooth
// activations (Softplus, Elu, Selu, Celu, Mish), PRelu and Mod. The loops live in elementwise.ts.

import { ValueRangeError } from '../../errors.js';
import { attr, fail, type OpDef } from './types.js';
import { binaryDef, FLOAT, NUMERIC, unaryDef } from './math.js';

/** Mod: fmod=1 is C's fmod (sign of the dividend), fmod=0 the integer modulus (sign of the divisor). */
const mod = binaryDef((ctx) => (attr(ctx.node, 'fmod', 0) ? 'FMod' : 'Mod'), { types: NUMERIC, opsets: [10, 23] });
const modDef: OpDef = {
  ...mod,
  check: (ctx) => {
    const f = attr(ctx.node, 'fmod', 0);
    if (f !== 0 && f !== 1) fail(ctx, `attribute 'fmod' must be 0 or 1, got ${f}`, ValueRangeError);
  },
  infer: (ctx, ins) => {
    const outs = mod.infer(ctx, ins);
    if (outs[0].type === 'float32' && !attr(ctx.node, 'fmod', 0)) fail(ctx, "attribute 'fmod' must be 1 for float inputs", ValueRangeError);
    return outs;
  },
  compute: (ctx, ins, outs) => {
    const b = ins[1]!;
    if (b.type !== 'float32' && b.data.includes(0)) fail(ctx, 'B (the divisor) has a 0: integer modulus by zero', ValueRangeError);
    mod.compute!(ctx, ins, outs);
  },
};

export const UNARY_OPS: Record<string, OpDef> = {
  Log: unaryDef('Log', { types: FLOAT }),
  Sin: unaryDef('Sin', { types: FLOAT }),
  Cos: unaryDef('Cos', { types: FLOAT }),
  Tan: unaryDef('Tan', { types: FLOAT }),
  Asin: unaryDef('Asin', { types: FLOAT }),
  Acos: unaryDef('Acos', { types: FLOAT }),
  Atan: unaryDef('Atan', { types: FLOAT }),
  Sinh: unaryDef('Sinh', { types: FLOAT }),
  Cosh: unaryDef('Cosh', { types: FLOAT }),
  Asinh: unaryDef('Asinh', { types: FLOAT }),
  Acosh: unaryDef('Acosh', { types: FLOAT }),
  Atanh: unaryDef('Atanh', { types: FLOAT }),
  Floor: unaryDef('Floor', { types: FLOAT }),
  Ceil: unaryDef('Ceil', { types: FLOAT }),
  Round: unaryDef('Round', { types: FLOAT, opsets: [11, 23] }),
  Sign: unaryDef('Sign', { types: NUMERIC, opsets: [9, 23] }),
  Softplus: unaryDef('Softplus', { types: FLOAT }),
  Softsign: unaryDef('Softsign', { types: FLOAT }),
  Elu: unaryDef('Elu', { types: FLOAT }),
  Selu: unaryDef('Selu', { types: FLOAT }),
  Celu: unaryDef('Celu', { types: FLOAT, opsets: [12, 23] }),
  Mish: unaryDef('Mish', { types: FLOAT, opsets: [18, 23] }),
  ThresholdedRelu: unaryDef('ThresholdedRelu', { types: FLOAT, opsets: [10, 23] }),
  IsNaN: unaryDef('IsNaN', { types: FLOAT, out: 'bool', opsets: [9, 23] }),
  IsInf: unaryDef('IsInf', { types: FLOAT, out: 'bool', opsets: [10, 23] }),
  // the slope broadcasts to X (unidirectional, opset 7+)
  PRelu: binaryDef('PRelu', { types: NUMERIC, unidirectional: true }),
  Mod: modDef,
};
