// The format table: every weight format lowbit quantizes to, runs, saves and reports. Add a format
// here (docs/adding-a-format.md); nothing else lists them.

import { ArgumentError, describe } from '../errors.js';
import { ant4Format } from './ant4.js';
import type { WeightFormat } from './format.js';
import { fp8Format } from './fp8.js';
import { fpxWeightFormat } from './fpx.js';
import { int4Format } from './int4.js';
import { int8Format } from './int8.js';
import { int8DynamicFormat } from './int8-dynamic.js';
import { int8OutlierFormat } from './int8-outlier.js';
import { int8SparseFormat } from './int8-sparse.js';
import { int4SparseFormat } from './int4-sparse.js';
import { nf4Format } from './nf4.js';

/** Every weight format, in the order reports list them. */
export const WEIGHT_FORMATS: readonly WeightFormat<any>[] = Object.freeze([int8Format, int4Format, fp8Format, ant4Format, nf4Format, fpxWeightFormat, int8OutlierFormat, int8SparseFormat, int4SparseFormat, int8DynamicFormat]); // eslint-disable-line @typescript-eslint/no-explicit-any

/** Every format's name. */
export const FORMAT_NAMES: readonly string[] = Object.freeze(WEIGHT_FORMATS.map((f) => f.name));

/** The format of a name, or a typed error naming `argument` and the names there are. */
export function weightFormat(name: unknown, argument = 'scheme'): WeightFormat<unknown> {
  const f = WEIGHT_FORMATS.find((x) => x.name === name);
  if (!f) throw new ArgumentError(`${argument}: expected one of ${FORMAT_NAMES.map((n) => `'${n}'`).join(', ')}, got ${describe(name)}`);
  return f;
}

/** The format of a name, or undefined. */
export function findFormat(name: string): WeightFormat<unknown> | undefined {
  return WEIGHT_FORMATS.find((x) => x.name === name);
}
