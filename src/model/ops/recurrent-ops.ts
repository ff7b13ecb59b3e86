// ONNX LSTM, GRU and RNN (opsets 7-22; layout from 14): the operator table. The shared attribute
// and shape rules and the driver are in recurrent.ts, the cells in lstm.ts and gru.ts; RNN's cell,
// h = f(clip(g + h·Rᵀ)), is here.

import { gruCell } from './gru.js';
import { lstmCell } from './lstm.js';
import { clip, recurrentAttrs, recurrentInfer, runRecurrent, type Cell, type CellArgs, type RecurrentOp } from './recurrent.js';
import type { OpDef } from './types.js';

function rnnCell({ H, a, acts, mul, act }: CellArgs): Cell {
  const [fa] = acts;
  return {
    step(g, o, h) {
      mul(g, o, h, 0, H);
      clip(g, o, o + H, a.clip);
      act(fa, g, o, o + H);
      for (let j = 0; j < H; j++) h[j] = g[o + j];
    },
  };
}

export const LSTM: RecurrentOp = { op: 'LSTM', gates: 4, activations: ['Sigmoid', 'Tanh', 'Tanh'], outputs: 3, inputs: 2, cell: lstmCell };
export const GRU: RecurrentOp = {
  op: 'GRU', gates: 3, activations: ['Sigmoid', 'Tanh'], outputs: 2, inputs: 0, cell: gruCell,
  wOnlyBiasFrom: (a, H) => (a.linearBeforeReset ? 2 * H : 3 * H),
};
export const RNN: RecurrentOp = { op: 'RNN', gates: 1, activations: ['Tanh'], outputs: 2, inputs: 0, cell: rnnCell };

function def(op: RecurrentOp): OpDef {
  return {
    layout: 'nchw',
    check: (ctx) => void recurrentAttrs(ctx, op),
    infer: (ctx, ins) => recurrentInfer(ctx, op, ins),
    compute: (ctx, ins, outs) => runRecurrent(ctx, op, ins, outs),
  };
}

export const RECURRENT_OPS: Record<string, OpDef> = { LSTM: def(LSTM), GRU: def(GRU), RNN: def(RNN) };
