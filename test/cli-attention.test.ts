// `lowbit quantize|compare MODEL --attention int8` (quantizeModel's attention option): the report names
// the attention nodes that run in int8, the saved file reloads to the bits of the model quantized in
// place with the same calibration inputs, and a value other than float32/int8 is refused. A one-layer
// encoder with com.microsoft MultiHeadAttention (test/ms-encoder-model.ts); the compiled binary
// (packages/cli/dist/), as cli.test.ts runs it.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelInput } from '../src/index.js';
import { SIMD } from './helpers.js';
import { expectSavedMatchesInPlace } from './saved-matches-in-place.js';
import { B, D, S, encoder } from './ms-encoder-model.js';

const bin = new URL('../packages/cli/dist/main.js', import.meta.url).pathname;
const lowbit = (...args: string[]) => execFileSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'lowbit-cli-attention-'));
const model = join(dir, 'encoder.onnx');
const bytes = encoder(1).build();
writeFileSync(model, bytes);
// calibration inputs from files: x normal-ish values, the mask all ones
const x = Array.from({ length: B * S * D }, (_, i) => Math.sin(i * 0.37) * 1.5);
writeFileSync(join(dir, 'x.json'), JSON.stringify({ dims: [B, S, D], data: x }));
writeFileSync(join(dir, 'mask.json'), JSON.stringify({ dims: [B, S], data: new Array(B * S).fill(1) }));
// --every-layer: the int8 shape rule would keep this small encoder's layers float32 (nothing to save)
const inputs = ['--input', `x=${join(dir, 'x.json')}`, '--input', `mask=${join(dir, 'mask.json')}`, '--simd', 'baseline', '--every-layer'];
const feeds = (): Record<string, ModelInput> => ({ x: { type: 'float32', data: Float32Array.from(x), dims: [B, S, D] }, mask: { type: 'int32', data: new Array(B * S).fill(1), dims: [B, S] } });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(SIMD !== 'baseline')('lowbit --attention', () => {
  it('quantize names the int8 attention node and saves it: the file reloads to the in-place model\'s bits', async () => {
    const out = join(dir, 'q.safetensors');
    const saved = JSON.parse(lowbit('quantize', model, '--scheme', 'int8', '--attention', 'int8', ...inputs, '--out', out, '--json'));
    expect(saved.attention).toEqual([{ node: 'l0_mha', kind: 'MultiHeadAttention (int8)' }]);
    await expectSavedMatchesInPlace(bytes, out, () => ({ scheme: 'int8', attention: 'int8', speed: 'off', calibration: [feeds()] }), feeds);
  }, 120_000);

  it('compare lists the int8 attention node (and none without the flag)', () => {
    const text = lowbit('compare', model, '--scheme', 'int8', '--attention', 'int8', ...inputs);
    expect(text).toMatch(/^int8 attention: 1 node\(s\) \(l0_mha: MultiHeadAttention \(int8\)\)$/m);
    const plain = JSON.parse(lowbit('compare', model, '--scheme', 'int8', ...inputs, '--json'));
    expect(plain.attention).toBeUndefined();
  }, 120_000);

  it('refuses a value other than float32 or int8, naming the flag', () => {
    const r = spawnSync(process.execPath, [bin, 'quantize', model, '--attention', 'int4', ...inputs, '--out', join(dir, 'never.safetensors')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--attention <kind>.*int4.*float32, int8/s);
  }, 60_000);
});
