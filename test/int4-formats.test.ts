// 4-bit formats: fp16 codec, round trips of ONNX MatMulNBits and ggml Q4_0 / Q8_0 layouts (odd K
// and N included), the RTN quantizer's guarantees, MatMulNBits results against onnxruntime-web,
// and clear errors for bad inputs.

import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';
import {
  compareTo, dequantizeInt4, dequantizeQ8_0, floatToFp16, fp16ToFloat, fromMatMulNBits, fromQ4_0, quantizeInt4Rtn,
  quantizeQ8_0, toMatMulNBits, toQ4_0, LowbitError, type Int4Blocks,
} from '../src/index.js';
import { packQb4, runQb4 } from '../src/kernels.js';
import { firstMismatch, randNormal, rng, testRuntime } from './helpers.js';

describe('fp16', () => {
  it('decodes every half and re-encodes it to the same bits (NaNs stay NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const f = fp16ToFloat(h);
      if (Number.isNaN(f)) {
        expect(Number.isNaN(fp16ToFloat(floatToFp16(f)))).toBe(true);
        continue;
      }
      expect(floatToFp16(f)).toBe(h);
    }
  });

  it('rounds to nearest even, overflows to Infinity, underflows to signed zero', () => {
    expect(floatToFp16(1 + 2 ** -11)).toBe(0x3c00); // exact tie -> even (1.0)
    expect(floatToFp16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (1 + 2^-9)
    expect(floatToFp16(65504)).toBe(0x7bff);
    expect(floatToFp16(65520)).toBe(0x7c00); // halfway past max rounds up to Infinity
    expect(floatToFp16(2 ** -25)).toBe(0); // half of the smallest subnormal: tie -> even (0)
    expect(floatToFp16(-(2 ** -24))).toBe(0x8001);
    expect(floatToFp16(-1e-30)).toBe(0x8000);
  });
});

function randomBlocks(n: number, k: number, bs: number, asym: boolean, seed: number): Int4Blocks {
  const r = rng(seed);
  const nb = Math.ceil(k / bs);
  return {
    k, n, blockSize: bs,
    q: Uint8Array.from({ length: n * k }, () => Math.floor(r() * 16)),
    scales: Float32Array.from({ length: n * nb }, () => r() * 0.1),
    zeroPoints: asym ? Uint8Array.from({ length: n * nb }, () => Math.floor(r() * 16)) : null,
  };
}

describe('MatMulNBits layout', () => {
  it('round-trips through B / scales / packed zero points for odd K and N', () => {
    let seed = 1;
    for (const [n, k, bs] of [[1, 16, 16], [3, 17, 16], [5, 100, 32], [7, 64, 64], [2, 300, 128], [9, 33, 256]] as const) {
      for (const asym of [false, true]) {
        const b = randomBlocks(n, k, bs, asym, seed++);
        const m = toMatMulNBits(b);
        expect(m.B.length).toBe(n * Math.ceil(k / bs) * (bs / 2));
        const back = fromMatMulNBits(m);
        expect(firstMismatch(back.q, b.q)).toBeNull();
        expect(firstMismatch(back.scales, b.scales)).toBeNull();
        if (asym) expect(firstMismatch(back.zeroPoints!, b.zeroPoints!)).toBeNull();
        else expect(back.zeroPoints).toBeNull();
      }
    }
  });

  it('reads element 2i from the low nibble and 2i+1 from the high one', () => {
    const b = fromMatMulNBits({ B: Uint8Array.of(0x21, 0x43, 0x65, 0x87, 0xa9, 0xcb, 0xed, 0x0f), scales: Float32Array.of(1), K: 16, N: 1, blockSize: 16 });
    expect(Array.from(b.q)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0]);
  });

  it('rejects bad block sizes, lengths and scales with clear errors', () => {
    const base = { B: new Uint8Array(16), scales: Float32Array.of(1, 1), K: 32, N: 1, blockSize: 16 };
    expect(() => fromMatMulNBits({ ...base, blockSize: 24 })).toThrow(/block_size: must be a power of two from 16 up, got 24/);
    expect(() => fromMatMulNBits({ ...base, scales: Float32Array.of(1) })).toThrow(/scales: expected \[N, blocks\] = \[1, 2\]/);
    expect(() => fromMatMulNBits({ ...base, scales: Float32Array.of(1, NaN) })).toThrow(/scales: element 1 is NaN/);
    expect(() => fromMatMulNBits({ ...base, B: new Uint8Array(15) })).toThrow(/B: expected uint8 \[N, ceil\(K\/block_size\), block_size\/2\]/);
    expect(() => fromMatMulNBits({ ...base, zeroPoints: new Uint8Array(3) })).toThrow(/zero_points: packed uint8/);
    try {
      fromMatMulNBits({ ...base, blockSize: 24 });
    } catch (e) {
      expect(e).toBeInstanceOf(LowbitError);
    }
  });
});

describe('ggml Q4_0 and Q8_0', () => {
  it('Q4_0: byte j holds element j (low) and j + 16 (high); round-trips with fp16 scales', () => {
    const data = new Uint8Array(18);
    new DataView(data.buffer).setUint16(0, floatToFp16(0.5), true);
    for (let j = 0; j < 16; j++) data[2 + j] = j | ((15 - j) << 4);
    const b = fromQ4_0(data, 1, 32);
    expect(Array.from(b.q.subarray(0, 16))).toEqual(Array.from({ length: 16 }, (_, j) => j));
    expect(Array.from(b.q.subarray(16))).toEqual(Array.from({ length: 16 }, (_, j) => 15 - j));
    expect(dequantizeInt4(b)[0]).toBe(-4); // (0 - 8) * 0.5
    expect(firstMismatch(toQ4_0(b), data)).toBeNull();
    // random rows
    const r = rng(3);
    const w = randNormal(5 * 96, r, 0.1);
    const q = quantizeInt4Rtn(w, 5, 96, { blockSize: 32 });
    const bytes = toQ4_0({ ...q, scales: q.scales.map((s) => fp16ToFloat(floatToFp16(s))) });
    const again = fromQ4_0(bytes, 5, 96);
    expect(firstMismatch(toQ4_0(again), bytes)).toBeNull();
  });

  it('Q8_0: quantize / dequantize within half a step, and exact on its own grid', () => {
    const r = rng(4);
    const x = randNormal(3 * 64, r);
    const bytes = quantizeQ8_0(x, 3, 64);
    expect(bytes.length).toBe(3 * 2 * 34);
    const y = dequantizeQ8_0(bytes, 3, 64);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < x.length; i++) {
      const d = fp16ToFloat(view.getUint16(Math.floor(i / 32) * 34, true));
      expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(0.5 * d + 1e-3 * Math.abs(x[i]));
    }
    expect(firstMismatch(quantizeQ8_0(y, 3, 64), bytes)).toBeNull();
  });

  it('refuses K that is not a multiple of 32 and wrong byte counts', () => {
    expect(() => fromQ4_0(new Uint8Array(18), 1, 33)).toThrow(/K must be a multiple of 32, got 33/);
    expect(() => fromQ4_0(new Uint8Array(17), 1, 32)).toThrow(/expected 1 rows of 1 blocks of 18 bytes/);
    expect(() => toQ4_0(randomBlocks(1, 64, 32, true, 9))).toThrow(/symmetric blocks of 32/);
  });
});

describe('round-to-nearest 4-bit quantizer', () => {
  it('keeps every value within one step of its block (full range; the clamped end of a symmetric block can be off by one), and clip search lowers the error', () => {
    const r = rng(8);
    const n = 16;
    const k = 200;
    const w = randNormal(n * k, r, 0.02);
    for (const scheme of ['symmetric', 'asymmetric'] as const) {
      const full = quantizeInt4Rtn(w, n, k, { blockSize: 32, scheme, clipSearch: false });
      const deq = dequantizeInt4(full);
      const nb = Math.ceil(k / 32);
      for (let j = 0; j < n; j++) {
        for (let t = 0; t < k; t++) {
          // symmetric scales carry the sign of the block's largest-magnitude value (Q4_0's rule)
          const s = Math.abs(full.scales[j * nb + Math.floor(t / 32)]);
          expect(Math.abs(deq[j * k + t] - w[j * k + t])).toBeLessThanOrEqual(s * (1 + 1e-6) + 1e-9);
        }
      }
      const searched = quantizeInt4Rtn(w, n, k, { blockSize: 32, scheme });
      const eFull = compareTo(w, deq).sqnrDb;
      const eSearch = compareTo(w, dequantizeInt4(searched)).sqnrDb;
      expect(eSearch).toBeGreaterThanOrEqual(eFull);
    }
  });

  it('rejects bad block sizes and non-finite weights', () => {
    expect(() => quantizeInt4Rtn(new Float32Array(64), 2, 32, { blockSize: 24 })).toThrow(/blockSize: must be a power of two/);
    const w = new Float32Array(64);
    w[10] = NaN;
    expect(() => quantizeInt4Rtn(w, 2, 32, { blockSize: 32 })).toThrow(/weights: element 10 is NaN/);
  });
});

describe('MatMulNBits against onnxruntime-web', () => {
  it('our W4A8 result is within budget of onnxruntime-web MatMulNBits (float activations) on the same weights', async () => {
    const { onnx } = onnxproto;
    const T = onnx.TensorProto.DataType;
    const r = rng(12);
    const [m, k, n, bs] = [3, 256, 40, 32];
    const w = randNormal(n * k, r, 0.02);
    const x = randNormal(m * k, r);
    for (const scheme of ['symmetric', 'asymmetric'] as const) {
      const blocks = quantizeInt4Rtn(w, n, k, { blockSize: bs, scheme });
      const nb = toMatMulNBits(blocks);
      const inits = [
        { name: 'B', dims: [n, k / bs, bs / 2], dataType: T.UINT8, rawData: nb.B },
        { name: 'scales', dims: [n * (k / bs)], dataType: T.FLOAT, rawData: new Uint8Array((nb.scales as Float32Array).buffer) },
      ];
      const inputs = ['A', 'B', 'scales'];
      if (nb.zeroPoints) {
        inits.push({ name: 'zp', dims: [n * Math.ceil(k / bs / 2)], dataType: T.UINT8, rawData: nb.zeroPoints as Uint8Array });
        inputs.push('zp');
      }
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
        graph: {
          name: 'g',
          node: [{
            opType: 'MatMulNBits', domain: 'com.microsoft', input: inputs, output: ['Y'],
            attribute: [['K', k], ['N', n], ['bits', 4], ['block_size', bs]].map(([name, i]) => ({ name: name as string, type: onnx.AttributeProto.AttributeType.INT, i: i as number })),
          }],
          initializer: inits,
          input: [{ name: 'A', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [{ dimValue: m }, { dimValue: k }] } } } }],
          output: [{ name: 'Y' }],
        },
      });
      const session = await ort.InferenceSession.create(onnx.ModelProto.encode(model).finish());
      const want = (await session.run({ A: new ort.Tensor('float32', x, [m, k]) })).Y.data as Float32Array;
      await session.release();
      const rt = await testRuntime(1);
      const pw = packQb4(rt, fromMatMulNBits(nb));
      const got = await runQb4(rt, x, m, pw, { activations: 'per-block' });
      rt.dispose();
      // the only difference is our int8 activations (per block of 32): measured ~38 dB apart
      const e = compareTo(want, got);
      expect(e.sqnrDb, scheme).toBeGreaterThan(34);
      expect(e.cosine).toBeGreaterThan(0.9998);
    }
  });
});
