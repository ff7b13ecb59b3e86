// The whole OCR pipeline over a page image: detect the text boxes (PP-OCR detector + DB
// post-processing), cut each box out as a 48 px line, turn upside-down lines (angle classifier,
// optional), read the lines in batches of similar width (CTC recognizer). The three models are
// anything with lowbit Model's run() shape: a lowbit Model in float32 or quantized, or an adapter
// over another runtime (the tests compare with onnxruntime that way).

import { ArgumentError, ShapeError, describe } from '../../errors.js';
import { lineBatches, type BatchOptions } from './batches.js';
import { clsInput, upsideDown } from './classify.js';
import { cropLine, rotateLine180 } from './crop.js';
import { ctcGreedyDecode, type CtcDictionary } from './ctc.js';
import { dbPostprocess, type DbOptions } from './db-postprocess.js';
import { detInput } from './det-input.js';
import type { Quad } from './geometry.js';
import { toModelInput, type OcrImage } from './input.js';
import { greyPixels, pageChannels, type OcrPageImage } from './page.js';

type Feed = { type: 'float32'; data: Float32Array; dims: readonly number[] };
/** What the pipeline feeds one model in one run. */
export type OcrFeeds = Record<string, Feed>;

/** What the pipeline needs of a model: lowbit's Model has this shape. */
export interface OcrModel {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** a lowbit Model's run (or a wrapper's): the outputs used are float32 */
  run(feeds: OcrFeeds): Promise<Record<string, { readonly data: ArrayLike<number | bigint>; readonly dims: readonly number[] }>>;
}

export interface OcrOptions extends DbOptions, BatchOptions {
  /** the detector sees the page with its longer side at most this (PaddleOCR: 960) */
  maxSide?: number;
  /** turn a line when the classifier says 180° with more than this probability (0.9) */
  clsThresh?: number;
  /**
   * the line is cut out with this margin around its box, as a fraction of its height (see cropLine;
   * default 0.2). Measured on page p01: with the boxes as they are (0) the recognizer read 7 of 25
   * lines exactly (it drops the spaces between words), with 0.1 20, with 0.2 25.
   */
  cropMargin?: number;
  /** drop readings whose confidence is below this (PaddleOCR's drop_score: 0.5) */
  dropScore?: number;
}

export interface OcrResult {
  /** the line's text, without leading or trailing spaces */
  text: string;
  /** the recognizer's confidence: mean probability of the characters read */
  confidence: number;
  /** the text box on the page: top-left, top-right, bottom-right, bottom-left corners */
  box: Quad;
  /** the detector's score for the box: mean text probability inside it */
  score: number;
  /** 180 when the angle classifier turned the line */
  angle: 0 | 180;
}

/** Milliseconds spent in each stage of the last read (pass an object to read() to get them). */
export interface OcrTimings {
  detect: number;
  classify: number;
  recognize: number;
  total: number;
  lines: number;
}

export interface Ocr {
  read(image: OcrPageImage, options?: { timings?: OcrTimings }): Promise<OcrResult[]>;
}

export interface OcrModels {
  det: OcrModel;
  /** the angle classifier; without it, no line is turned */
  cls?: OcrModel | null;
  rec: OcrModel;
  dictionary: CtcDictionary;
  options?: OcrOptions;
}

function checkModel(m: unknown, name: string): OcrModel {
  const model = m as OcrModel;
  if (!model || typeof model.run !== 'function' || !Array.isArray(model.inputNames) || !Array.isArray(model.outputNames) || model.inputNames.length === 0 || model.outputNames.length === 0) {
    throw new ArgumentError(`createOcr: ${name} must be a model (loadModel) with inputs and outputs, got ${describe(m)}`);
  }
  return model;
}

async function runOne(model: OcrModel, input: Feed, what: string): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const out = await model.run({ [model.inputNames[0]!]: input });
  const t = out[model.outputNames[0]!];
  if (!t || !(t.data instanceof Float32Array)) throw new ShapeError(`ocr.read: the ${what} gave no float32 output '${model.outputNames[0]}'`);
  return { data: t.data, dims: t.dims };
}

/** An OCR reader over the three models. */
export function createOcr(models: OcrModels): Ocr {
  if (!models || typeof models !== 'object') throw new ArgumentError(`createOcr: expected { det, cls, rec, dictionary }, got ${describe(models)}`);
  const det = checkModel(models.det, 'det');
  const rec = checkModel(models.rec, 'rec');
  const cls = models.cls == null ? null : checkModel(models.cls, 'cls');
  const dict = models.dictionary;
  if (!dict || !Array.isArray(dict.classes)) throw new ArgumentError(`createOcr: dictionary must be a CtcDictionary (parseDictionary), got ${describe(dict)}`);
  const o = models.options ?? {};
  const clsThresh = o.clsThresh ?? 0.9, dropScore = o.dropScore ?? 0.5;
  for (const [name, v] of [['clsThresh', clsThresh], ['dropScore', dropScore]] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ArgumentError(`createOcr: options.${name} must be a number in [0, 1], got ${describe(v)}`);
  }
  lineBatches([], o); // checks the batch options now

  async function read(image: OcrPageImage, readOptions: { timings?: OcrTimings } = {}): Promise<OcrResult[]> {
    pageChannels(image, 'ocr.read: image');
    const t0 = performance.now();
    const input = detInput(image, o.maxSide ?? 960);
    const prob = await runOne(det, input.tensor, 'detector');
    if (prob.data.length !== input.width * input.height) {
      throw new ShapeError(`ocr.read: the detector's output has dims [${prob.dims}], expected [1, 1, ${input.height}, ${input.width}]`);
    }
    const boxes = dbPostprocess(prob.data, input.width, input.height, image.width, image.height, o);
    const t1 = performance.now();

    const grey = greyPixels(image);
    const lines: OcrImage[] = boxes.map((b) => cropLine(grey, image.width, image.height, b.box, o.cropMargin ?? 0.2));
    const turned = new Array<boolean>(lines.length).fill(false);
    if (cls) {
      for (let s = 0; s < lines.length; s += 32) {
        const chunk = lines.slice(s, s + 32);
        const p = await runOne(cls, clsInput(chunk), 'angle classifier');
        upsideDown(p.data, p.dims, clsThresh).forEach((u, i) => {
          if (u) {
            lines[s + i] = rotateLine180(lines[s + i]!);
            turned[s + i] = true;
          }
        });
      }
    }
    const t2 = performance.now();

    const readings = new Array<{ text: string; confidence: number }>(lines.length);
    for (const batch of lineBatches(lines.map((l) => l.width), o)) {
      const group = batch.map((i) => lines[i]!);
      const width = Math.ceil(Math.max(...group.map((l) => l.width)) / 32) * 32; // few distinct shapes: fewer plans
      const p = await runOne(rec, toModelInput(group, { width }), 'recognizer');
      ctcGreedyDecode(p.data, p.dims, dict).forEach((r, k) => (readings[batch[k]!] = r));
    }
    const t3 = performance.now();
    if (readOptions?.timings) Object.assign(readOptions.timings, { detect: t1 - t0, classify: t2 - t1, recognize: t3 - t2, total: t3 - t0, lines: lines.length });

    const out: OcrResult[] = [];
    boxes.forEach((b, i) => {
      const text = readings[i]!.text.trim();
      if (text === '' || readings[i]!.confidence < dropScore) return;
      out.push({ text, confidence: readings[i]!.confidence, box: b.box, score: b.score, angle: turned[i] ? 180 : 0 });
    });
    return out;
  }
  return { read };
}
