// The activation functions of the recurrent operators (LSTM, GRU, RNN): ONNX's list, the parse of
// the activations / activation_alpha / activation_beta attributes, and in-place application to a
// range of a Float32Array (one loop per function, so the hot Sigmoid/Tanh loops stay monomorphic).

import { ArgumentError, UnsupportedOperatorError } from '../../errors.js';
import { fail, opLabel, type OpContext } from './types.js';

export type ActivationKind =
  | 'relu' | 'tanh' | 'sigmoid' | 'affine' | 'leakyrelu' | 'thresholdedrelu'
  | 'scaledtanh' | 'hardsigmoid' | 'elu' | 'softsign' | 'softplus';

export interface Activation {
  readonly kind: ActivationKind;
  readonly alpha: number;
  readonly beta: number;
}

// which parameters each function reads, and their defaults: those of the ONNX operator of the same
// name (ThresholdedRelu 1.0; Affine 1.0, 0.0 as the experimental Affine op had them). ScaledTanh's
// experimental op had no defaults: 1.0, 1.0 make it plain Tanh. (onnxruntime uses 0 where it has
// no default of its own: ThresholdedRelu, Affine and ScaledTanh without alpha/beta differ there.)
const PARAMS: Record<ActivationKind, { alpha?: number; beta?: number }> = {
  relu: {}, tanh: {}, sigmoid: {}, softsign: {}, softplus: {},
  affine: { alpha: 1, beta: 0 },
  leakyrelu: { alpha: 0.01 },
  thresholdedrelu: { alpha: 1 },
  scaledtanh: { alpha: 1, beta: 1 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
  elu: { alpha: 1 },
};

const NAMES = 'Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus';

/**
 * The node's activation functions, `perDirection` for each of `directions`, or `defaults` (per
 * direction) when the attribute is absent. Names are matched case-insensitively (as onnxruntime
 * does); activation_alpha and activation_beta are consumed in order by the functions that take
 * them, a function past the end of the list getting its default.
 */
export function parseActivations(ctx: OpContext, defaults: readonly string[], directions: number): Activation[][] {
  const node = ctx.node;
  const given = node.attrs.get('activations');
  if (given !== undefined && (!Array.isArray(given) || given.some((s) => typeof s !== 'string'))) {
    fail(ctx, `attribute 'activations' must be a list of strings`, ArgumentError);
  }
  const names = (given as string[] | undefined) ?? Array.from({ length: directions }, () => defaults).flat();
  if (names.length !== defaults.length * directions) {
    fail(ctx, `attribute 'activations' needs ${defaults.length * directions} names (${defaults.length} per direction, ${directions} direction${directions > 1 ? 's' : ''}), got ${names.length}: [${names.join(', ')}]`, ArgumentError);
  }
  const alphas = floats(ctx, 'activation_alpha'), betas = floats(ctx, 'activation_beta');
  let ai = 0, bi = 0;
  const parsed = names.map((name, i): Activation => {
    const kind = name.toLowerCase() as ActivationKind;
    if (!Object.hasOwn(PARAMS, kind)) {
      throw new UnsupportedOperatorError(`${opLabel(ctx)}: attribute 'activations'[${i}] is '${name}', expected one of ${NAMES}`);
    }
    const p = PARAMS[kind];
    const alpha = p.alpha === undefined ? 0 : ai < alphas.length ? alphas[ai++] : p.alpha;
    const beta = p.beta === undefined ? 0 : bi < betas.length ? betas[bi++] : p.beta;
    return { kind, alpha, beta };
  });
  return Array.from({ length: directions }, (_, d) => parsed.slice(d * defaults.length, (d + 1) * defaults.length));
}

function floats(ctx: OpContext, name: string): readonly number[] {
  const v = ctx.node.attrs.get(name);
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) fail(ctx, `attribute '${name}' must be a list of floats`, ArgumentError);
  return v as number[];
}

/** v[from..to) = act(v[from..to)), each result rounded to float32 by the store. */
export function activate(a: Activation, v: Float32Array, from: number, to: number): void {
  const { alpha, beta } = a;
  switch (a.kind) {
    case 'sigmoid':
      for (let i = from; i < to; i++) v[i] = 1 / (1 + Math.exp(-v[i]));
      return;
    case 'tanh':
      for (let i = from; i < to; i++) v[i] = Math.tanh(v[i]);
      return;
    case 'relu':
      for (let i = from; i < to; i++) v[i] = Math.max(0, v[i]);
      return;
    case 'affine':
      for (let i = from; i < to; i++) v[i] = alpha * v[i] + beta;
      return;
    case 'leakyrelu':
      for (let i = from; i < to; i++) v[i] = v[i] >= 0 ? v[i] : alpha * v[i];
      return;
    case 'thresholdedrelu':
      for (let i = from; i < to; i++) v[i] = v[i] > alpha ? v[i] : 0;
      return;
    case 'scaledtanh':
      for (let i = from; i < to; i++) v[i] = alpha * Math.tanh(beta * v[i]);
      return;
    case 'hardsigmoid':
      for (let i = from; i < to; i++) v[i] = Math.min(1, Math.max(0, alpha * v[i] + beta));
      return;
    case 'elu':
      for (let i = from; i < to; i++) v[i] = v[i] >= 0 ? v[i] : alpha * Math.expm1(v[i]);
      return;
    case 'softsign':
      for (let i = from; i < to; i++) v[i] = v[i] / (1 + Math.abs(v[i]));
      return;
    case 'softplus':
      // log(1 + e^x) without overflow for large x
      for (let i = from; i < to; i++) {
        const x = v[i];
        v[i] = x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
      }
      return;
  }
}
