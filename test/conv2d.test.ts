// Conv2dF32 tester: every path (depthwise, pointwise 1x1, im2col + GEMM, grouped) against a float64
// scalar reference convolution, channels-last, with the fused activations and per-channel affine.
//
// Tolerance (both builds), per output element, from the standard rounding-error bounds (u = 2^-24):
//   conv:       |z - z64| <= gz = gamma_n * sum |terms|,  gamma_n = n u / (1 - n u),
//               n = 1 + cin/group * kh * kw (bias plus every product; holds for any summation order,
//               with or without FMA, so for the baseline build, the relaxed build and the GEMM alike)
//   activation: |y - y64| <= |s| * (L * gz + e_act) + 2u (|act * s| + |t|)
//               L = the activation's Lipschitz bound, e_act = its own float32 error
//               (exp: 2e-7 relative, plus the rounding of alpha*z and of the few ops around it)
// checked as |y - y64| <= 1.5 * bound + 1e-37 (the 1.5 for the second-order terms the bound drops).
// Baseline build, depthwise path: also bit-exact against a float32 emulation of the kernel's stated
// order (bias, then taps u-major v-minor, padding taps skipped, round after each mul and add).
// 1 and 2 threads must give the same bits (rows and columns split at points that change no sum).
// Canaries: bytes right before and after the output (and after the im2col scratch) stay untouched;
// the input is not written.

import { describe, expect, it } from 'vitest';
import { Conv2dF32, convOutSize, type ConvActivation, type ConvGeometry, type ConvPath } from '../src/layers/conv2d.js';
import type { Runtime } from '../src/index.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';
import { convGeometry } from './conv-geometry.js';

const rts = useRuntimes();
const U = 2 ** -24;
const f = Math.fround;

// activation kinds (assembly/elementwise/f32-act.ts)
const IDENTITY = 0, RELU = 1, HARDSWISH = 2, SWISH = 3, SIGMOID = 4, HARDSIGMOID = 5, CLIP = 6, LEAKY_RELU = 7;

interface ActSpec {
  name: string;
  kind: number;
  alpha: number;
  beta: number;
  /** per-channel scale/shift after the activation (false: 1 and 0, the kernel clamp path for relu/clip) */
  affine: boolean;
}

const ACTS: ActSpec[] = [
  { name: 'relu (clamp)', kind: RELU, alpha: 0, beta: 0, affine: false },
  { name: 'clip (clamp)', kind: CLIP, alpha: -0.5, beta: 1.25, affine: false },
  { name: 'identity+affine', kind: IDENTITY, alpha: 0, beta: 0, affine: true },
  { name: 'relu+affine', kind: RELU, alpha: 0, beta: 0, affine: true },
  { name: 'hardswish', kind: HARDSWISH, alpha: 0, beta: 0, affine: true },
  { name: 'swish a=1.702', kind: SWISH, alpha: 1.702, beta: 0, affine: true },
  { name: 'swish a=1', kind: SWISH, alpha: 1, beta: 0, affine: false },
  { name: 'sigmoid', kind: SIGMOID, alpha: 1, beta: 0, affine: true },
  { name: 'sigmoid a=0.8', kind: SIGMOID, alpha: 0.8, beta: 0, affine: false },
  { name: 'hardsigmoid', kind: HARDSIGMOID, alpha: 0.2, beta: 0.5, affine: true },
  { name: 'clip+affine', kind: CLIP, alpha: -0.5, beta: 1.25, affine: true },
  { name: 'leaky relu a=0.2 floor -0.4', kind: LEAKY_RELU, alpha: 0.2, beta: -0.4, affine: false },
  { name: 'leaky relu a=0.01 +affine', kind: LEAKY_RELU, alpha: 0.01, beta: -Infinity, affine: true },
];

interface Case {
  n: number;
  h: number;
  w: number;
  g: ConvGeometry;
  bias: boolean;
  act: ActSpec | null;
  seed: number;
}

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

/** act(z) in float64, its Lipschitz bound near z and the kernel's own float32 error bound there */
function act64(a: ActSpec, z: number): { y: number; lip: number; err: number } {
  switch (a.kind) {
    case IDENTITY:
      return { y: z, lip: 1, err: 0 };
    case RELU:
      return { y: Math.max(z, 0), lip: 1, err: 0 };
    case HARDSWISH: {
      const y = z * Math.min(Math.max(z / 6 + 0.5, 0), 1);
      // z * f32(1/6), + 0.5, * z: a few roundings of terms no bigger than |z| (|z|/6 + 1)
      return { y, lip: 1.5, err: 5 * U * Math.abs(z) * (Math.abs(z) / 6 + 1) };
    }
    case SWISH: {
      const t = a.alpha * z, y = z * sigmoid(t);
      // d/dz z s(a z) = s(t) + t s(t)(1 - s(t)) lies in [-0.1, 1.1]
      return { y, lip: 1.1, err: Math.abs(y) * (2e-7 + (Math.abs(t) + 4) * U) + 1e-38 };
    }
    case SIGMOID: {
      const t = a.alpha * z, y = sigmoid(t);
      return { y, lip: Math.abs(a.alpha) / 4, err: y * (2e-7 + (Math.abs(t) + 3) * U) + 1e-38 };
    }
    case HARDSIGMOID:
      return { y: Math.min(Math.max(a.alpha * z + a.beta, 0), 1), lip: Math.abs(a.alpha), err: 2 * U * (Math.abs(a.alpha * z) + Math.abs(a.beta)) };
    case CLIP:
      return { y: Math.min(Math.max(z, a.alpha), a.beta), lip: 1, err: 0 };
    case LEAKY_RELU:
      // alpha z rounds once to float32
      return { y: Math.max(z < 0 ? a.alpha * z : z, a.beta), lip: Math.max(1, Math.abs(a.alpha)), err: U * Math.abs(a.alpha * z) };
    default:
      throw new Error(`kind ${a.kind}`);
  }
}

/** Reference convolution, float64, NHWC in and out; weight [cout][cin/group][kh][kw] as ONNX. */
function refConv(c: Case, x: Float32Array, wt: Float32Array, b: Float32Array | null) {
  const { n, h, w, g } = c;
  const [oh, ow] = convOutSize(g, h, w);
  const cpg = g.cin / g.group, opg = g.cout / g.group;
  const z = new Float64Array(n * oh * ow * g.cout), mag = new Float64Array(z.length);
  for (let b0 = 0; b0 < n; b0++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let co = 0; co < g.cout; co++) {
          const gi = Math.floor(co / opg);
          let acc = b ? b[co] : 0, abs = Math.abs(acc);
          for (let ci = 0; ci < cpg; ci++) {
            for (let u = 0; u < g.kh; u++) {
              const iy = oy * g.sh - g.pt + u * g.dh;
              if (iy < 0 || iy >= h) continue;
              for (let v = 0; v < g.kw; v++) {
                const ix = ox * g.sw - g.pl + v * g.dw;
                if (ix < 0 || ix >= w) continue;
                const t = x[((b0 * h + iy) * w + ix) * g.cin + gi * cpg + ci] * wt[((co * cpg + ci) * g.kh + u) * g.kw + v];
                acc += t;
                abs += Math.abs(t);
              }
            }
          }
          const o = ((b0 * oh + oy) * ow + ox) * g.cout + co;
          z[o] = acc;
          mag[o] = abs;
        }
      }
    }
  }
  return { z, mag, oh, ow };
}

/**
 * The depthwise kernel's contract in float32: bias, then the taps inside the image u-major,
 * v-minor, rounding after every multiply and add; then the clamp.
 */
function refDepthwiseF32(c: Case, x: Float32Array, wt: Float32Array, b: Float32Array | null, lo: number, hi: number): Float32Array {
  const { n, h, w, g } = c;
  const [oh, ow] = convOutSize(g, h, w);
  const y = new Float32Array(n * oh * ow * g.cout);
  for (let b0 = 0; b0 < n; b0++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let ch = 0; ch < g.cout; ch++) {
          let acc = b ? b[ch] : 0;
          for (let u = 0; u < g.kh; u++) {
            const iy = oy * g.sh - g.pt + u * g.dh;
            if (iy < 0 || iy >= h) continue;
            for (let v = 0; v < g.kw; v++) {
              const ix = ox * g.sw - g.pl + v * g.dw;
              if (ix < 0 || ix >= w) continue;
              acc = f(acc + f(x[((b0 * h + iy) * w + ix) * g.cin + ch] * wt[(ch * g.kh + u) * g.kw + v]));
            }
          }
          y[((b0 * oh + oy) * ow + ox) * g.cout + ch] = Math.min(Math.max(acc, lo), hi);
        }
      }
    }
  }
  return y;
}

function randArray(n: number, r: () => number, lo: number, hi: number): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

const CANARY = 0xa5;
const FRONT = 16, BACK = 48;

interface RunResult {
  y: Float32Array;
  path: ConvPath;
  problem: string | null;
}

/** Builds the layer on rt, places the input, runs, reads the output, checks canaries and the input. */
async function runCase(rt: Runtime, c: Case, x: Float32Array, wt: Float32Array, b: Float32Array | null, act: ConvActivation | null): Promise<RunResult> {
  const conv = new Conv2dF32(rt, c.g, wt, b, act);
  const [oh, ow] = convOutSize(c.g, c.h, c.w);
  const outLen = c.n * oh * ow * c.g.cout, outBytes = outLen * 4;
  const scratchBytes = conv.scratchBytes(c.h, c.w);
  const xp = rt.alloc(x.length * 4);
  // the output starts 16 bytes (odd seeds: 20, so not 16-byte aligned) into its block; canaries around it
  const front = FRONT + (c.seed & 1 ? 4 : 0);
  const block = rt.alloc(front + outBytes + BACK);
  const sp = rt.alloc(scratchBytes + BACK);
  const yp = block + front;
  rt.view(Float32Array, xp, x.length).set(x);
  rt.view(Uint8Array, block, front + outBytes + BACK).fill(CANARY);
  rt.view(Uint8Array, sp, scratchBytes + BACK).fill(CANARY);
  let problem: string | null = null;
  try {
    await conv.run(c.n, c.h, c.w, xp, yp, sp);
    const y = rt.read(Float32Array, yp, outLen);
    const before = rt.view(Uint8Array, block, front), after = rt.view(Uint8Array, yp + outBytes, BACK);
    const scratchAfter = rt.view(Uint8Array, sp + scratchBytes, BACK);
    if (before.some((v) => v !== CANARY)) problem = 'wrote before the output';
    else if (after.some((v) => v !== CANARY)) problem = `wrote after the output (byte ${after.findIndex((v) => v !== CANARY)})`;
    else if (scratchAfter.some((v) => v !== CANARY)) problem = 'wrote after the scratch';
    else if (firstMismatch(rt.view(Float32Array, xp, x.length), x)) problem = 'changed the input';
    return { y, path: conv.path, problem };
  } finally {
    conv.dispose();
    rt.free(xp);
    rt.free(block);
    rt.free(sp);
  }
}

function describeCase(c: Case): string {
  const g = c.g;
  return `n=${c.n} h=${c.h} w=${c.w} cin=${g.cin} cout=${g.cout} group=${g.group} k=${g.kh}x${g.kw} s=${g.sh},${g.sw} d=${g.dh},${g.dw} ` +
    `pads=[${g.pt},${g.pl},${g.pb},${g.pr}] bias=${c.bias} act=${c.act?.name ?? 'none'} seed=${c.seed}`;
}

const counts: Record<string, number> = {};
/** per path, the largest |error| / tolerance seen (LOWBIT_TEST_VERBOSE=1 prints it) */
const worstRatio: Record<string, number> = {};

/** Runs one case on 1 and 2 threads and checks everything; returns the path taken. */
async function check(c: Case): Promise<ConvPath> {
  const r = rng(c.seed);
  const g = c.g, cpg = g.cin / g.group;
  const x = randArray(c.n * c.h * c.w * g.cin, r, -1, 1);
  const wt = randArray(g.cout * cpg * g.kh * g.kw, r, -1, 1);
  const b = c.bias ? randArray(g.cout, r, -1, 1) : null;
  let act: ConvActivation | null = null;
  if (c.act) {
    // scale away from 0 with both signs, shift in [-1, 1]
    const scale = c.act.affine ? Float32Array.from({ length: g.cout }, () => (r() < 0.5 ? -1 : 1) * (0.25 + 1.75 * r())) : new Float32Array(g.cout).fill(1);
    const shift = c.act.affine ? randArray(g.cout, r, -1, 1) : new Float32Array(g.cout);
    act = { kind: c.act.kind, alpha: c.act.alpha, beta: c.act.beta, scale, shift };
  }
  const what = describeCase(c);
  const one = await runCase(rts.one, c, x, wt, b, act);
  const two = await runCase(rts.two, c, x, wt, b, act);
  expect(one.problem, what).toBeNull();
  expect(two.problem, `2 threads: ${what}`).toBeNull();
  expect(firstMismatch(two.y, one.y), `1 vs 2 threads: ${what}`).toBeNull();

  const { z, mag } = refConv(c, x, wt, b);
  const terms = 1 + cpg * g.kh * g.kw;
  const gamma = (terms * U) / (1 - terms * U);
  for (let i = 0; i < z.length; i++) {
    const gz = gamma * mag[i];
    let want = z[i], bound = gz;
    if (act) {
      const co = i % g.cout;
      const s = act.scale[co], t = act.shift[co];
      const a = act64(c.act!, z[i]);
      want = a.y * s + t;
      bound = Math.abs(s) * (a.lip * gz + a.err) + 2 * U * (Math.abs(a.y * s) + Math.abs(t));
    }
    const tol = 1.5 * bound + 1e-37;
    const got = one.y[i];
    const ratio = Math.abs(got - want) / tol;
    if (ratio > (worstRatio[one.path] ?? 0)) worstRatio[one.path] = ratio;
    if (!(Math.abs(got - want) <= tol)) {
      expect.fail(`${what}: element ${i} (channel ${i % g.cout}) got ${got}, want ${want} ± ${tol.toExponential(2)} (|err| ${Math.abs(got - want).toExponential(2)}, ${one.path})`);
    }
  }
  if (SIMD === 'baseline' && one.path === 'depthwise' && (!c.act || !c.act.affine) && (!c.act || c.act.kind === RELU || c.act.kind === CLIP)) {
    const lo = c.act ? (c.act.kind === RELU ? 0 : c.act.alpha) : -Infinity, hi = c.act?.kind === CLIP ? c.act.beta : Infinity;
    const exact = refDepthwiseF32(c, x, wt, b, lo, hi);
    expect(firstMismatch(one.y, exact), `bits vs the stated order: ${what}`).toBeNull();
    counts.exact = (counts.exact ?? 0) + 1;
  }
  counts[one.path] = (counts[one.path] ?? 0) + 1;
  return one.path;
}

/** Padding patterns: symmetric "same", asymmetric, none, and more than the kernel reaches (rows of pure padding). */
function pads(kind: number, kh: number, kw: number, dh: number, dw: number): [number, number, number, number] {
  const ph = ((kh - 1) * dh) >> 1, pw = ((kw - 1) * dw) >> 1;
  switch (kind % 4) {
    case 0: return [ph, pw, ph, pw];
    case 1: return [ph + 1, 0, Math.max(ph - 1, 0), (kw - 1) * dw];
    case 2: return [0, 0, 0, 0];
    default: return [kh * dh, kw * dw, 1, kw * dw + 1];
  }
}

/** The case if its output has at least one pixel, else the same with symmetric padding. */
function valid(c: Case): Case {
  const [oh, ow] = convOutSize(c.g, c.h, c.w);
  if (oh >= 1 && ow >= 1) return c;
  const p = pads(0, c.g.kh, c.g.kw, c.g.dh, c.g.dw);
  const g = { ...c.g, pt: p[0], pl: p[1], pb: p[2], pr: p[3] };
  const [oh2, ow2] = convOutSize(g, c.h, c.w);
  if (oh2 >= 1 && ow2 >= 1) return { ...c, g };
  return { ...c, g: { ...g, pb: g.pb + g.kh * g.dh, pr: g.pr + g.kw * g.dw } };
}

const SIZES = [1, 2, 3, 7, 13];
const STRIDES: [number, number][] = [[1, 1], [2, 1], [1, 2], [2, 2]];

describe(`Conv2dF32 (${SIMD} build)`, () => {
  it('depthwise 3x3 and 5x5: every stride, padding pattern, dilation, channel tail, small odd size, batch 1 and 2', async () => {
    let seed = 1000, cases = 0;
    for (const k of [3, 5]) {
      for (const s of STRIDES) {
        for (const ch of [1, 3, 4, 5, 8, 13, 16, 17]) {
          seed++;
          const d: [number, number] = seed % 3 === 0 ? [2, 2] : seed % 5 === 0 ? [1, 2] : [1, 1];
          const h = SIZES[seed % 5], w = SIZES[(seed >> 1) % 5];
          const c = valid({ n: 1 + (seed % 2), h, w, g: convGeometry(ch, ch, [k, k], s, d, pads(seed >> 2, k, k, d[0], d[1]), ch), bias: seed % 4 !== 1, act: null, seed });
          if (ch === 1) expect(await check(c)).toBe('im2col'); // group 1: not depthwise
          else expect(await check(c)).toBe('depthwise');
          cases++;
        }
      }
    }
    expect(cases).toBe(64);
  });

  it('depthwise on wider rows (the blocked interior, its remainders and both borders)', async () => {
    let seed = 2000;
    for (const [k, s, d, ch, h, w] of [
      [3, [1, 1], [1, 1], 16, 5, 40], [3, [1, 1], [1, 1], 17, 4, 29], [5, [1, 1], [1, 1], 24, 6, 37],
      [5, [2, 1], [1, 1], 13, 9, 45], [3, [1, 2], [1, 1], 20, 3, 41], [3, [2, 2], [1, 1], 8, 7, 33],
      [3, [1, 1], [2, 2], 12, 7, 31], [5, [1, 1], [1, 2], 5, 5, 50], [5, [1, 2], [2, 1], 9, 6, 47],
      [3, [1, 1], [1, 1], 240, 3, 19], [5, [1, 1], [1, 1], 36, 2, 80],
    ] as [number, [number, number], [number, number], number, number, number][]) {
      for (const p of [0, 1, 3]) {
        seed++;
        const c = valid({ n: 1 + (seed % 2), h, w, g: convGeometry(ch, ch, [k, k], s, d, pads(p, k, k, d[0], d[1]), ch), bias: true, act: null, seed });
        expect(await check(c)).toBe('depthwise');
      }
    }
  });

  it('depthwise, other kernel shapes (1x3, 3x1, 1x5, 2x2, 4x4, 7x7, 1x1 padded)', async () => {
    let seed = 2500;
    for (const [kh, kw] of [[1, 3], [3, 1], [1, 5], [2, 2], [4, 4], [7, 7], [1, 1]]) {
      for (const [s, ch, h, w] of [[[1, 1], 9, 5, 30], [[2, 1], 12, 8, 23], [[1, 2], 7, 3, 33]] as [[number, number], number, number, number][]) {
        seed++;
        const p = pads(seed, kh, kw, 1, 1);
        if (kh === 1 && kw === 1) p[1] = 1; // 1x1 depthwise with padding
        const c = valid({ n: 1, h, w, g: convGeometry(ch, ch, [kh, kw], s, [1, 1], p, ch), bias: true, act: null, seed });
        expect(await check(c)).toBe('depthwise');
      }
    }
  });

  it('pointwise 1x1 with Cin, Cout not multiples of 8', async () => {
    let seed = 3000;
    for (const [cin, cout] of [[1, 1], [3, 5], [5, 13], [9, 7], [13, 17], [17, 9], [20, 3], [33, 40]]) {
      for (const [h, w] of [[1, 1], [3, 7], [13, 2]]) {
        seed++;
        const c: Case = { n: 1 + (seed % 2), h, w, g: convGeometry(cin, cout, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1), bias: seed % 3 !== 0, act: null, seed };
        expect(await check(c)).toBe('pointwise');
      }
    }
  });

  it('im2col + GEMM, group 1: 3x3, 1x3, 3x1, 5x5, 1x1 strided/padded, stride 2, dilation', async () => {
    let seed = 4000;
    const kernels: [number, number][] = [[3, 3], [1, 3], [3, 1], [5, 5], [1, 1]];
    for (const [kh, kw] of kernels) {
      for (const [cin, cout] of [[1, 4], [3, 16], [5, 9], [8, 1]]) {
        seed++;
        const s = STRIDES[seed % 4];
        const d: [number, number] = seed % 3 === 0 ? [2, 2] : seed % 3 === 1 ? [1, 1] : [2, 1];
        const h = [3, 7, 13, 5][seed % 4], w = [7, 13, 2, 9][(seed >> 1) % 4];
        let p = pads(seed >> 1, kh, kw, d[0], d[1]);
        if (kh === 1 && kw === 1 && s[0] === 1 && s[1] === 1 && p.every((v) => v === 0)) p = [1, 0, 0, 1]; // keep it off the pointwise path
        const c = valid({ n: 1 + (seed % 2), h, w, g: convGeometry(cin, cout, [kh, kw], s, d, p, 1), bias: seed % 4 !== 2, act: null, seed });
        expect(await check(c)).toBe('im2col');
      }
    }
  });

  it('grouped convolution (group 2 and 3, several channels per group; channel multiplier)', async () => {
    let seed = 5000;
    for (const [cin, cout, group, k] of [
      [4, 6, 2, 3], [6, 9, 3, 3], [9, 3, 3, 3], [6, 12, 2, 1], [12, 6, 3, 5], [10, 10, 2, 3], [3, 6, 3, 3], [4, 8, 4, 3],
    ]) {
      for (const s of [[1, 1], [2, 2]] as [number, number][]) {
        seed++;
        const c = valid({ n: 1 + (seed % 2), h: 7, w: 13 - (seed % 3), g: convGeometry(cin, cout, [k, k], s, [1, 1], pads(seed, k, k, 1, 1), group), bias: seed % 2 === 0, act: null, seed });
        expect(await check(c)).toBe('im2col');
      }
    }
  });

  it('every fused activation, with and without a per-channel affine, on every path', async () => {
    let seed = 6000;
    const shapes: [string, ConvGeometry, number, number][] = [
      ['depthwise', convGeometry(13, 13, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 13), 5, 11],
      ['depthwise', convGeometry(8, 8, [5, 5], [2, 1], [1, 1], [2, 2, 2, 2], 8), 7, 9],
      ['pointwise', convGeometry(7, 9, [1, 1], [1, 1], [1, 1], [0, 0, 0, 0], 1), 3, 5],
      ['im2col', convGeometry(5, 11, [3, 3], [2, 2], [1, 1], [1, 0, 1, 1], 1), 7, 7],
      ['im2col', convGeometry(6, 9, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1], 3), 4, 6],
    ];
    for (const act of ACTS) {
      for (const [path, g, h, w] of shapes) {
        seed++;
        expect(await check({ n: 1 + (seed % 2), h, w, g, bias: seed % 3 !== 0, act, seed })).toBe(path);
      }
    }
  });

  it('large activations: exp far into both tails (swish, sigmoid at |alpha z| up to ~60)', async () => {
    let seed = 7000;
    for (const act of ACTS.filter((a) => a.kind === SWISH || a.kind === SIGMOID)) {
      seed++;
      const big = { ...act, alpha: act.alpha * 12 };
      expect(await check({ n: 1, h: 6, w: 9, g: convGeometry(12, 12, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2], 12), bias: true, act: big, seed })).toBe('depthwise');
    }
  });

  it('covered every path, and the bit-exact order check ran', () => {
    expect(counts.depthwise).toBeGreaterThan(50);
    expect(counts.pointwise).toBeGreaterThan(20);
    expect(counts.im2col).toBeGreaterThan(40);
    if (SIMD === 'baseline') expect(counts.exact).toBeGreaterThan(50);
    if (process.env.LOWBIT_TEST_VERBOSE) console.log(SIMD, 'cases', counts, 'worst |error| / tolerance', worstRatio);
  });
});

describe(`f32_act_nhwc sigmoid (${SIMD} build)`, () => {
  // The kernel's sigmoid is 1 / (1 + exp(-x)) with its own exp (stated relative error 2e-7) and then
  // two float32 roundings (the add and the division), so against the float64 Math.exp-based sigmoid
  // the budget is 2e-7 + 2u relative. (Measured: 2.7e-7 worst, near x = -51.6; a bit-exact JS
  // emulation of its exp, scratch/conv/expemu.mjs, puts the exp alone at 2.47e-7, just over the 2e-7
  // its header states.) Where sigmoid(x) is below float32's normal range (x < -87.3) relative error
  // is not representable and the kernel's exp clamps its argument at 88 (sigmoid stops at
  // 1/(1 + e^88) = 6.05e-39): there the bound is absolute, 2^-126, the smallest normal float32.
  it('is within 2e-7 + 2u relative of the Math.exp-based sigmoid on a dense grid over [-90, 90]', () => {
    const rt = rts.one;
    const step = 1 / 1024; // exact in float32, so the grid points are exactly what the kernel sees
    const count = 180 * 1024 + 1, c = 4, pixels = Math.ceil(count / c);
    const len = pixels * c;
    const xp = rt.alloc(len * 4), yp = rt.alloc(len * 4), ss = rt.alloc(8 * 4);
    try {
      rt.view(Float32Array, ss, 8).set([1, 1, 1, 1, 0, 0, 0, 0]);
      const xs = rt.view(Float32Array, xp, len);
      for (let i = 0; i < len; i++) xs[i] = -90 + Math.min(i, count - 1) * step;
      rt.kernels.f32_act_nhwc(xp, pixels, c, SIGMOID, 1, 0, ss, ss + 16, yp);
      const x = rt.read(Float32Array, xp, len), y = rt.read(Float32Array, yp, len);
      let worstRel = 0, atRel = 0, worstAbs = 0, atAbs = 0;
      for (let i = 0; i < count; i++) {
        const want = sigmoid(x[i]), err = Math.abs(y[i] - want);
        if (want >= 2 ** -126) {
          if (err / want > worstRel) [worstRel, atRel] = [err / want, x[i]];
        } else if (err > worstAbs) [worstAbs, atAbs] = [err, x[i]];
      }
      expect(worstRel, `worst relative error at x = ${atRel}`).toBeLessThanOrEqual(2e-7 + 2 * U);
      expect(worstAbs, `worst absolute error (subnormal sigmoid) at x = ${atAbs}`).toBeLessThanOrEqual(2 ** -126);
      // the tails: 1 at the top, exactly; 0.5 at 0
      expect(y[count - 1]).toBe(1);
      expect(y[90 * 1024]).toBe(0.5);
    } finally {
      rt.free(xp);
      rt.free(yp);
      rt.free(ss);
    }
  });
});
