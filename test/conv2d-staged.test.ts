// int8 convolutions that stage each pixel once and gather the staged rows (q_im2col_nhwc,
// Conv2dGemm with a Qs8Gemm) instead of staging a float32 im2col matrix. The gather kernel against
// a scalar reference bit for bit (both element sizes, every copy remainder of 16/4/1 bytes, strides,
// dilations, padding on every side, the doubled rows of the split c4 layout, rows longer than the
// taps, sums wrapping at 32 bits); then whole layers: the staged path gives the same output bits as
// the float32 im2col path, per-tensor and per-channel input quantization, zero points at both ends,
// saturating values and ties, the split 7-bit layout, NaN inputs behind the guard, 1 and 2 threads.
// (The layers here gather rows: direct = false; the direct kernel's layers are in qs8-conv-direct.test.ts.)

import { describe, expect, it } from 'vitest';
import { im2colStagedNhwc } from '../src/kernels/conv.js';
import { Conv2dGemm } from '../src/layers/conv2d-gemm.js';
import { convOutSize, type ConvGeometry } from '../src/layers/conv2d.js';
import { Qs8Gemm, type Int8Weights } from '../src/layers/gemm-qs8.js';
import { NonFiniteGuard } from '../src/layers/nonfinite.js';
import { uint8Range } from '../src/quant/activation-range.js';
import { ArgumentError, ShapeError } from '../src/errors.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';
import { convGeometry, convOut, makeX } from './conv-geometry.js';

const rts = useRuntimes();

const geom = convGeometry;

/** scalar q_im2col_nhwc: rows of the taps' pixel bytes (pad outside), twice with dup, zeros to rowBytes; sums wrap at 32 bits */
function refGather(img: Uint8Array, pixSum: Int32Array, pad: Uint8Array, padSum: number, g: ConvGeometry, h: number, w: number, cBytes: number, dup: boolean, rowBytes: number) {
  const [oh, ow] = convOutSize(g, h, w);
  const out = new Uint8Array(oh * ow * rowBytes), sums = new Int32Array(oh * ow);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const r = oy * ow + ox;
      const row: number[] = [];
      let s = 0;
      for (let u = 0; u < g.kh; u++) {
        for (let v = 0; v < g.kw; v++) {
          const iy = oy * g.sh - g.pt + u * g.dh, ix = ox * g.sw - g.pl + v * g.dw;
          const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          for (let b = 0; b < cBytes; b++) row.push(inside ? img[(iy * w + ix) * cBytes + b] : pad[b]);
          s = (s + (inside ? pixSum[iy * w + ix] : padSum)) | 0;
        }
      }
      const full = dup ? [...row, ...row] : row;
      out.set(full, r * rowBytes);
      sums[r] = dup ? (s * 2) | 0 : s;
    }
  }
  return { out, sums };
}

describe(`q_im2col_nhwc (${SIMD} build)`, () => {
  const CASES: [ConvGeometry, number, number][] = [
    [geom(1, 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 5, 6],
    [geom(1, 1, [3, 3], [2, 2], [1, 1], [1, 1, 1, 1]), 7, 9],
    [geom(1, 1, [3, 2], [1, 2], [2, 1], [2, 0, 2, 1]), 6, 5],
    [geom(1, 1, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]), 5, 5],
    [geom(1, 1, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]), 4, 3],
    [geom(1, 1, [2, 2], [1, 1], [1, 1], [0, 0, 0, 0]), 3, 4],
  ];
  const C_BYTES = [1, 2, 3, 4, 5, 7, 15, 16, 17, 20, 31, 32, 33, 48, 192];

  it('matches the scalar gather bit for bit: every byte count, window, dup and row padding, 1 and 2 threads', async () => {
    let seed = 91000, runs = 0;
    for (const rt of [rts.one, rts.two]) {
      for (const [g, h, w] of CASES) {
        for (const cBytes of C_BYTES) {
          for (const dup of [false, true]) {
            const r = rng(seed++);
            const [oh, ow] = convOutSize(g, h, w);
            const need = g.kh * g.kw * cBytes * (dup ? 2 : 1), rowBytes = need + (seed % 3) * 5;
            const img = Uint8Array.from({ length: h * w * cBytes }, () => Math.floor(r() * 256));
            // extreme sums: the row sum wraps as the kernel's i32 does
            const pixSum = Int32Array.from({ length: h * w }, (_, i) => (i % 7 === 0 ? [2 ** 31 - 1, -(2 ** 31)][i % 2] : Math.floor((r() - 0.5) * 2e5)));
            const pad = Uint8Array.from({ length: cBytes }, () => Math.floor(r() * 256)), padSum = seed % 2 ? -12345 : 2 ** 31 - 7;
            const want = refGather(img, pixSum, pad, padSum, g, h, w, cBytes, dup, rowBytes);
            const pImg = rt.alloc(img.length + 16), pSum = rt.alloc(pixSum.length * 4 + 16), pPad = rt.alloc(cBytes + 16);
            const pOut = rt.alloc(oh * ow * rowBytes + 16), pRow = rt.alloc(oh * ow * 4 + 16);
            rt.view(Uint8Array, pImg, img.length).set(img);
            rt.view(Int32Array, pSum, pixSum.length).set(pixSum);
            rt.view(Uint8Array, pPad, cBytes).set(pad);
            rt.view(Uint8Array, pOut, oh * ow * rowBytes).fill(0xa5); // row padding must be written
            await im2colStagedNhwc(rt, g, { x: pImg, pixSum: pSum, pad: pPad, padSum, h, w, cBytes, oh, ow, dup, rowBytes, out: pOut, rowSum: pRow });
            const label = `${g.kh}x${g.kw} s${g.sh},${g.sw} d${g.dh},${g.dw} ${h}x${w} cBytes=${cBytes} dup=${dup} threads=${rt.threads}`;
            expect(firstMismatch(rt.read(Uint8Array, pOut, oh * ow * rowBytes), want.out), label).toBeNull();
            expect(firstMismatch(rt.read(Int32Array, pRow, oh * ow), want.sums), `sums ${label}`).toBeNull();
            for (const p of [pImg, pSum, pPad, pOut, pRow]) rt.free(p);
            runs++;
          }
        }
      }
    }
    expect(runs).toBe(2 * CASES.length * C_BYTES.length * 2);
  });

  it('refuses rows shorter than the taps and non-integer sizes', () => {
    const rt = rts.one, g = geom(1, 1, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]);
    const call = { x: 0, pixSum: 0, pad: 0, padSum: 0, h: 4, w: 4, cBytes: 8, oh: 4, ow: 4, dup: true, rowBytes: 143, out: 0, rowSum: 0 };
    expect(() => im2colStagedNhwc(rt, g, call)).toThrow(ArgumentError);
    expect(() => im2colStagedNhwc(rt, g, { ...call, rowBytes: 144, cBytes: 7.5 })).toThrow(ShapeError);
  });
});


describe(`int8 convolution on staged pixels (${SIMD} build)`, () => {
  const LAYERS: [ConvGeometry, number, number][] = [
    [geom(8, 5, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 6, 7],
    [geom(12, 9, [3, 3], [2, 2], [1, 1], [1, 1, 0, 0]), 9, 8],
    [geom(17, 8, [3, 3], [1, 1], [2, 2], [2, 2, 2, 2]), 7, 7],
    [geom(24, 16, [1, 1], [2, 2], [1, 1], [0, 0, 0, 0]), 8, 6],
    [geom(9, 3, [5, 5], [1, 1], [1, 1], [2, 2, 2, 2]), 5, 6],
    [geom(96, 24, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), 6, 5],
  ];

  it('gives the float32 im2col path\'s output bits: per-tensor and per-channel input, zero points 0..255, c2 / c4 / split c4 weights, 1 and 2 threads', async () => {
    let seed = 92000, runs = 0;
    for (const rt of [rts.one, rts.two]) {
      for (const [g, h, w] of LAYERS) {
        for (const variant of ['tensor', 'channel', 'border'] as const) {
          for (const zp of [0, 131, 255]) {
            for (const kind of ['full', 'split', 'seven'] as const) {
              const r = rng(seed++);
              const k = g.kh * g.kw * g.cin, n = g.cout;
              const scale = Math.fround(0.02 + r() * 0.05);
              const input = { ...uint8Range(-1, 1), scale, zeroPoint: zp } as Int8Weights['input'] & object;
              if (variant !== 'tensor') input.channelScale = Float32Array.from({ length: g.cin }, () => 0.5 + r() * 2);
              // border 0 at a channel: a zero pixel stages to 1 there, not 0 (the padding row carries it)
              if (variant === 'border') input.border = Float32Array.from({ length: g.cin }, (_, c) => (c % 4 === 0 ? 0 : 0.05 + r() * 0.9));
              // full: -127 and 127 in a column (c2 on either build); split: 8-bit within [-126, 127] (the relaxed
              // build's c4 split in two 7-bit halves, rows staged twice); seven: |q| <= 63 (c4 as it is)
              const q = Int8Array.from({ length: k * n }, (_, i) => {
                if (kind === 'seven') return i % 11 === 0 ? [-63, 63][i % 2] : Math.floor((r() - 0.5) * 120);
                if (i % 13 === 0) return kind === 'full' ? [-127, 127][i % 2] : [-126, 127][i % 2];
                return Math.floor((r() - 0.5) * 200);
              });
              const weights: Int8Weights = { k, n, q, scales: Float32Array.from({ length: n }, () => 0.001 + r() * 0.01), input };
              const bias = Float32Array.from({ length: n }, () => r() - 0.5);
              const make = (staged: boolean) => new Conv2dGemm(rt, g, new Qs8Gemm(rt, weights, bias, { kind: 'relu' } as never, kind === 'split'), staged, false);
              const a = make(true), b = make(false);
              expect(a.staged, 'the staged path is taken').not.toBeNull();
              expect(b.staged).toBeNull();
              // split with one scale per tensor: the layer runs c4a, its staged pixels a c4 split twin
              expect(a.gemm.layout).toBe(SIMD === 'baseline' || kind === 'full' ? 'c2' : kind === 'split' ? (variant === 'tensor' ? 'c4a' : 'c4 split') : 'c4');
              const batch = 1 + (seed % 2);
              const x = makeX(batch * h * w * g.cin, scale, r);
              const ya = await convOut(rt, a, batch, h, w, x), yb = await convOut(rt, b, batch, h, w, x);
              expect(firstMismatch(ya, yb), `${g.kh}x${g.kw}/${g.sh} cin=${g.cin} ${variant} zp=${zp} weights=${kind} threads=${rt.threads}`).toBeNull();
              a.dispose(), b.dispose();
              runs++;
            }
          }
        }
      }
    }
    expect(runs).toBe(2 * LAYERS.length * 3 * 3 * 3);
  });

  it('per-channel quantization that differs between taps, and inputs under 8 channels, keep the float32 im2col', () => {
    const rt = rts.one, g = geom(8, 4, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), k = 72;
    const q = new Int8Array(k * 4).fill(3), scales = new Float32Array(4).fill(0.01);
    const perTap = { ...uint8Range(-1, 1), channelScale: Float32Array.from({ length: k }, (_, j) => 1 + (j >> 3)) };
    const c1 = new Conv2dGemm(rt, g, new Qs8Gemm(rt, { k, n: 4, q, scales, input: perTap }, null, null));
    expect(c1.staged).toBeNull();
    const g4 = geom(4, 4, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]);
    const c2 = new Conv2dGemm(rt, g4, new Qs8Gemm(rt, { k: 36, n: 4, q: q.subarray(0, 144), scales, input: uint8Range(-1, 1) }, null, null));
    expect(c2.staged).toBeNull();
    c1.dispose(), c2.dispose();
  });

  it('NaN and infinite inputs behind the guard: the same NaN rows as the float32 im2col path', async () => {
    const rt = rts.one, g = geom(16, 8, [3, 3], [1, 1], [1, 1], [1, 1, 1, 1]), [h, w] = [5, 6];
    const r = rng(93000), k = 144, n = 8;
    const weights: Int8Weights = { k, n, q: Int8Array.from({ length: k * n }, () => Math.floor((r() - 0.5) * 250)), scales: new Float32Array(n).fill(0.01), input: uint8Range(-2, 3) };
    const make = (staged: boolean) => new Conv2dGemm(rt, g, new NonFiniteGuard(rt, new Qs8Gemm(rt, weights, null, null), 'nan', 'Conv'), staged, false);
    const a = make(true), b = make(false);
    expect(a.staged).not.toBeNull();
    const x = makeX(h * w * 16, 0.02, r);
    x[77] = NaN;
    x[300] = -Infinity;
    const ya = await convOut(rt, a, 1, h, w, x), yb = await convOut(rt, b, 1, h, w, x);
    expect(firstMismatch(ya, yb)).toBeNull();
    expect(Number.isNaN(new Float32Array(ya.buffer)[0 + 8 * ((77 >> 4) % 6)])).toBe(true);
    a.dispose(), b.dispose();
  });
});
