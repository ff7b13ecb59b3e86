// ArgMax and ArgMin: the index of the largest (smallest) value along one axis, as int64; the first
// such index, or the last with select_last_index=1 (opset 12+).

import { elementCount } from '../graph.js';
import { attr, fail, need, normAxis, type OpContext, type OpDef } from './types.js';

function argDef(max: boolean): OpDef {
  const axisOf = (ctx: OpContext, rank: number) => normAxis(ctx, attr(ctx.node, 'axis', 0), rank);
  return {
    layout: 'nchw',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'data');
      if (x.type === 'bool' || x.type.startsWith('float8')) fail(ctx, `data has element type ${x.type}, expected a number type`);
      const axis = axisOf(ctx, x.dims.length);
      if (x.dims[axis] === 0) fail(ctx, `axis ${axis} has size 0: no index to return`);
      const keep = attr(ctx.node, 'keepdims', 1) === 1;
      return [{ type: 'int64', dims: x.dims.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : [])) }];
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!, xd = x.data, y = outs[0].data;
      const axis = axisOf(ctx, x.dims.length);
      const n = x.dims[axis] ?? 1, inner = elementCount(x.dims.slice(axis + 1));
      const last = attr(ctx.node, 'select_last_index', 0) === 1;
      const sign = max ? 1 : -1;
      for (let o = 0; o < y.length; o++) {
        const base = Math.floor(o / inner) * n * inner + (o % inner);
        let best = 0, bv = sign * xd[base];
        for (let i = 1; i < n; i++) {
          const v = sign * xd[base + i * inner];
          if (v > bv || (last && v === bv)) {
            best = i;
            bv = v;
          }
        }
        y[o] = best;
      }
    },
  };
}

export const ARG_OPS: Record<string, OpDef> = { ArgMax: argDef(true), ArgMin: argDef(false) };
