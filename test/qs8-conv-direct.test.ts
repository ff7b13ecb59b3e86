// qs8-conv-direct: the int8 convolution reading the staged, bordered image in place. The kernel
// against the scalar reference bit for bit (int32 and requantized outputs; c2, c4 and the split c4
// layout's two copies; channels 1..33 so runs end on every k-group remainder; output widths 1..17,
// odd heights; strides 1 and 2; dilation down; extreme inputs, weights and zero points; 1 and 2
// threads); then whole layers: Conv2dGemm's direct path gives the gathered-rows path's and the
// float32 im2col path's output bits, pads 0 and 1.

import { describe, expect, it } from 'vitest';
import type { Runtime } from '../src/index.js';
import type { ConvWindow } from '../src/kernels/conv.js';
import { packQs8ConvDirect, qs8ConvDirect } from '../src/kernels/qs8-conv-direct.js';
import { refQs8ConvDirectAcc } from '../src/kernels/reference/qs8-conv-direct.js';
import { packQs8, qs8Params, refRequantize, type Qs8Output } from '../src/kernels/qs8.js';
import { QS8_PRM_ROW_SUM } from '../src/kernels/params.js';
import { Conv2dGemm } from '../src/layers/conv2d-gemm.js';
import type { ConvGeometry } from '../src/layers/conv2d.js';
import { Qs8Gemm, type Int8Weights } from '../src/layers/gemm-qs8.js';
import { NonFiniteGuard } from '../src/layers/nonfinite.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { ArgumentError } from '../src/errors.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';
import { convOut, makeX } from './conv-geometry.js';

const rts = useRuntimes();

interface Case { kh: number; kw: number; sh: number; sw: number; dh: number; c: number; n: number; oh: number; ow: number }

/** one kernel call on random data against refQs8ConvDirectAcc (and refRequantize), returns a label on mismatch or null */
async function kernelCase(rt: Runtime, q: Case, layout: 'c2' | 'c4', copies: 1 | 2, out: 'int32' | 'uint8', seed: number): Promise<string | null> {
  const r = rng(seed);
  const g: ConvWindow = { kh: q.kh, kw: q.kw, sh: q.sh, sw: q.sw, dh: q.dh, dw: 1, pt: 0, pl: 0 };
  const hp = (q.oh - 1) * q.sh + (q.kh - 1) * q.dh + 1 + (seed % 2), wp = (q.ow - 1) * q.sw + q.kw + (seed % 3);
  const taps = q.kh * q.kw * q.c, k = copies * taps;
  const ext = seed % 4 === 0; // the extremes: inputs and weights at their ends, zero points 0 / 255
  const za = ext ? (seed % 8 === 0 ? 0 : 255) : Math.floor(r() * 256);
  // uint8 image A; staged as the GEMM's stagers stage it: c2 A - za (int16), c4 A - 128 (int8)
  const a = Uint8Array.from({ length: hp * wp * q.c }, (_, i) => (ext && i % 3 === 0 ? [0, 255][i % 2] : Math.floor(r() * 256)));
  const staged = layout === 'c4' ? Int8Array.from(a, (v) => v - 128) : Int16Array.from(a, (v) => v - za);
  const ps = new Int32Array(hp * wp);
  for (let p = 0; p < hp * wp; p++) for (let ci = 0; ci < q.c; ci++) ps[p] += staged[p * q.c + ci];
  // weights: c4 needs each column within 127 values; c2 takes the full int8 range; zb per column
  const wq = Int8Array.from({ length: k * q.n }, (_, i) => {
    if (layout === 'c4') return ext && i % 5 === 0 ? [-64, 63][i % 2] : Math.floor(r() * 128) - 64;
    return ext && i % 5 === 0 ? [-128, 127][i % 2] : Math.floor(r() * 256) - 128;
  });
  const zb = Int32Array.from({ length: q.n }, (_, j) => (layout === 'c4' || seed % 3 === 0 ? 0 : ext ? [-128, 127][j % 2] : Math.floor(r() * 21) - 10));
  const w = packQs8(rt, wq, k, q.n, zb, { allowSevenBit: layout === 'c4' });
  expect(w.layout).toBe(layout);
  const dw = packQs8ConvDirect(rt, w, q.kh, q.kw, q.c, copies);
  // runs of whole k-groups (or a single run) share the GEMM's panels; others are re-laid
  expect(dw.source === w).toBe((q.kw * q.c * (layout === 'c4' ? 1 : 2)) % 4 === 0 || copies * q.kh === 1);
  const output: Qs8Output = out === 'int32' ? { kind: 'int32' } : { kind: 'uint8', multiplier: Float32Array.from({ length: q.n }, () => 1e-5 + r() * 3e-4), zeroPoint: ext ? 255 : 77, relu: seed % 2 === 0 };
  const m = q.oh * q.ow, elem = out === 'int32' ? 4 : 1;
  const blocks: number[] = [];
  const alloc = (b: number): number => {
    const p = rt.alloc(b);
    blocks.push(p);
    return p;
  };
  const params = qs8Params(rt, alloc, w, za, false, output);
  const rowSum = alloc(m * 4 + 16);
  params[QS8_PRM_ROW_SUM / 4] = rowSum;
  const prm = rt.putPadded(alloc, Int32Array, params, params.length);
  const xp = alloc(staged.byteLength + 16), pps = alloc(ps.byteLength + 16), y = alloc(m * q.n * elem + 16);
  rt.view(layout === 'c4' ? Int8Array : Int16Array, xp, staged.length).set(staged as never);
  rt.view(Int32Array, pps, ps.length).set(ps);
  await qs8ConvDirect(rt, g, { xp, ps: pps, hp, wp, w: dw, prm, y, oh: q.oh, ow: q.ow, outStride: q.n * elem });
  // reference: sum (A - za) (W - zb) over the window, every copy
  const wk = Int32Array.from(wq, (v, i) => v - zb[i % q.n]);
  const acc = refQs8ConvDirectAcc(Int32Array.from(a, (v) => v - za), wp, q.c, wk, q.n, g, q.oh, q.ow, copies);
  const got = out === 'int32' ? rt.read(Int32Array, y, m * q.n) : rt.read(Uint8Array, y, m * q.n);
  const want = out === 'int32' ? acc : refRequantize(acc, m, q.n, (output as { multiplier: Float32Array }).multiplier, (output as { zeroPoint: number }).zeroPoint, false, undefined, (output as { relu?: boolean }).relu);
  const bad = firstMismatch(got, want);
  dw.dispose();
  w.dispose();
  for (const p of blocks) rt.free(p);
  return bad && `${q.kh}x${q.kw} s${q.sh},${q.sw} dh${q.dh} c=${q.c} n=${q.n} ${q.oh}x${q.ow} ${layout} copies=${copies} ${out} za=${za} threads=${rt.threads}: ${bad}`;
}

describe(`qs8_conv_direct (${SIMD} build)`, () => {
  const layouts: ('c2' | 'c4')[] = SIMD === 'relaxed' ? ['c2', 'c4'] : ['c2'];

  it('matches the scalar reference bit for bit: channel remainders, widths 1..17, odd heights, strides 1/2, copies, extremes, 1 and 2 threads', async () => {
    let seed = 131000, runs = 0;
    const CH = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33];
    for (const rt of [rts.one, rts.two]) {
      for (const layout of layouts) {
        for (let ow = 1; ow <= 17; ow++) {
          const c = CH[ow % CH.length], s = 1 + (ow % 2), oh = 1 + 2 * (ow % 3);
          const q: Case = { kh: 3, kw: 3, sh: s, sw: ow % 4 === 0 ? 3 - s : s, dh: 1, c, n: [1, 5, 8, 9, 17, 24][ow % 6], oh, ow };
          for (const copies of [1, 2] as const) {
            for (const out of ['int32', 'uint8'] as const) {
              expect(await kernelCase(rt, q, layout, copies, out, seed++)).toBeNull();
              runs++;
            }
          }
        }
        // other windows: 1x3, 3x1 dilated down, 5x5, 2x2 stride 2
        for (const [kh, kw, dh] of [[1, 3, 1], [3, 1, 2], [5, 5, 1], [2, 2, 1]]) {
          const q: Case = { kh, kw, sh: kh === 2 ? 2 : 1, sw: kh === 2 ? 2 : 1, dh, c: 6 + (kh % 3), n: 11, oh: 3, ow: 6 };
          expect(await kernelCase(rt, q, layout, 1, 'int32', seed++)).toBeNull();
          runs++;
        }
      }
    }
    expect(runs).toBe(2 * layouts.length * (17 * 4 + 4));
  });

  it('refuses windows dilated across, weights for another window, and images too small for the output', () => {
    const rt = rts.one;
    const w = packQs8(rt, new Int8Array(9 * 4 * 8), 36, 8, new Int32Array(8), { allowSevenBit: false });
    expect(() => packQs8ConvDirect(rt, w, 3, 3, 5, 1)).toThrow(ArgumentError);
    const dw = packQs8ConvDirect(rt, w, 3, 3, 4, 1);
    const g: ConvWindow = { kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 0 };
    const call = { xp: 0, ps: 0, hp: 6, wp: 6, w: dw, prm: 0, y: 0, oh: 4, ow: 4, outStride: 32 };
    expect(() => qs8ConvDirect(rt, { ...g, dw: 2 }, call)).toThrow(ArgumentError);
    expect(() => qs8ConvDirect(rt, { ...g, kw: 2 }, call)).toThrow(ArgumentError);
    expect(() => qs8ConvDirect(rt, g, { ...call, wp: 5 })).toThrow(ArgumentError);
    expect(() => qs8ConvDirect(rt, g, { ...call, hp: 5 })).toThrow(ArgumentError);
    dw.dispose();
    expect(() => qs8ConvDirect(rt, g, call)).toThrow(ArgumentError);
    // shared panels (c = 4: runs of 12 int16) die with the GEMM's weights
    const shared = packQs8ConvDirect(rt, w, 3, 3, 4, 1);
    expect(shared.source).toBe(w);
    w.dispose();
    expect(() => qs8ConvDirect(rt, g, { ...call, w: shared })).toThrow(ArgumentError);
  });
});

function geom(cin: number, cout: number, k: number, s: number, p: number): ConvGeometry {
  return { cin, cout, group: 1, kh: k, kw: k, sh: s, sw: s, dh: 1, dw: 1, pt: p, pl: p, pb: p, pr: p };
}


describe(`int8 convolution, direct (${SIMD} build)`, () => {
  // [geometry, h, w]: pads 0 / 1, strides 1 / 2, odd heights, widths 1..17, channels off the vector width
  const LAYERS: [ConvGeometry, number, number][] = [
    [geom(8, 5, 3, 1, 1), 7, 1],
    [geom(12, 9, 3, 2, 1), 9, 8],
    [geom(9, 8, 3, 1, 0), 5, 17],
    [geom(17, 3, 3, 2, 0), 7, 6],
    [geom(10, 16, 3, 1, 1), 3, 13],
    [geom(96, 24, 3, 1, 1), 5, 6],
  ];

  it('gives the gathered-rows and float32 im2col paths\' output bits: per-tensor / per-channel input, zero points 0..255, c2 / c4 / split c4, 1 and 2 threads', async () => {
    let seed = 132000, runs = 0;
    for (const rt of [rts.one, rts.two]) {
      for (const [g, h, w] of LAYERS) {
        for (const variant of ['tensor', 'border'] as const) {
          for (const zp of [0, 131, 255]) {
            for (const kind of ['full', 'split', 'seven'] as const) {
              const r = rng(seed++);
              const k = g.kh * g.kw * g.cin, n = g.cout;
              const scale = Math.fround(0.02 + r() * 0.05);
              const input = { ...uint8Range(-1, 1), scale, zeroPoint: zp } as Int8Weights['input'] & object;
              // border 0 at a channel: a zero pixel stages to 1 there, not 0 (the bordered image carries it)
              if (variant === 'border') {
                input.channelScale = Float32Array.from({ length: g.cin }, () => 0.5 + r() * 2);
                input.border = Float32Array.from({ length: g.cin }, (_, c) => (c % 4 === 0 ? 0 : 0.05 + r() * 0.9));
              }
              const q = Int8Array.from({ length: k * n }, (_, i) => {
                if (kind === 'seven') return i % 11 === 0 ? [-63, 63][i % 2] : Math.floor((r() - 0.5) * 120);
                if (i % 13 === 0) return kind === 'full' ? [-127, 127][i % 2] : [-126, 127][i % 2];
                return Math.floor((r() - 0.5) * 200);
              });
              const weights: Int8Weights = { k, n, q, scales: Float32Array.from({ length: n }, () => 0.001 + r() * 0.01), input };
              const bias = Float32Array.from({ length: n }, () => r() - 0.5);
              const make = (staged: boolean, direct: boolean) => new Conv2dGemm(rt, g, new Qs8Gemm(rt, weights, bias, { kind: 'relu' } as never, kind === 'split'), staged, direct);
              const d = make(true, true), s = make(true, false), f = make(false, false);
              expect(d.direct, 'the direct path is taken').not.toBeNull();
              expect(s.direct).toBeNull();
              const batch = 1 + (seed % 2);
              const x = makeX(batch * h * w * g.cin, scale, r);
              const yd = await convOut(rt, d, batch, h, w, x), ys = await convOut(rt, s, batch, h, w, x), yf = await convOut(rt, f, batch, h, w, x);
              const label = `${g.kh}x${g.kw}/${g.sh} p${g.pt} cin=${g.cin} ${h}x${w} ${variant} zp=${zp} weights=${kind} (${d.gemm.layout}) threads=${rt.threads}`;
              expect(firstMismatch(yd, ys), label).toBeNull();
              expect(firstMismatch(yd, yf), label).toBeNull();
              d.dispose(), s.dispose(), f.dispose();
              runs++;
            }
          }
        }
      }
    }
    expect(runs).toBe(2 * LAYERS.length * 2 * 3 * 3);
  });

  it('NaN and infinite inputs behind the guard fall back to the float32 im2col path: the same NaN rows', async () => {
    const rt = rts.one, g = geom(16, 8, 3, 1, 1), [h, w] = [5, 6];
    const r = rng(133000), k = 144, n = 8;
    const weights: Int8Weights = { k, n, q: Int8Array.from({ length: k * n }, () => Math.floor((r() - 0.5) * 250)), scales: new Float32Array(n).fill(0.01), input: uint8Range(-2, 3) };
    const make = (direct: boolean) => new Conv2dGemm(rt, g, new NonFiniteGuard(rt, new Qs8Gemm(rt, weights, null, null), 'nan', 'Conv'), direct, direct);
    const d = make(true), f = make(false);
    expect(d.direct).not.toBeNull();
    const x = makeX(h * w * 16, 0.02, r);
    const clean = await convOut(rt, d, 1, h, w, x);
    expect(firstMismatch(clean, await convOut(rt, f, 1, h, w, x))).toBeNull();
    x[77] = NaN;
    x[300] = -Infinity;
    const yd = await convOut(rt, d, 1, h, w, x), yf = await convOut(rt, f, 1, h, w, x);
    expect(firstMismatch(yd, yf)).toBeNull();
    expect(new Float32Array(yd.buffer).some(Number.isNaN)).toBe(true);
    d.dispose(), f.dispose();
  });
});
