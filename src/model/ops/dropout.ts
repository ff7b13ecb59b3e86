// Dropout at inference: the output is the input. Exported models keep the node when their exporter
// did not strip it (older PyTorch and TensorFlow exports). The optional mask is what onnxruntime
// gives: all false (0) before opset 12, all true from 12 (ONNX's reference: ones at inference).
// Opset 12+ takes ratio and training_mode as inputs; a training_mode that is true would drop values
// at random, which lowbit refuses rather than guess.

import { UnsupportedOperatorError } from '../../errors.js';
import { fail, need, type OpDef } from './types.js';

export const DROPOUT_OPS: Record<string, OpDef> = {
  Dropout: {
    layout: 'any',
    // before 7 the op had is_test and a different mask type
    opsets: [7, 22],
    infer: (ctx, ins) => {
      const x = need(ctx, ins, 0, 'data');
      const mode = ins[2];
      if (mode?.value && mode.value.data[0]) fail(ctx, 'training_mode is true: random dropout is not supported (inference only)', UnsupportedOperatorError);
      const outs = [{ type: x.type, dims: [...x.dims] }];
      if (ctx.node.outputs[1]) outs.push({ type: ctx.opset >= 10 ? 'bool' : x.type, dims: [...x.dims] });
      return outs;
    },
    compute: (ctx, ins, outs) => {
      const x = ins[0]!;
      if (ins[2] && ins[2].data[0]) fail(ctx, 'training_mode is true: random dropout is not supported (inference only)', UnsupportedOperatorError);
      outs[0].data.set(x.data as never);
      if (outs[1]) outs[1].data.fill(ctx.opset >= 12 ? 1 : 0);
    },
  },
};
