// Comparison and logic operators (bool outputs) and Where: numpy broadcasting over either layout,
// the loops in elementwise.ts.

import { broadcastDims, broadcastStrides, where } from './elementwise.js';
import { BOOL, binaryDef, checkType, NUMERIC, unaryDef } from './math.js';
import { logicalStrides, physicalOrder } from './layout.js';
import { fail, need, type HostValue, type OpDef } from './types.js';
import { DTypeError } from '../../errors.js';

const compare = (op: 'Less' | 'Greater' | 'LessOrEqual' | 'GreaterOrEqual', opsets?: [number, number]) => binaryDef(op, { out: 'bool', types: NUMERIC, opsets });
const logic = (op: 'And' | 'Or' | 'Xor') => binaryDef(op, { out: 'bool', types: BOOL });

/** Where(condition, X, Y): X and Y of any one element type, the three broadcast together. */
const whereDef: OpDef = {
  layout: 'aware',
  opsets: [9, 23],
  infer: (ctx, ins) => {
    const c = need(ctx, ins, 0, 'condition'), x = need(ctx, ins, 1, 'X'), y = need(ctx, ins, 2, 'Y');
    checkType(ctx, c, 'condition', BOOL);
    if (x.type !== y.type) fail(ctx, `X and Y have different element types: ${x.type} and ${y.type}`, DTypeError);
    const d = broadcastDims(c.dims, x.dims);
    const dims = d && broadcastDims(d, y.dims);
    if (!dims) fail(ctx, `shapes [${c.dims}], [${x.dims}] and [${y.dims}] do not broadcast`);
    return [{ type: x.type, dims }];
  },
  outNhwc: (ins, outDims) => outDims[0].length === 4 && ins.some((v) => v !== null && v.dims.length === 4 && v.nhwc),
  compute: (_ctx, ins, outs) => {
    const out = outs[0], r = out.dims.length;
    const operand = (v: HostValue) => ({ data: v.data, strides: broadcastStrides(v.dims, logicalStrides(v.dims, v.nhwc), r) });
    where(operand(ins[0]!), operand(ins[1]!), operand(ins[2]!), out.dims, physicalOrder(r, out.nhwc), out.data);
  },
};

export const LOGIC_OPS: Record<string, OpDef> = {
  // Equal also compares bools (opset 11+)
  Equal: binaryDef('Equal', { out: 'bool', types: [...NUMERIC, 'bool'] }),
  Less: compare('Less'),
  Greater: compare('Greater'),
  LessOrEqual: compare('LessOrEqual', [12, 23]),
  GreaterOrEqual: compare('GreaterOrEqual', [12, 23]),
  And: logic('And'),
  Or: logic('Or'),
  Xor: logic('Xor'),
  Not: unaryDef('Not', { types: BOOL }),
  Where: whereDef,
};
