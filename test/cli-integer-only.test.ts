// `lowbit quantize|compare MODEL --integer-only` (quantizeModel's integerOnly): the report names the
// ops that run integer-only, and the saved file reloads to the bits of the model quantized in place
// with the same calibration inputs. The compiled binary (packages/cli/dist/), as cli.test.ts runs it.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFeeds } from '../packages/cli/src/model-commands.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { SIMD } from './helpers.js';
import { expectSavedMatchesInPlace } from './saved-matches-in-place.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
const model = ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx');
const common = ['--shape', 'x=1,3,48,96', '--scheme', 'int8', '--integer-only', '--calibrate', '2', '--calibrate-random', '--simd', 'baseline'];

describe.skipIf(SIMD !== 'baseline')('lowbit --integer-only', () => {
  it('quantize lists the integer-only ops and saves them: the file reloads to the in-place model\'s bits', async () => {
    const out = join(tmpdir(), `lowbit-io-${process.pid}.safetensors`);
    const saved = JSON.parse(lowbit('quantize', model, ...common, '--out', out, '--json'));
    const ops: Record<string, number> = {};
    for (const o of saved.integerOnly) ops[o.op] = (ops[o.op] ?? 0) + 1;
    expect(ops).toEqual({ 'I-LayerNorm': 5, Shiftmax: 2, ShiftGELU: 2 });
    expect(saved.integerOnly.find((o: { op: string }) => o.op === 'ShiftGELU').kind).toBe('Linear + ShiftGELU');
    try {
      const o = { model, shape: ['x=1,3,48,96'], threads: 1, simd: 'baseline' as const, json: true };
      await expectSavedMatchesInPlace(new Uint8Array(readFileSync(model)), out, (float) => ({ scheme: 'int8', integerOnly: true, calibration: [makeFeeds(float, o, 1), makeFeeds(float, o, 2)] }), (float) => makeFeeds(float, o, 3));
    } finally {
      rmSync(out);
    }
  }, 300_000);

  it('compare prints which ops run integer-only (and none without the flag)', () => {
    const text = lowbit('compare', model, ...common);
    expect(text).toMatch(/^integer-only: 5 I-LayerNorm, 2 Shiftmax, 2 ShiftGELU \(.*attention:p2o\.MatMul\.4: Shiftmax/m);
    const plain = JSON.parse(lowbit('compare', model, ...common.filter((a) => a !== '--integer-only'), '--json'));
    expect(plain.integerOnly).toBeUndefined();
  }, 300_000);
});
