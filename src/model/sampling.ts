// Choosing the next token from a row of logits: greedy (argmax, the lowest id on ties), or sampling
// with a temperature, top-k and top-p (nucleus) from a seeded generator, so a seed gives the same
// tokens on every run and machine.

import { ArgumentError, ValueRangeError, describe } from '../errors.js';
import { mulberry32 } from '../util/random.js';

export interface SamplingOptions {
  /** divides the logits (default 1); 0 is greedy */
  temperature?: number;
  /** keep only the k most likely tokens (default 0: all) */
  topK?: number;
  /** keep the fewest most likely tokens whose probability sums to at least p (default 1: all) */
  topP?: number;
  /** seed of the generator (default 0) */
  seed?: number;
}

/** The index of the largest of logits[offset … offset + n) (the first of equals). */
export function argmax(logits: ArrayLike<number>, offset: number, n: number): number {
  let best = 0, bv = logits[offset];
  for (let i = 1; i < n; i++) if (logits[offset + i] > bv) [best, bv] = [i, logits[offset + i]];
  return best;
}

export class Sampler {
  private readonly rand: () => number;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly topP: number;

  /** null or undefined: greedy. */
  constructor(options?: SamplingOptions | null) {
    const o = options ?? { temperature: 0 };
    if (typeof o !== 'object') throw new ArgumentError(`sampling: options must be an object, got ${describe(o)}`);
    const num = (name: string, v: unknown, d: number, ok: (x: number) => boolean, want: string) => {
      const x = v ?? d;
      if (typeof x !== 'number' || !ok(x)) throw new ValueRangeError(`sampling: ${name} must be ${want}, got ${describe(x)}`);
      return x;
    };
    this.temperature = num('temperature', o.temperature, 1, (x) => Number.isFinite(x) && x >= 0, 'a finite number >= 0');
    this.topK = num('topK', o.topK, 0, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
    this.topP = num('topP', o.topP, 1, (x) => x > 0 && x <= 1, 'in (0, 1]');
    this.rand = mulberry32(num('seed', o.seed, 0, Number.isSafeInteger, 'an integer'));
  }

  get greedy(): boolean {
    return this.temperature === 0 || this.topK === 1;
  }

  /** The next token from logits[offset … offset + vocab). */
  next(logits: ArrayLike<number>, offset: number, vocab: number): number {
    if (this.greedy) return argmax(logits, offset, vocab);
    const ids = this.candidates(logits, offset, vocab);
    // probabilities of the candidates (descending), cut at top-p
    const top = logits[offset + ids[0]], p = new Float64Array(ids.length);
    let sum = 0;
    for (let i = 0; i < ids.length; i++) sum += p[i] = Math.exp((logits[offset + ids[i]] - top) / this.temperature);
    let kept = ids.length, acc = 0;
    if (this.topP < 1) {
      for (let i = 0; i < ids.length; i++) {
        acc += p[i];
        if (acc >= this.topP * sum) {
          kept = i + 1;
          break;
        }
      }
      sum = acc;
    }
    let u = this.rand() * sum;
    for (let i = 0; i < kept - 1; i++) if ((u -= p[i]) < 0) return ids[i];
    return ids[kept - 1];
  }

  /** Token ids by descending logit (lower id first on ties): the top k, or all when topK is 0. */
  private candidates(logits: ArrayLike<number>, offset: number, vocab: number): number[] {
    const before = (a: number, b: number) => logits[offset + a] > logits[offset + b] || (logits[offset + a] === logits[offset + b] && a < b);
    if (this.topK === 0 || this.topK >= vocab) return Array.from({ length: vocab }, (_, i) => i).sort((a, b) => (before(a, b) ? -1 : 1));
    // insertion into a sorted list of k: O(vocab · k) at worst, k is small
    const top: number[] = [];
    for (let i = 0; i < vocab; i++) {
      if (top.length === this.topK && !before(i, top[top.length - 1])) continue;
      let j = top.length;
      while (j > 0 && before(i, top[j - 1])) j--;
      top.splice(j, 0, i);
      if (top.length > this.topK) top.pop();
    }
    return top;
  }
}
