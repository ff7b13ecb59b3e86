// The `lowbit/ocr` entry: what it takes to run the PP-OCRv4 text recognizer (or another CTC
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
