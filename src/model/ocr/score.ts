// Scores of a page's OCR against its ground truth: detections matched one-to-one to the true lines
// at IoU ≥ minIoU (greedily, best overlap first), detection precision and recall, and each true
// line's reading (the text of its matched detection, '' when none) for exact-line accuracy and CER.

import { ArgumentError, describe } from '../../errors.js';
import { characterErrorRate } from './ctc.js';
import { quadIoU, type Point } from './geometry.js';

export interface PageScore {
  truthLines: number;
  detected: number;
  /** detections matched to a true line */
  matched: number;
  precision: number;
  recall: number;
  /** true lines read exactly (matched, and the text equal) */
  exactLines: number;
  /** sum over the true lines of their character error rate (unmatched lines count 1) */
  cerSum: number;
  /** per true line: the index of its detection, or −1 */
  match: number[];
}

/** Matches `detected` boxes to `truth` boxes one-to-one (greedy by IoU), keeping pairs with IoU ≥ minIoU. */
export function matchBoxes(detected: readonly (readonly Point[])[], truth: readonly (readonly Point[])[], minIoU = 0.5): number[] {
  if (!Array.isArray(detected) || !Array.isArray(truth)) throw new ArgumentError(`matchBoxes: detected and truth must be arrays of boxes, got ${describe(detected)} and ${describe(truth)}`);
  const pairs: [number, number, number][] = [];
  detected.forEach((d, i) => truth.forEach((t, j) => {
    const iou = quadIoU(d, t);
    if (iou >= minIoU) pairs.push([iou, i, j]);
  }));
  pairs.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
  const match = new Array<number>(truth.length).fill(-1);
  const used = new Set<number>();
  for (const [, i, j] of pairs) {
    if (match[j] !== -1 || used.has(i)) continue;
    match[j] = i;
    used.add(i);
  }
  return match;
}

/** Scores detections { box, text } against true lines { box, text }. */
export function scorePage(
  detected: readonly { box: readonly Point[]; text: string }[], truth: readonly { box: readonly Point[]; text: string }[], minIoU = 0.5,
): PageScore {
  const match = matchBoxes(detected.map((d) => d.box), truth.map((t) => t.box), minIoU);
  let matched = 0, exactLines = 0, cerSum = 0;
  truth.forEach((t, j) => {
    const text = match[j]! >= 0 ? detected[match[j]!]!.text : '';
    if (match[j]! >= 0) matched++;
    if (match[j]! >= 0 && text === t.text) exactLines++;
    cerSum += Math.min(1, characterErrorRate(t.text, text));
  });
  return {
    truthLines: truth.length, detected: detected.length, matched,
    precision: detected.length > 0 ? matched / detected.length : 1, recall: truth.length > 0 ? matched / truth.length : 1,
    exactLines, cerSum, match,
  };
}
