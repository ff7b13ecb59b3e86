// rt.linear with dtype 'ant4' (ANT's type per tensor on the LUT4 kernel) and 'fp8' (E4M3 weights):
// the type chosen is reported, the error against float32 stays within stated budgets.

import { describe, expect, it } from 'vitest';
import { ValueRangeError } from '../src/index.js';
import { SIMD, rng, useRuntimes } from './helpers.js';

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
    const a = await rts.one.linear(uniform, [k, n], bias, { dtype: 'ant4' });
    const b = await rts.one.linear(heavy, [k, n], null, { dtype: 'ant4' });
    expect(a.type).toBe('int4');
    expect(['flint4', 'pot4']).toContain(b.type);
    // activations are int8 per row: outputs within ~3 dB of the weights' own 4-bit error (> 14 dB)
    expect((await a.compare(x)).error.sqnrDb).toBeGreaterThan(14);
    expect((await b.compare(x)).error.sqnrDb).toBeGreaterThan(10);
    expect(a.weightBytes).toBeLessThan(k * n * 0.6);
    a.dispose();
    b.dispose();
  });

  it('fp8 stores E4M3 weights: ~31 dB on Gaussian weights (3 mantissa bits), 1 byte per weight', async () => {
    const r = rng(4);
    const [k, n, m] = [64, 33, 5];
    const w = Float32Array.from({ length: k * n }, () => gauss(r));
    const x = Float32Array.from({ length: m * k }, () => gauss(r));
    const l = await rts.two.linear(w, [k, n], null, { dtype: 'fp8' });
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
