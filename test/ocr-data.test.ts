// lowbit's OCR test lines (packages/cli/data/ocr-lines/, scripts/render-ocr-lines.sh, read by the CLI
// package), the recognizer input built from them, CTC greedy decoding and the scores (CER, exact
// match) of lowbit/ocr. Ends with a smoke test: the float PP-OCRv4 recognizer in onnxruntime-web reads
// a few of the lines.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web';
import pngjs from 'pngjs';
import { ArgumentError, ShapeError } from '../src/errors.js';
import {
  OCR_LINE_HEIGHT,
  characterErrorRate,
  ctcGreedyDecode,
  editDistance,
  encodeText,
  exactMatch,
  makeDictionary,
  parseDictionary,
  scoreReadings,
  toModelInput,
} from '../src/ocr.js';
import { decodePngGray, defaultOcrLinesDir, loadOcrLines, type OcrLine } from '../packages/cli/src/ocr-lines.js';
import { loadDictionary, ocrModelAsset } from '../packages/cli/src/ocr-assets.js';

const lines = loadOcrLines();
const dict = loadDictionary();

describe('OCR test lines', () => {
  it('resolves the data directory from the package root', () => {
    expect(path.basename(defaultOcrLinesDir().replace(/[\\/]$/, ''))).toBe('ocr-lines');
    expect(fs.existsSync(path.join(defaultOcrLinesDir(), 'labels.tsv'))).toBe(true);
  });

  it('has at least 200 distinct labelled lines in at least two fonts', () => {
    expect(lines.length).toBeGreaterThanOrEqual(200);
    expect(new Set(lines.map((l) => l.label)).size).toBe(lines.length);
    const fonts = new Map<string, number>();
    for (const l of lines) fonts.set(l.font, (fonts.get(l.font) ?? 0) + 1);
    expect(fonts.size).toBeGreaterThanOrEqual(2);
    for (const n of fonts.values()) expect(n).toBeGreaterThanOrEqual(40);
    for (const l of lines) {
      expect(l.file).toMatch(/^\d{4}\.png$/);
      expect(l.label.length).toBeGreaterThanOrEqual(3);
      expect(l.label.length).toBeLessThanOrEqual(30);
      expect(l.label).toBe(l.label.trim());
      expect(l.label).not.toMatch(/ {2}/);
    }
  });

  it('uses only characters of the recognizer dictionary (and plain spaces)', () => {
    expect(dict.classes.length).toBe(6625);
    for (const l of lines) {
      expect(() => encodeText(l.label, dict), l.file).not.toThrow();
      expect(encodeText(l.label, dict)).toHaveLength([...l.label].length);
    }
    const chars = new Set(lines.flatMap((l) => [...l.label]));
    // the mix the brief asks for: digits, letters of both cases, punctuation
    for (const c of '0123456789aA .,:-%()$@/#') expect(chars.has(c), c).toBe(true);
  });

  it('decodes every PNG to 48 rows of black ink on white, cropped to the ink', () => {
    for (const l of lines) {
      expect(l.pixels).toBeInstanceOf(Uint8Array);
      expect(l.pixels.length).toBe(OCR_LINE_HEIGHT * l.width);
      expect(l.width).toBeGreaterThan(OCR_LINE_HEIGHT / 2);
      let min = 255;
      for (const p of l.pixels) min = Math.min(min, p);
      expect(min, l.file).toBeLessThan(64); // dark ink
      // white background: the corners, and no blank margin of 8 px or more at either end
      expect(l.pixels[0]).toBe(255);
      expect(l.pixels[l.width - 1]).toBe(255);
      const inkCol = (x: number) => {
        for (let y = 0; y < OCR_LINE_HEIGHT; y++) if (l.pixels[y * l.width + x]! < 200) return true;
        return false;
      };
      let left = 0;
      while (!inkCol(left)) left++;
      let right = 0;
      while (!inkCol(l.width - 1 - right)) right++;
      expect(left, l.file).toBeLessThan(8);
      expect(right, l.file).toBeLessThan(8);
    }
  });

  it('reports a missing directory, a malformed labels file and a wrong image height', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lowbit-ocr-'));
    try {
      expect(() => loadOcrLines(path.join(tmp, 'nope'))).toThrow(ArgumentError);
      fs.writeFileSync(path.join(tmp, 'labels.tsv'), 'a.png\tonly two fields\n');
      expect(() => loadOcrLines(tmp)).toThrow(/file<TAB>label<TAB>font/);
      fs.writeFileSync(path.join(tmp, 'labels.tsv'), 'a.png\thello\tFont\n');
      expect(() => loadOcrLines(tmp)).toThrow(/cannot read image/);
      fs.writeFileSync(path.join(tmp, 'a.png'), 'not a png');
      expect(() => loadOcrLines(tmp)).toThrow(ArgumentError);
      const short = new pngjs.PNG({ width: 10, height: 20 });
      short.data.fill(255);
      fs.writeFileSync(path.join(tmp, 'a.png'), pngjs.PNG.sync.write(short));
      expect(() => loadOcrLines(tmp)).toThrow(ShapeError);
      expect(() => loadOcrLines(tmp)).toThrow(/10×20, expected a height of 48/);
      fs.writeFileSync(path.join(tmp, 'labels.tsv'), 'a.png\thello\tFont\na.png\tagain\tFont\n');
      expect(() => loadOcrLines(tmp)).toThrow(/repeats a.png/);
      fs.writeFileSync(path.join(tmp, 'labels.tsv'), '');
      expect(() => loadOcrLines(tmp)).toThrow(/no lines/);
      expect(() => loadOcrLines(42 as unknown as string)).toThrow(ArgumentError);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('decodes grey PNGs exactly (first line against its own bytes)', () => {
    const l = lines[0]!;
    const img = decodePngGray(fs.readFileSync(path.join(defaultOcrLinesDir(), l.file)));
    expect(img.height).toBe(48);
    expect(img.width).toBe(l.width);
    expect(Array.from(img.pixels)).toEqual(Array.from(l.pixels));
  });
});

describe('toModelInput', () => {
  const img = (width: number, fill: (x: number, y: number) => number) => {
    const pixels = new Uint8Array(48 * width);
    for (let y = 0; y < 48; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = fill(x, y);
    return { width, pixels };
  };

  it('normalises to (x/255 - 0.5)/0.5 on all three channels', () => {
    const a = img(4, (x) => [0, 255, 128, 51][x]!);
    const t = toModelInput([a]);
    expect(t.type).toBe('float32');
    expect(t.dims).toEqual([1, 3, 48, 4]);
    expect(t.data.length).toBe(3 * 48 * 4);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 48; y++) {
        const row = c * 48 * 4 + y * 4;
        expect(t.data[row]).toBe(-1);
        expect(t.data[row + 1]).toBe(1);
        expect(t.data[row + 2]).toBeCloseTo(128 / 127.5 - 1, 6);
        expect(t.data[row + 3]).toBeCloseTo(51 / 127.5 - 1, 6);
      }
    }
  });

  it('pads a batch on the right to the widest line (or options.width) with 0, mid-grey', () => {
    const a = img(3, () => 255);
    const b = img(5, (x, y) => (x + y) % 256);
    const t = toModelInput([a, b]);
    expect(t.dims).toEqual([2, 3, 48, 5]);
    const at = (n: number, c: number, y: number, x: number) => t.data[((n * 3 + c) * 48 + y) * 5 + x];
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 48; y++) {
        for (let x = 0; x < 3; x++) expect(at(0, c, y, x)).toBe(1);
        expect(at(0, c, y, 3)).toBe(0);
        expect(at(0, c, y, 4)).toBe(0);
        for (let x = 0; x < 5; x++) expect(at(1, c, y, x)).toBeCloseTo(((x + y) % 256) / 127.5 - 1, 6);
      }
    }
    const wide = toModelInput([a], { width: 16 });
    expect(wide.dims).toEqual([1, 3, 48, 16]);
    expect(wide.data[3]).toBe(0);
    expect(wide.data[15]).toBe(0);
    // the real lines batch too
    const some = lines.slice(0, 5);
    const real = toModelInput(some);
    expect(real.dims).toEqual([5, 3, 48, Math.max(...some.map((l) => l.width))]);
  });

  it('rejects bad lines and widths with clear errors', () => {
    expect(() => toModelInput([])).toThrow(ArgumentError);
    expect(() => toModelInput('x' as unknown as OcrLine[])).toThrow(ArgumentError);
    expect(() => toModelInput([{ width: 4, pixels: new Uint8Array(48 * 3) }])).toThrow(ShapeError);
    expect(() => toModelInput([{ width: 4, pixels: new Uint8Array(48 * 3) }])).toThrow(/144 values, expected 48×4 = 192/);
    expect(() => toModelInput([{ width: 0, pixels: new Uint8Array(0) }])).toThrow(ShapeError);
    expect(() => toModelInput([{ width: 1.5, pixels: new Uint8Array(72) }])).toThrow(ShapeError);
    expect(() => toModelInput([{ width: 2, pixels: new Float32Array(96) as unknown as Uint8Array }])).toThrow(ArgumentError);
    expect(() => toModelInput([img(8, () => 0)], { width: 7 })).toThrow(/narrower than the widest line \(8 px\)/);
    expect(() => toModelInput([img(8, () => 0)], { width: 0 })).toThrow(ArgumentError);
    expect(() => toModelInput([img(8, () => 0)], { width: 9.5 })).toThrow(ArgumentError);
  });
});

describe('CTC greedy decoding', () => {
  // classes: 0 blank, 1 'a', 2 'b', 3 'c', 4 space
  const small = makeDictionary(['a', 'b', 'c']);
  const probsOf = (paths: number[][], C = 5, hi = 0.9) => {
    const N = paths.length;
    const T = paths[0]!.length;
    const data = new Float32Array(N * T * C).fill((1 - hi) / (C - 1));
    paths.forEach((p, n) => p.forEach((c, t) => (data[(n * T + t) * C + c] = hi)));
    return { data, dims: [N, T, C] as [number, number, number] };
  };

  it('builds the class table: blank, the dictionary lines, then a space', () => {
    expect(small.classes).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(small.index.get('b')).toBe(2);
    expect(small.index.get(' ')).toBe(4);
    expect(dict.classes[0]).toBe('');
    expect(dict.classes[dict.classes.length - 1]).toBe(' ');
    expect(dict.classes.length).toBe(6625);
    expect(encodeText('a b', small)).toEqual([1, 4, 2]);
    expect(() => encodeText('abd', small)).toThrow(/"d"/);
  });

  it('collapses repeats, drops blanks, keeps a repeat split by a blank, reads the last class as a space', () => {
    const { data, dims } = probsOf([
      [1, 1, 0, 1, 2, 2, 4, 3, 0], // "aab c"
      [0, 0, 0, 0, 0, 0, 0, 0, 0], // nothing
      [4, 1, 4, 4, 0, 4, 2, 3, 3], // " a  bc"
    ]);
    const r = ctcGreedyDecode(data, dims, small);
    expect(r.map((x) => x.text)).toEqual(['aab c', '', ' a  bc']);
    expect(r[0]!.confidence).toBeCloseTo(0.9, 6);
    expect(r[1]!.confidence).toBe(0);
  });

  it('takes the arg max per step and averages the kept probabilities', () => {
    // T = 3, C = 5: step 0 'c' (0.5), step 1 'c' again (0.7, collapsed), step 2 'a' (0.4)
    const data = new Float32Array([
      0.1, 0.2, 0.1, 0.5, 0.1,
      0.1, 0.1, 0.0, 0.7, 0.1,
      0.3, 0.4, 0.1, 0.1, 0.1,
    ]);
    const [r] = ctcGreedyDecode(data, [1, 3, 5], small);
    expect(r!.text).toBe('ca');
    expect(r!.confidence).toBeCloseTo((0.5 + 0.4) / 2, 6);
  });

  it('reads multi-character dictionary entries and the real dictionary', () => {
    const real = new Float32Array(3 * 6625);
    const ids = encodeText('A1', dict);
    real[ids[0]!] = 1;
    real[6625 + 6624] = 1; // space
    real[2 * 6625 + ids[1]!] = 1;
    expect(ctcGreedyDecode(real, [1, 3, 6625], dict)[0]!.text).toBe('A 1');
  });

  it('rejects bad tensors with clear errors', () => {
    const { data, dims } = probsOf([[1, 2]]);
    expect(() => ctcGreedyDecode(Array.from(data) as unknown as Float32Array, dims, small)).toThrow(ArgumentError);
    expect(() => ctcGreedyDecode(data, [1, 2], small)).toThrow(ShapeError);
    expect(() => ctcGreedyDecode(data, [1, 3, 5], small)).toThrow(/need 15 values, probs has 10/);
    expect(() => ctcGreedyDecode(data, [2, 1, 5], dict)).toThrow(/5 classes in the output but the dictionary has 6625/);
    expect(() => ctcGreedyDecode(data, [1, 2, 5], undefined as never)).toThrow(ArgumentError);
    expect(() => makeDictionary([])).toThrow(ArgumentError);
    expect(() => makeDictionary(['a', ''])).toThrow(ArgumentError);
    expect(() => loadDictionary('/nonexistent/keys.txt')).toThrow(ArgumentError);
    expect(() => parseDictionary('')).toThrow(ArgumentError);
    expect(() => parseDictionary('a\n\nb', 'keys.txt')).toThrow(/keys.txt line 2 is empty/);
    expect(() => parseDictionary(42 as unknown as string)).toThrow(ArgumentError);
  });

  it('parses a dictionary from its text (CRLF or LF, a final newline optional), as the file loader does', () => {
    expect(parseDictionary('a\r\nb\n').classes).toEqual(['', 'a', 'b', ' ']);
    expect(parseDictionary('a\nb').classes).toEqual(['', 'a', 'b', ' ']);
    expect(parseDictionary(fs.readFileSync(ocrModelAsset('ppocr_keys_v1.txt'), 'utf8')).classes).toEqual(dict.classes);
  });
});

describe('scores', () => {
  it('computes edit distance and CER on known pairs', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('flaw', 'lawn')).toBe(2);
    expect(characterErrorRate('hello', 'hello')).toBe(0);
    expect(characterErrorRate('hello', 'helo')).toBeCloseTo(0.2, 12);
    expect(characterErrorRate('up to 30%', 'upto 30%')).toBeCloseTo(1 / 9, 12);
    expect(characterErrorRate('1,408,320', '1,408,')).toBeCloseTo(3 / 9, 12);
    expect(characterErrorRate('ab', 'xyzw')).toBe(2);
    expect(characterErrorRate('', '')).toBe(0);
    expect(characterErrorRate('', 'ab')).toBe(2);
    expect(characterErrorRate('€5', '$5')).toBe(0.5); // code points, not UTF-16 units
  });

  it('exact match is strict and the summary averages per line', () => {
    expect(exactMatch('Total: 42', 'Total: 42')).toBe(true);
    expect(exactMatch('Total: 42', ' Total: 42')).toBe(false);
    expect(exactMatch('END', 'end')).toBe(false);
    const s = scoreReadings(['abc', 'abcd', 'xy'], ['abc', 'abed', 'x']);
    expect(s.count).toBe(3);
    expect(s.exactMatches).toBe(1);
    expect(s.accuracy).toBeCloseTo(1 / 3, 12);
    expect(s.meanCer).toBeCloseTo((0 + 0.25 + 0.5) / 3, 12);
  });

  it('rejects non-strings and mismatched lists', () => {
    expect(() => characterErrorRate(1 as unknown as string, 'a')).toThrow(ArgumentError);
    expect(() => exactMatch('a', null as unknown as string)).toThrow(ArgumentError);
    expect(() => editDistance(undefined as unknown as string, 'a')).toThrow(ArgumentError);
    expect(() => scoreReadings(['a'], ['a', 'b'])).toThrow(ArgumentError);
    expect(() => scoreReadings([], [])).toThrow(ArgumentError);
  });
});

describe('float recognizer smoke test (onnxruntime-web)', () => {
  it('reads a sample of the lines (one per 16) almost all exactly', async () => {
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(fs.readFileSync(ocrModelAsset('ch_PP-OCRv4_rec_infer.onnx')));
    const sample = lines.filter((_, i) => i % 16 === 0);
    const hyps: string[] = [];
    for (const l of sample) {
      const input = toModelInput([l]);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input.data, input.dims) });
      const o = out[session.outputNames[0]!]!;
      // T = floor((W + 3) / 8) time steps (not ceil(W / 8): 13 px give 2, 12 px give 1)
      expect(o.dims).toEqual([1, Math.floor((l.width + 3) / 8), 6625]);
      hyps.push(ctcGreedyDecode(o.data as Float32Array, o.dims, dict)[0]!.text);
    }
    const s = scoreReadings(sample.map((l) => l.label), hyps);
    expect(s.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(s.meanCer).toBeLessThan(0.03);
    await session.release();
  });
});
