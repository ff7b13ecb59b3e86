// The CLI as users run it: the compiled `lowbit` binary (packages/cli/dist/, built by `npm ci`) on the
// built-in model and text lines. Runs once (the baseline project); the browser project skips node files.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, WEIGHT_FORMATS, createRuntime, loadModel, loadQuantized, quantizeModel } from '../src/index.js';
import { makeFeeds } from '../packages/cli/src/model-commands.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { SIMD, firstMismatch } from './helpers.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

describe.skipIf(SIMD !== 'baseline')('lowbit CLI', () => {
  it('demo --json runs the built-in model in float32, every format of the table and auto-mixed beside onnxruntime-web', () => {
    const html = join(tmpdir(), `lowbit-demo-${process.pid}.html`);
    const out = JSON.parse(lowbit('demo', '--lines', '6', '--calibrate-every', '3', '--simd', 'baseline', '--json', '--html', html));
    // 6 lines split per font (every font is one line here): 6 calibrate... with every 3rd of each font
    expect(out.lines + out.calibrationLines).toBe(6);
    const schemes = out.rows.map((r: { scheme: string }) => r.scheme);
    const labels = WEIGHT_FORMATS.map((f) => f.label);
    expect(labels.slice(0, 5)).toEqual(['int8 (static, per-channel)', 'int4 (W4A8, block 32)', 'fp8 (E4M3 weights, per-channel)', 'ant4 (LUT4, per-tensor type, block 32)', 'nf4 (LUT4, block 64)']);
    expect(schemes.slice(0, labels.length + 1)).toEqual(['float32', ...labels]);
    expect(schemes[labels.length + 1]).toMatch(/^auto-mixed \(\d+ \w+(, \d+ \w+)*\)$/);
    expect(schemes[labels.length + 2]).toBe('onnxruntime-web float32');
    for (const r of out.rows) {
      // 4 bits on every layer break this small CNN (README); the 8-bit formats read most lines
      // (int8-sparse prunes half of every layer's weights, with no fine-tuning)
      if (!/^(int4|ant4|nf4|int8-sparse)/.test(r.scheme)) expect(r.exactMatch).toBeGreaterThanOrEqual(0.5);
      expect(r.msPerLine).toBeGreaterThan(0);
    }
    expect(out.rows[1].weightMB).toBeLessThan(out.rows[0].weightMB / 3);
    expect(out.layers.length).toBeGreaterThan(30);
    for (const l of out.layers) expect(Number.isNaN(l.sqnrDb)).toBe(false);
    // the HTML report is one self-contained file with the chart inline
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<svg');
    expect(page).not.toMatch(/<script|src="http/);
    rmSync(html);
  }, 300_000);

  const model = ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx');

  it('run, compare and bench take any ONNX file (here the built-in model, random inputs of a given shape)', async () => {
    const run = JSON.parse(lowbit('run', model, '--shape', 'x=1,3,48,96', '--simd', 'baseline', '--json'));
    expect(run.outputs[0].dims).toEqual([1, 12, 6625]);
    expect(run.fusions.fusedConvs).toBeGreaterThan(30);
    const cmp = JSON.parse(lowbit('compare', model, '--shape', 'x=1,3,48,96', '--scheme', 'int8', '--calibrate', '2', '--calibrate-random', '--simd', 'baseline', '--json'));
    expect(cmp.layers.length).toBeGreaterThan(40);
    expect(cmp.weightBytes.quantized).toBeLessThan(cmp.weightBytes.float32 / 3);
    const bench = JSON.parse(lowbit('bench', model, '--shape', 'x=1,3,48,96', '--runs', '2', '--calibrate', '1', '--simd', 'baseline', '--json'));
    expect(bench.rows.map((r: { scheme: string }) => r.scheme)).toEqual(['float32', ...FORMAT_NAMES]);
    // quantize and save, then run with the saved weights: same output as quantizing in place
    const out = join(tmpdir(), `lowbit-q-${process.pid}.safetensors`);
    const saved = JSON.parse(lowbit('quantize', model, '--shape', 'x=1,3,48,96', '--scheme', 'int8', '--calibrate', '2', '--calibrate-random', '--out', out, '--simd', 'baseline', '--json'));
    expect(saved.bytes).toBeLessThan(saved.weightBytes.float32 / 3);
    const rq = JSON.parse(lowbit('run', model, '--shape', 'x=1,3,48,96', '--quantized', out, '--simd', 'baseline', '--json'));
    expect(rq.outputs[0].dims).toEqual([1, 12, 6625]);
    expect(rq.outputs[0].head).not.toEqual(run.outputs[0].head);
    // the saved-from model, rebuilt here as the CLI built it (same calibration inputs, seeds 1 and 2), on
    // the input `run` uses (seed 1): the reloaded model's output equals it exactly, in the CLI's summary
    // and, reloading the CLI's file here, in every value
    const rt = await createRuntime({ simd: 'baseline' });
    try {
      const float = loadModel(rt, new Uint8Array(readFileSync(model)));
      const o = { model, shape: ['x=1,3,48,96'], threads: 1, simd: 'baseline' as const, json: true };
      const q = await quantizeModel(float, { scheme: 'int8', calibration: [makeFeeds(float, o, 1), makeFeeds(float, o, 2)] });
      const want = Object.values(await q.run(makeFeeds(float, o, 1)))[0].data as Float32Array;
      const back = loadQuantized(float, new Uint8Array(readFileSync(out)));
      const got = Object.values(await back.run(makeFeeds(float, o, 1)))[0].data as Float32Array;
      expect(firstMismatch(got, want)).toBeNull();
      let lo = Infinity, hi = -Infinity, sum = 0;
      for (const v of want) (lo = Math.min(lo, v)), (hi = Math.max(hi, v)), (sum += v);
      expect(rq.outputs[0]).toMatchObject({ head: Array.from(want.slice(0, 8)), min: lo, max: hi, mean: sum / want.length });
      q.dispose();
      back.dispose();
      float.dispose();
    } finally {
      rt.dispose();
    }
    rmSync(out);
    // a symbolic input without --shape is a clear error
    let err: { status: number; stderr: string } | null = null;
    try {
      lowbit('run', model);
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(2);
    expect(err?.stderr).toMatch(/input 'x' has symbolic dims .* give --shape x=/);
    // a --shape for an input the model does not take: refused, as run() refuses such a feed
    err = null;
    try {
      lowbit('run', model, '--shape', 'x=1,3,48,96', '--shape', 'X=1,3,48,96');
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).toBe(2);
    expect(err?.stderr).toMatch(/--shape X: the model has no input 'X' \(its inputs: 'x'\)/);
  }, 300_000);

  it('study prints the format table as JSON', () => {
    const out = JSON.parse(lowbit('study', '--limit', '2', '--json'));
    expect(out.rows).toHaveLength(2);
    expect(Object.keys(out.rows[0].sqnrDb)).toEqual(['int8', 'fp8-e4m3', 'fp8-e5m2', 'fpx-best', 'int4', 'ant4', 'int4-b32']);
    expect(out.summary.tensors).toBe(2);
  });

  it('rejects bad arguments with a clear message and exit code', () => {
    let err: { status: number; stderr: string } | null = null;
    try {
      lowbit('demo', '--lines', '0');
    } catch (e) {
      err = e as { status: number; stderr: string };
    }
    expect(err?.status).not.toBe(0);
    expect(err?.stderr).toMatch(/--lines must be an integer/);
    // int8-sparse's pruning options: a fraction in [0, 1), and only with scheme int8-sparse
    for (const [args, message] of [
      [['--scheme', 'int8-sparse', '--sparsity', '1.5'], /--sparsity must be a fraction/],
      [['--scheme', 'int8', '--prune', 'magnitude'], /--pattern, --sparsity and --prune are int8-sparse's and int4-sparse's options/],
      [['--scheme', 'int8-sparse', '--prune', 'sparsegpt'], /--prune/],
    ] as const) {
      let e: { status: number; stderr: string } | null = null;
      try {
        lowbit('compare', model, '--shape', 'x=1,3,48,96', '--calibrate', '1', '--calibrate-random', '--simd', 'baseline', ...args);
      } catch (x) {
        e = x as { status: number; stderr: string };
      }
      expect(e?.status, args.join(' ')).not.toBe(0);
      expect(e?.stderr).toMatch(message);
    }
  });

  it('the binary exists (npm ci builds packages/cli/dist/)', () => {
    expect(existsSync(bin)).toBe(true);
  });
});
