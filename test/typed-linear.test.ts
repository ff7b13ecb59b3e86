// rt.linear with dtype 'ant4' (ANT's type per tensor, or per channel, on the LUT4 kernel) and 'fp8'
// (E4M3 weights): the type chosen is reported, the error against float32 stays within stated budgets.

import { describe, expect, it } from 'vitest';
import { ArgumentError, ValueRangeError, type TableWeights } from '../src/index.js';
import { refLut4 } from '../src/kernels.js';
import { SIMD, firstMismatch, rng, useRuntimes } from './helpers.js';

const rts = useRuntimes();
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

describe(`rt.linear with dtype ant4 / fp8 (${SIMD} build)`, () => {
  it('ant4 picks the type the weights call for and stays within its error budget', async () => {
    const r = rng(3);
    const [k, n, m] = [96, 40, 7];
    const x = Float32Array.from({ length: m * k }, () => gauss(r));
    // uniform weights -> int4; heavy-tailed (Student-t, 3 dof) -> a non-uniform type
    const uniform = Float32Array.from({ length: k * n }, () => r() * 2 - 1);
    const heavy = Float32Array.from({ length: k * n }, () => gauss(r) / Math.sqrt((gauss(r) ** 2 + gauss(r) ** 2 + gauss(r) ** 2) / 3));
    const bias = Float32Array.from({ length: n }, () => r());
    const a = await rts.one.linear(uniform, [k, n], bias, { dtype: 'ant4', reference: true });
    const b = await rts.one.linear(heavy, [k, n], null, { dtype: 'ant4', reference: true });
    expect(a.type).toBe('int4');
    expect(['flint4', 'pot4']).toContain(b.type);
    // activations are int8 per row: outputs within ~3 dB of the weights' own 4-bit error (> 14 dB)
    expect((await a.compare(x)).error.sqnrDb).toBeGreaterThan(14);
    expect((await b.compare(x)).error.sqnrDb).toBeGreaterThan(10);
    // blocks of 32 (the default): half a byte per weight and a float32 scale per 32 (0.625 B/weight)
    expect(a.weightBytes).toBeLessThan(k * n * 0.7);
    // one scale per channel on request: fewer bytes
    const c = await rts.one.linear(heavy, [k, n], null, { dtype: 'ant4', blockSize: 'channel', reference: true });
    expect(c.weightBytes).toBeLessThan(b.weightBytes);
    expect(c.weightBytes).toBeLessThan(k * n * 0.6);
    c.dispose();
    a.dispose();
    b.dispose();
  });

  it('ant4 blocks follow the weights\' magnitude along K: higher SQNR than one scale per channel', async () => {
    const r = rng(5);
    const [k, n, m] = [256, 24, 3];
    // [K, N] weights whose rows (input features) come in groups of 32 of very different magnitudes,
    // inputs the other way round (a normalisation folded into the weights), so every group matters
    // to the output as much: one scale per channel loses the small groups
    const w = new Float32Array(k * n);
    const mags = Array.from({ length: k / 32 }, () => 2 ** (6 * r() - 3));
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) w[t * n + j] = gauss(r) * mags[t >> 5];
    const x = Float32Array.from({ length: m * k }, (_, i) => gauss(r) / mags[(i % k) >> 5]);
    const sq = async (blockSize?: number | 'channel') => {
      const l = await rts.one.linear(w, [k, n], null, { dtype: 'ant4', blockSize, reference: true });
      const e = (await l.compare(x)).error.sqnrDb;
      l.dispose();
      return e;
    };
    // measured: blocks of 32 18.8 dB, of 64 9.0 (two magnitudes share each scale), per channel 8.2
    const [b32, b64, ch] = [await sq(), await sq(64), await sq('channel')];
    expect(b32).toBeGreaterThan(ch + 8);
    expect(b64).toBeGreaterThan(ch);
    await expect(rts.one.linear(w, [k, n], null, { dtype: 'ant4', blockSize: 48 })).rejects.toThrow(/blockSize: expected a power of two from 32 to 256 or 'channel', got 48/);
    await expect(rts.one.linear(w, [k, n], null, { dtype: 'fp8', blockSize: 32 })).rejects.toThrow(/blockSize: dtype 'fp8' does not take this option/);
  });

  it('ant4 perChannelType: channels of different shapes get their own types, at least the per-tensor SQNR', async () => {
    const r = rng(7);
    const [k, n, m] = [128, 48, 9];
    // [K, N] weights whose output channels (columns) come in three shapes, interleaved: uniform
    // (int4's grid fits), Gaussian, heavy-tailed (a Laplacian times a squared Gaussian)
    const w = new Float32Array(k * n);
    for (let t = 0; t < k; t++) {
      for (let j = 0; j < n; j++) {
        const kind = j % 3;
        w[t * n + j] = kind === 0 ? r() * 2 - 1 : kind === 1 ? gauss(r) * 0.5 : Math.log(r()) * (r() < 0.5 ? -1 : 1) * 0.3 * gauss(r) ** 2;
      }
    }
    const x = Float32Array.from({ length: m * k }, () => gauss(r));
    const bias = Float32Array.from({ length: n }, () => r());
    // measured (SQNR of the 9 output rows vs float32): blocks of 32, per-tensor int4 20.5 dB,
    // per channel 21.8; one scale per channel 17.9 and 20.3
    for (const [blockSize, perTensorDb, perChannelDb] of [[32, 20, 21.3], ['channel', 17.4, 19.8]] as const) {
      const a = await rts.one.linear(w, [k, n], bias, { dtype: 'ant4', blockSize, reference: true });
      const b = await rts.one.linear(w, [k, n], bias, { dtype: 'ant4', blockSize, perChannelType: true, reference: true });
      expect(a.type).toBe('int4');
      expect(b.type).toBe('per channel (int4, flint4, pot4)');
      const ea = (await a.compare(x)).error.sqnrDb, eb = (await b.compare(x)).error.sqnrDb;
      expect(ea, `${blockSize}`).toBeGreaterThan(perTensorDb);
      expect(eb, `${blockSize}`).toBeGreaterThan(perChannelDb);
      expect(eb, `${blockSize}`).toBeGreaterThanOrEqual(ea);
      // the layer (bias in panel order, outputs gathered back) computes the kernel's reference bits
      const src = b.weights.format.name === 'ant4' ? (b.weights.data as TableWeights).source : null;
      expect(src?.tables?.length).toBe(3);
      for (const rows of [1, m]) {
        const xs = x.subarray(0, rows * k);
        expect(firstMismatch(await b.forward(xs), refLut4(xs, rows, src!, bias)), `${blockSize} m=${rows}`).toBeNull();
      }
      // the cost: each table's group of columns padded to whole panels (here 2 panels more than
      // 48 columns need), a table per panel (16 + 4 bytes) and the column index (4 bytes each)
      const panel = (blockSize === 32 ? 4 * (32 * 4 + 32) : 128 * 4 + 32);
      expect(b.weightBytes).toBeGreaterThan(a.weightBytes);
      expect(b.weightBytes).toBeLessThanOrEqual(a.weightBytes + 2 * panel + 8 * 20 + 16 + n * 4);
      a.dispose();
      b.dispose();
    }
    // channels that all choose one type: one table, as without the option
    const uniform = Float32Array.from({ length: k * n }, () => r() * 2 - 1);
    const u1 = await rts.one.linear(uniform, [k, n], null, { dtype: 'ant4', reference: true });
    const u2 = await rts.one.linear(uniform, [k, n], null, { dtype: 'ant4', perChannelType: true, reference: true });
    expect(u2.type).toBe('int4');
    expect(u2.weightBytes).toBe(u1.weightBytes);
    expect(firstMismatch(await u2.forward(x), await u1.forward(x))).toBeNull();
    u1.dispose();
    u2.dispose();
    await expect(rts.one.linear(w, [k, n], null, { dtype: 'fp8', perChannelType: true })).rejects.toThrow(ArgumentError);
    await expect(rts.one.linear(w, [k, n], null, { dtype: 'fp8', perChannelType: true })).rejects.toThrow(/perChannelType: dtype 'fp8' does not take this option/);
    await expect(rts.one.linear(w, [k, n], null, { dtype: 'ant4', perChannelType: 'yes' as unknown as boolean })).rejects.toThrow(/perChannelType: expected true or false, got yes/);
  });

  it('fp8 stores E4M3 weights: ~31 dB on Gaussian weights (3 mantissa bits), 1 byte per weight', async () => {
    const r = rng(4);
    const [k, n, m] = [64, 33, 5];
    const w = Float32Array.from({ length: k * n }, () => gauss(r));
    const x = Float32Array.from({ length: m * k }, () => gauss(r));
    const l = await rts.two.linear(w, [k, n], null, { dtype: 'fp8', reference: true });
    expect(l.type).toBe('e4m3fn');
    expect((await l.compare(x)).error.sqnrDb).toBeGreaterThan(28);
    expect(l.weightBytes).toBeLessThan(k * 48 + 64 * 4);
    await expect(l.forward(new Float32Array(k).fill(NaN))).rejects.toThrow(ValueRangeError);
    l.dispose();
  });

  it('bad weights are clear errors', async () => {
    await expect(rts.one.linear(Float32Array.of(1, NaN, 3, 4), [2, 2], null, { dtype: 'fp8' })).rejects.toThrow(/element 1 is NaN/);
    await expect(rts.one.linear(new Float32Array(6), [2, 2], null, { dtype: 'ant4' })).rejects.toThrow();
  });
});
