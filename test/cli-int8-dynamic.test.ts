// The CLI with scheme int8-dynamic: quantize and compare take it without --calibrate or
// --calibrate-random (it needs no calibration), and the saved file reloads to the bits of the model
// quantized in place without calibration. Any other scheme still refuses to calibrate on noise.

import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeFeeds } from '../packages/cli/src/model-commands.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { expectSavedMatchesInPlace } from './saved-matches-in-place.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });

describe('lowbit quantize and compare --scheme int8-dynamic', () => {
  const model = ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx');

  it('need no calibration flags; the saved file reloads to the in-place model\'s bits; int8 still refuses noise', async () => {
    const shape = ['--shape', 'x=1,3,48,96', '--simd', 'baseline', '--json'];
    const cmp = JSON.parse(lowbit('compare', model, '--scheme', 'int8-dynamic', ...shape));
    const schemes = cmp.layers.map((l: { scheme: string }) => l.scheme);
    expect(schemes.filter((s: string) => s.startsWith('int8-dynamic')).length).toBeGreaterThan(20);
    expect(cmp.weightBytes.quantized).toBeLessThan(cmp.weightBytes.float32 / 3);
    const out = join(tmpdir(), `lowbit-q8d-${process.pid}.safetensors`);
    try {
      const saved = JSON.parse(lowbit('quantize', model, '--scheme', 'int8-dynamic', '--out', out, ...shape));
      expect(saved.layers['int8-dynamic']).toBeGreaterThan(20);
      const o = { model, shape: ['x=1,3,48,96'], threads: 1, simd: 'baseline' as const, json: true };
      await expectSavedMatchesInPlace(new Uint8Array(readFileSync(model)), out, () => ({ scheme: 'int8-dynamic' }), (float) => makeFeeds(float, o, 1));
    } finally {
      rmSync(out, { force: true });
    }
    expect(() => lowbit('compare', model, '--scheme', 'int8', ...shape)).toThrow(/refusing to calibrate on random noise/);
  }, 300_000);
});
