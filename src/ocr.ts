// The `lowbit/ocr` entry: full OCR of page images (createOcr: PP-OCRv4 detector, angle classifier and
// recognizer), and the parts: what it takes to run the PP-OCRv4 text recognizer (or another CTC
// recognizer with a PaddleOCR dictionary) on your own images with lowbit: text lines as 8-bit grey
// pixels → the model's input tensor, the model's output → text, and the scores to compare readings.
// The rule: pure functions over pixels, strings and tensors, no file, PNG or network access (so it
// bundles for browsers); reading image files and finding the model are the caller's (the lowbit CLI
// does both: packages/cli/src/ocr-lines.ts, ocr-assets.ts).

export { OCR_LINE_HEIGHT, toModelInput, type OcrImage, type OcrModelInput } from './model/ocr/input.js';
export {
  makeDictionary, parseDictionary, encodeText, ctcGreedyDecode, editDistance, characterErrorRate, exactMatch, scoreReadings,
  type CtcDictionary, type CtcReading, type OcrScore,
} from './model/ocr/ctc.js';

// The whole pipeline over a page: detect (DB post-processing), cut the lines out, turn upside-down
// lines (angle classifier), read them in batches. Its parts are exported for callers who run a stage
// on their own.
export { createOcr, type Ocr, type OcrFeeds, type OcrModel, type OcrModels, type OcrOptions, type OcrResult, type OcrTimings } from './model/ocr/pipeline.js';
export { pageChannels, greyPixels, type OcrPageImage } from './model/ocr/page.js';
export { detInput, detInputSize, DET_MEAN, DET_STD, type DetInput } from './model/ocr/det-input.js';
export { dbPostprocess, unclip, boxScore, type DbOptions, type DetectedBox } from './model/ocr/db-postprocess.js';
export { minAreaRect, orderBox, quadIoU, sortBoxes, polygonArea, type Point, type Quad } from './model/ocr/geometry.js';
export { cropLine, rotateLine180, boxSize } from './model/ocr/crop.js';
export { clsInput, upsideDown, CLS_WIDTH } from './model/ocr/classify.js';
export { lineBatches, type BatchOptions } from './model/ocr/batches.js';
export { matchBoxes, scorePage, type PageScore } from './model/ocr/score.js';
export { recordingModel } from './model/ocr/recording.js';
