// onnxruntime's com.microsoft GELU family, as transformer exports fuse it: Gelu (erf), BiasGelu
// (Gelu(A + B)), FastGelu (the tanh approximation, optional bias) and QuickGelu (x·sigmoid(αx)).
// A bias is 1-D over the input's last axis.

import { unary } from './elementwise.js';
import { applyActivation } from './lowbit-ops.js';
import { checkType, FLOAT } from './math.js';
import { attr, fail, need, type HostValue, type OpDef } from './types.js';

/** x, plus the bias over the last axis when there is one. */
function withBias(x: HostValue, bias: HostValue | null): ArrayLike<number> {
  if (!bias) return x.data;
  const b = bias.data, n = b.length, s = new Float32Array(x.data.length);
  for (let i = 0; i < s.length; i++) s[i] = x.data[i] + b[i % n];
  return s;
}

function geluDef(kind: 'erf' | 'tanh' | 'quick', biasAt: number | null, biasRequired = false): OpDef {
  return {
    layout: 'nchw',
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'X');
      checkType(ctx, x, 'X', FLOAT);
      const b = biasAt === null ? null : biasRequired ? need(ctx, ins, biasAt, 'bias') : ins[biasAt];
      if (b) {
        checkType(ctx, b, 'bias', FLOAT);
        const last = x.dims[x.dims.length - 1];
        if (x.dims.length < 1 || b.dims.length !== 1 || b.dims[0] !== last) fail(ctx, `bias must be 1-D with the input's last dim ${last}, got [${b.dims}] for input [${x.dims}]`);
      }
      return [{ type: 'float32', dims: [...x.dims] }];
    },
    compute: (ctx, ins, outs) => {
      const x = withBias(ins[0]!, biasAt === null ? null : ins[biasAt]), y = outs[0].data, n = y.length;
      if (kind === 'quick') applyActivation('swish', attr(ctx.node, 'alpha', 1.702), 0, x, y, n);
      else unary('Gelu', x, y, n, { approximate: kind === 'tanh' ? 'tanh' : 'none' });
    },
  };
}

export const MS_ACTIVATION_OPS: Record<string, OpDef> = {
  Gelu: geluDef('erf', null),
  BiasGelu: geluDef('erf', 1, true),
  FastGelu: geluDef('tanh', 1),
  QuickGelu: geluDef('quick', null),
};
