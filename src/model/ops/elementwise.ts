// Elementwise operators over float32 (and, for folding, any numeric) arrays: numpy broadcasting,
// either operand in either layout. Axes are coalesced first, so the common cases (same shape,
// scalar, per-channel in channels-last) run as one long inner loop.

export type BinaryOp = 'Add' | 'Sub' | 'Mul' | 'Div' | 'Pow' | 'Max' | 'Min' | 'Equal' | 'Less' | 'Greater';

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
 * out (contiguous in `order`, a permutation of logical axes giving memory order) = a op b.
 * dims are the output's logical dims.
 */
export function binary(op: BinaryOp, a: Operand, b: Operand, dims: readonly number[], order: readonly number[], out: { [i: number]: number; length: number }): void {
  // physical axes, then coalesce neighbours that are contiguous for all three
  let D = order.map((ax) => dims[ax]);
  let SA = order.map((ax) => a.strides[ax]);
  let SB = order.map((ax) => b.strides[ax]);
  const cd: number[] = [], ca: number[] = [], cb: number[] = [];
  for (let j = 0; j < D.length; j++) {
    if (D[j] === 1) continue;
    const k = cd.length - 1;
    if (k >= 0 && ca[k] === SA[j] * D[j] && cb[k] === SB[j] * D[j]) {
      cd[k] *= D[j];
      ca[k] = SA[j];
      cb[k] = SB[j];
    } else {
      cd.push(D[j]);
      ca.push(SA[j]);
      cb.push(SB[j]);
    }
  }
  if (cd.length === 0) {
    cd.push(1);
    ca.push(0);
    cb.push(0);
  }
  D = cd;
  SA = ca;
  SB = cb;
  const r = D.length, n = D[r - 1], sa = SA[r - 1], sb = SB[r - 1];
  let total = 1;
  for (let j = 0; j < r - 1; j++) total *= D[j];
  const idx = new Array<number>(r).fill(0);
  let o = 0;
  for (let t = 0; t < total; t++) {
    let ia = 0, ib = 0;
    for (let j = 0; j < r - 1; j++) {
      ia += idx[j] * SA[j];
      ib += idx[j] * SB[j];
    }
    row(op, a.data, ia, sa, b.data, ib, sb, out, o, n);
    o += n;
    for (let j = r - 2; j >= 0; j--) {
      if (++idx[j] < D[j]) break;
      idx[j] = 0;
    }
  }
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
        out[o + i] = e === 2 ? x * x : e === 0.5 ? Math.sqrt(x) : Math.pow(x, e);
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
  }
}

export type UnaryOp = 'Relu' | 'Sigmoid' | 'HardSigmoid' | 'HardSwish' | 'Clip' | 'Sqrt' | 'Tanh' | 'Erf' | 'Gelu' | 'Neg' | 'Abs' | 'Exp' | 'Identity' | 'Reciprocal' | 'LeakyRelu';

export interface UnaryParams {
  alpha?: number;
  beta?: number;
  min?: number;
  max?: number;
  approximate?: string;
}

/** out[i] = f(x[i]) over the whole array (layout does not matter). */
export function unary(op: UnaryOp, x: ArrayLike<number>, out: { [i: number]: number }, n: number, p: UnaryParams = {}): void {
  switch (op) {
    case 'Relu':
      for (let i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
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
      const lo = p.min ?? -Infinity, hi = p.max ?? Infinity;
      for (let i = 0; i < n; i++) out[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
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
  }
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
