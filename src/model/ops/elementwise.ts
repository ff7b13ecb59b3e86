// Elementwise operators over float32 (and, for folding, any numeric) arrays: numpy broadcasting,
// either operand in either layout. Axes are coalesced first, so the common cases (same shape,
// scalar, per-channel in channels-last) run as one long inner loop.

export type BinaryOp =
  | 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Max' | 'Min' | 'PRelu' | 'Mod' | 'FMod'
  | 'Equal' | 'Less' | 'Greater' | 'LessOrEqual' | 'GreaterOrEqual' | 'And' | 'Or' | 'Xor';

export interface Operand {
  data: ArrayLike<number>;
  /** per-axis element strides aligned to the output's logical axes; 0 where broadcast */
  strides: number[];
}

/** Strides of an operand against the output's logical rank (right-aligned, 0 where broadcast). */
export function broadcastStrides(dims: readonly number[], strides: readonly number[], outRank: number): number[] {
  const s = new Array<number>(outRank).fill(0);
  const off = outRank - dims.length;
  for (let i = 0; i < dims.length; i++) s[off + i] = dims[i] === 1 ? 0 : strides[i];
  return s;
}

export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/**
 * Walks the output (logical dims, contiguous in `order`, a permutation of logical axes giving memory
 * order) in runs: row(off, inner, o, n) covers output elements o…o+n-1, where operand k's elements
 * are at off[k] + i * inner[k]. Axes are coalesced first, so one call can cover the whole array.
 */
export function forEachRow(
  strides: readonly (readonly number[])[], dims: readonly number[], order: readonly number[],
  row: (off: readonly number[], inner: readonly number[], o: number, n: number) => void,
): void {
  const m = strides.length;
  // physical axes, then coalesce neighbours that are contiguous for every operand
  const D: number[] = [], S: number[][] = strides.map(() => []);
  for (const ax of order) {
    const d = dims[ax];
    if (d === 1) continue;
    const k = D.length - 1;
    let merge = k >= 0;
    for (let q = 0; q < m && merge; q++) merge = S[q][k] === strides[q][ax] * d;
    if (merge) {
      D[k] *= d;
      for (let q = 0; q < m; q++) S[q][k] = strides[q][ax];
    } else {
      D.push(d);
      for (let q = 0; q < m; q++) S[q].push(strides[q][ax]);
    }
  }
  if (D.length === 0) {
    D.push(1);
    for (let q = 0; q < m; q++) S[q].push(0);
  }
  const r = D.length, n = D[r - 1];
  const inner = S.map((s) => s[r - 1]);
  let total = 1;
  for (let j = 0; j < r - 1; j++) total *= D[j];
  if (n === 0) return;
  const idx = new Array<number>(r).fill(0), off = new Array<number>(m).fill(0);
  let o = 0;
  for (let t = 0; t < total; t++) {
    for (let q = 0; q < m; q++) {
      let v = 0;
      for (let j = 0; j < r - 1; j++) v += idx[j] * S[q][j];
      off[q] = v;
    }
    row(off, inner, o, n);
    o += n;
    for (let j = r - 2; j >= 0; j--) {
      if (++idx[j] < D[j]) break;
      idx[j] = 0;
    }
  }
}

/** out = a op b, numpy broadcasting (see forEachRow for dims and order). */
export function binary(op: BinaryOp, a: Operand, b: Operand, dims: readonly number[], order: readonly number[], out: { [i: number]: number; length: number }): void {
  forEachRow([a.strides, b.strides], dims, order, (off, s, o, n) => row(op, a.data, off[0], s[0], b.data, off[1], s[1], out, o, n));
}

/** out = a op b over n elements of one shape and layout: binary() without its strides and closures (a decode step's SwiGLU Mul). */
export function binarySame(op: BinaryOp, a: ArrayLike<number>, b: ArrayLike<number>, out: { [i: number]: number }, n: number): void {
  row(op, a, 0, 1, b, 0, 1, out, 0, n);
}

/** out = cond ? x : y, numpy broadcasting over the three (Where). */
export function where(c: Operand, x: Operand, y: Operand, dims: readonly number[], order: readonly number[], out: { [i: number]: number }): void {
  const cd = c.data, xd = x.data, yd = y.data;
  forEachRow([c.strides, x.strides, y.strides], dims, order, (off, s, o, n) => {
    for (let i = 0; i < n; i++) out[o + i] = cd[off[0] + i * s[0]] ? xd[off[1] + i * s[1]] : yd[off[2] + i * s[2]];
  });
}

function row(op: BinaryOp, a: ArrayLike<number>, ia: number, sa: number, b: ArrayLike<number>, ib: number, sb: number, out: { [i: number]: number }, o: number, n: number): void {
  switch (op) {
    case 'Add':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] + b[ib + i * sb];
      break;
    case 'Sub':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] - b[ib + i * sb];
      break;
    case 'Mul':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] * b[ib + i * sb];
      break;
    case 'Div':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] / b[ib + i * sb];
      break;
    case 'Pow':
      for (let i = 0; i < n; i++) {
        const e = b[ib + i * sb], x = a[ia + i * sa];
        // sqrt for exactness, but pow(-inf, 0.5) is +inf (C and JS pow, onnxruntime) where sqrt(-inf) is NaN
        out[o + i] = e === 2 ? x * x : e === 0.5 && x !== -Infinity ? Math.sqrt(x) : Math.pow(x, e);
      }
      break;
    case 'Max':
      for (let i = 0; i < n; i++) out[o + i] = Math.max(a[ia + i * sa], b[ib + i * sb]);
      break;
    case 'Min':
      for (let i = 0; i < n; i++) out[o + i] = Math.min(a[ia + i * sa], b[ib + i * sb]);
      break;
    case 'Equal':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] === b[ib + i * sb] ? 1 : 0;
      break;
    case 'Less':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] < b[ib + i * sb] ? 1 : 0;
      break;
    case 'Greater':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] > b[ib + i * sb] ? 1 : 0;
      break;
    case 'LessOrEqual':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] <= b[ib + i * sb] ? 1 : 0;
      break;
    case 'GreaterOrEqual':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] >= b[ib + i * sb] ? 1 : 0;
      break;
    // bool operands hold 0 or 1
    case 'And':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] & b[ib + i * sb];
      break;
    case 'Or':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] | b[ib + i * sb];
      break;
    case 'Xor':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] ^ b[ib + i * sb];
      break;
    case 'PRelu':
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        out[o + i] = x < 0 ? x * b[ib + i * sb] : x;
      }
      break;
    // C's fmod: the result takes the dividend's sign
    case 'FMod':
      for (let i = 0; i < n; i++) out[o + i] = a[ia + i * sa] % b[ib + i * sb];
      break;
    // integer Mod (fmod=0): the result takes the divisor's sign, as Python's %
    case 'Mod':
      for (let i = 0; i < n; i++) {
        const d = b[ib + i * sb], m = a[ia + i * sa] % d;
        out[o + i] = m !== 0 && m < 0 !== d < 0 ? m + d : m;
      }
      break;
  }
}

export type UnaryOp =
  | 'Relu' | 'Sigmoid' | 'HardSigmoid' | 'HardSwish' | 'Clip' | 'Sqrt' | 'Tanh' | 'Erf' | 'Gelu' | 'Neg' | 'Abs' | 'Exp' | 'Identity' | 'Reciprocal' | 'LeakyRelu'
  | 'Log' | 'Sin' | 'Cos' | 'Floor' | 'Ceil' | 'Round' | 'Sign' | 'Softplus' | 'Softsign' | 'Elu' | 'Selu' | 'Celu' | 'Mish' | 'ThresholdedRelu'
  | 'IsNaN' | 'IsInf' | 'Not' | Trig;

/** the trigonometric and hyperbolic functions ONNX has beyond Sin and Cos, each Math's own */
export type Trig = 'Tan' | 'Asin' | 'Acos' | 'Atan' | 'Sinh' | 'Cosh' | 'Asinh' | 'Acosh' | 'Atanh';
const TRIG: Record<Trig, (x: number) => number> = {
  Tan: Math.tan, Asin: Math.asin, Acos: Math.acos, Atan: Math.atan, Sinh: Math.sinh, Cosh: Math.cosh, Asinh: Math.asinh, Acosh: Math.acosh, Atanh: Math.atanh,
};

export interface UnaryParams {
  alpha?: number;
  beta?: number;
  gamma?: number;
  min?: number;
  max?: number;
  approximate?: string;
  /** IsInf: which infinities count */
  negative?: boolean;
  positive?: boolean;
}

/** out[i] = f(x[i]) over the whole array (layout does not matter). */
export function unary(op: UnaryOp, x: ArrayLike<number>, out: { [i: number]: number }, n: number, p: UnaryParams = {}): void {
  switch (op) {
    case 'Relu':
      // max(0, x) keeps NaN, as onnxruntime and ONNX's reference (np.maximum) do: `x > 0 ? x : 0` hid it as 0
      for (let i = 0; i < n; i++) out[i] = x[i] < 0 ? 0 : x[i];
      break;
    case 'LeakyRelu': {
      const al = p.alpha ?? 0.01;
      for (let i = 0; i < n; i++) out[i] = x[i] >= 0 ? x[i] : al * x[i];
      break;
    }
    case 'Sigmoid':
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i]));
      break;
    case 'HardSigmoid': {
      const al = p.alpha ?? 0.2, be = p.beta ?? 0.5;
      for (let i = 0; i < n; i++) out[i] = Math.min(1, Math.max(0, al * x[i] + be));
      break;
    }
    case 'HardSwish':
      for (let i = 0; i < n; i++) out[i] = x[i] * Math.min(1, Math.max(0, x[i] / 6 + 0.5));
      break;
    case 'Clip': {
      // min > max gives max everywhere (ONNX, onnxruntime)
      const lo = p.min ?? -Infinity, hi = p.max ?? Infinity;
      for (let i = 0; i < n; i++) {
        const v = x[i] < lo ? lo : x[i];
        out[i] = v > hi ? hi : v;
      }
      break;
    }
    case 'Sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      break;
    case 'Tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      break;
    case 'Erf':
      for (let i = 0; i < n; i++) out[i] = erf(x[i]);
      break;
    case 'Gelu':
      if (p.approximate === 'tanh') {
        for (let i = 0; i < n; i++) {
          const v = x[i];
          out[i] = 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        }
      } else {
        for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] * Math.SQRT1_2));
      }
      break;
    case 'Neg':
      for (let i = 0; i < n; i++) out[i] = -x[i];
      break;
    case 'Abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      break;
    case 'Exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      break;
    case 'Reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / x[i];
      break;
    case 'Identity':
      for (let i = 0; i < n; i++) out[i] = x[i];
      break;
    case 'Log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      break;
    case 'Sin':
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      break;
    case 'Cos':
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      break;
    case 'Floor':
      for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]);
      break;
    case 'Ceil':
      for (let i = 0; i < n; i++) out[i] = Math.ceil(x[i]);
      break;
    case 'Round':
      for (let i = 0; i < n; i++) out[i] = roundHalfEven(x[i]);
      break;
    case 'Sign':
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i] === 0 ? 0 : NaN;
      break;
    case 'Softplus':
      for (let i = 0; i < n; i++) out[i] = softplus(x[i]);
      break;
    case 'Softsign':
      for (let i = 0; i < n; i++) out[i] = x[i] / (1 + Math.abs(x[i]));
      break;
    case 'Elu': {
      const al = p.alpha ?? 1;
      for (let i = 0; i < n; i++) out[i] = x[i] < 0 ? al * Math.expm1(x[i]) : x[i];
      break;
    }
    case 'Selu': {
      const al = p.alpha ?? 1.67326319217681884765625, ga = p.gamma ?? 1.05070102214813232421875;
      for (let i = 0; i < n; i++) out[i] = x[i] <= 0 ? ga * al * Math.expm1(x[i]) : ga * x[i];
      break;
    }
    case 'Celu': {
      const al = p.alpha ?? 1;
      for (let i = 0; i < n; i++) out[i] = x[i] < 0 ? al * Math.expm1(x[i] / al) : x[i];
      break;
    }
    case 'Mish':
      for (let i = 0; i < n; i++) out[i] = x[i] * Math.tanh(softplus(x[i]));
      break;
    case 'ThresholdedRelu': {
      const al = p.alpha ?? 1;
      for (let i = 0; i < n; i++) out[i] = x[i] > al ? x[i] : 0;
      break;
    }
    case 'IsNaN':
      for (let i = 0; i < n; i++) out[i] = Number.isNaN(x[i]) ? 1 : 0;
      break;
    case 'IsInf': {
      const neg = p.negative ?? true, pos = p.positive ?? true;
      for (let i = 0; i < n; i++) out[i] = (pos && x[i] === Infinity) || (neg && x[i] === -Infinity) ? 1 : 0;
      break;
    }
    case 'Not':
      for (let i = 0; i < n; i++) out[i] = x[i] ? 0 : 1;
      break;
    default: {
      const f = TRIG[op];
      for (let i = 0; i < n; i++) out[i] = f(x[i]);
    }
  }
}

/** Round half to even (ONNX Round, numpy.round); Math.round rounds halves up. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** log(1 + e^x) without overflow for large x */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** erf to float32 precision (Abramowitz-Stegun 7.1.26 is too coarse; this is W. J. Cody's rational form via erfc for |x| > 0.5). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // Taylor series (the continued fraction below converges too slowly under ~2: 3e-5 off at 0.5)
    const x2 = x * x;
    let term = x, sum = x;
    for (let k = 1; k < 80; k++) {
      term *= -x2 / k;
      const t = term / (2 * k + 1);
      sum += t;
      if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
    }
    return sum * 1.1283791670955126;
  }
  if (ax > 6) return Math.sign(x);
  // continued fraction for erfc (Lentz), accurate to ~1e-12 for |x| >= 2.5
  const z = ax;
  let f = z, c = z, d = 0;
  for (let k = 1; k < 60; k++) {
    const a = k / 2;
    d = z + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + a / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  const erfc = Math.exp(-z * z) / (f * Math.sqrt(Math.PI));
  return Math.sign(x) * (1 - erfc);
}
