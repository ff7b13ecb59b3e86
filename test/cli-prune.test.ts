// `lowbit prune` as users run it (the compiled binary, packages/cli/dist/) on a small two-layer model
// written to a temporary file: the plan's layers, the budget met by the measured layer total, the
// saved weights loading back, and bad arguments refused naming the option.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime, loadModel, loadQuantized } from '../src/index.js';
import { SIMD, randNormal, rng } from './helpers.js';
import { OnnxBuilder } from './onnx-builder.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

describe.skipIf(SIMD !== 'baseline')('lowbit prune', () => {
  // MatMul [64, 128] x [128, 256] -> Relu -> MatMul [256, 128]: big enough for 4x4 blocks to pay
  const r = rng(5);
  const onnx = new OnnxBuilder(13).input('x', [64, 128]).output('y')
    .init('w1', [128, 256], randNormal(128 * 256, r, 0.1)).init('w2', [256, 128], randNormal(256 * 128, r, 0.1))
    .node('MatMul', ['x', 'w1'], 'h').node('Relu', ['h'], 'hr').node('MatMul', ['hr', 'w2'], 'y')
    .build();
  const file = join(tmpdir(), `lowbit-prune-${process.pid}.onnx`), out = join(tmpdir(), `lowbit-prune-${process.pid}.safetensors`);

  it('--latency 0.8 --json: a plan per layer within the budget, saved weights that load', { timeout: 300_000 }, async () => {
    writeFileSync(file, onnx);
    try {
      const res = JSON.parse(lowbit('prune', file, '--latency', '0.8', '--calibrate-random', '--calibrate', '4', '--runs', '3', '--simd', 'baseline', '--json', '-o', out));
      expect(res.layers.map((l: { k: number; n: number }) => [l.k, l.n])).toEqual([[128, 256], [256, 128]]);
      for (const l of res.layers) expect(l.chosen).toMatch(/^(dense|block4x4 (25|50|75)%|unstructured (50|75|90)%)$/);
      expect(res.layersUs).toBeLessThanOrEqual(0.8 * res.layersDenseUs);
      expect(res.layersRatio).toBeCloseTo(res.layersUs / res.layersDenseUs, 9);
      expect(res.endToEnd.int8Ms).toBeGreaterThan(0);
      expect(Number.isFinite(res.outputSqnrDb.pruned)).toBe(true);
      const rt = await createRuntime({ simd: 'baseline', threads: 1 });
      const q = loadQuantized(loadModel(rt, onnx), new Uint8Array(readFileSync(out)));
      const y = await q.run({ x: { type: 'float32', dims: [64, 128], data: randNormal(64 * 128, rng(9)) } });
      expect(y.y.dims).toEqual([64, 128]);
      rt.dispose();
    } finally {
      rmSync(file, { force: true });
      rmSync(out, { force: true });
    }
  });

  it('refuses bad arguments naming the option', { timeout: 300_000 }, () => {
    writeFileSync(file, onnx);
    try {
      for (const [args, message] of [
        [['--latency', '1.5'], /--latency must be a fraction in \(0, 1\]/],
        [['--latency', '0'], /--latency must be a fraction in \(0, 1\]/],
        [[], /required option '--latency <fraction>'/],
        [['--latency', '0.7', '--pattern', 'block8x8'], /--pattern must be a comma-separated list/],
        [['--latency', '0.7', '--targets', '0.5,1'], /--targets must be fractions in \(0, 1\)/],
        // a budget the fastest candidates cannot reach: the library's ValueRangeError, naming the option it checks
        [['--latency', '0.01', '--calibrate-random', '--calibrate', '4'], /sparsity\.latency: 0\.01 is out of reach/],
      ] as const) {
        let e: { status: number; stderr: string } | null = null;
        try {
          lowbit('prune', file, '--simd', 'baseline', ...args);
        } catch (x) {
          e = x as { status: number; stderr: string };
        }
        expect(e?.status, args.join(' ')).not.toBe(0);
        expect(e?.stderr, args.join(' ')).toMatch(message);
      }
    } finally {
      rmSync(file, { force: true });
    }
  });
});
