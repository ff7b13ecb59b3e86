// What run() takes: one tensor per graph input, checked against the input's declared type and
// dims, and converted to the host form lowbit computes on (integers as Float64Array, see graph.ts).

import { ArgumentError, DTypeError, ShapeError, ValueRangeError, describe } from '../errors.js';
import { elementCount, hostArray, type GraphInput, type HostData } from './graph.js';

/**
 * One input of Model.run(), shaped like onnxruntime's tensors ({ type, data, dims }), so an
 * ort.Tensor of these types can be passed as it is. Integer data may also be plain numbers, and int64
 * a Float64Array of integers. lowbit holds integers as doubles: an int64 value beyond ±(2^53 − 1) is
 * refused (a ValueRangeError), never rounded.
 */
export type ModelInput =
  | { readonly type: 'float32'; readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly type: 'int64'; readonly data: BigInt64Array | Float64Array | readonly number[]; readonly dims: readonly number[] }
  | { readonly type: 'int32'; readonly data: Int32Array | readonly number[]; readonly dims: readonly number[] }
  | { readonly type: 'int8'; readonly data: Int8Array | readonly number[]; readonly dims: readonly number[] }
  | { readonly type: 'uint8'; readonly data: Uint8Array | readonly number[]; readonly dims: readonly number[] }
  | { readonly type: 'bool'; readonly data: Uint8Array | readonly (boolean | number)[]; readonly dims: readonly number[] };

export type ModelInputs = Readonly<Record<string, ModelInput>>;

export interface Feed {
  dims: number[];
  data: HostData;
}

/** Integer ranges of the input types (int64: the exact float64 range). */
const RANGE: Record<string, [number, number]> = {
  int64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
};

/** The typed arrays each input type accepts besides plain arrays. */
const TYPED: Record<string, readonly (new (n: number) => ArrayLike<number | bigint>)[]> = {
  float32: [Float32Array],
  int64: [BigInt64Array, Float64Array],
  int32: [Int32Array],
  int8: [Int8Array],
  uint8: [Uint8Array],
  bool: [Uint8Array],
};

/**
 * Checks `feeds` against the graph's inputs; the host data of each, by name. A name that is not one
 * of `known` (the graph's inputs) is an ArgumentError, as in onnxruntime: a misspelt optional input
 * would otherwise be dropped without a word. `carried`: inputs the arena may already hold (checkFeed).
 */
export function checkFeeds(inputs: readonly GraphInput[], feeds: unknown, verb = 'run', known: readonly string[] = inputs.map((i) => i.name), carried?: ReadonlySet<string>): Map<string, Feed> {
  const names = () => known.map((n) => `'${n}'`).join(', ');
  if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds)) {
    throw new ArgumentError(`${verb}: feeds must be an object of input tensors by name (the model takes ${names()}), got ${describe(feeds)}`);
  }
  for (const name of Object.keys(feeds)) {
    if (!known.includes(name)) throw new ArgumentError(`${verb}: '${name}' is not an input of the model (the model takes ${names()})`);
  }
  const out = new Map<string, Feed>();
  for (const gi of inputs) {
    const t = (feeds as Record<string, unknown>)[gi.name];
    if (t === undefined) throw new ArgumentError(`${verb}: input '${gi.name}' is missing (the model takes ${names()})`);
    out.set(gi.name, checkFeed(gi, t, verb, carried?.has(gi.name) ?? false));
  }
  return out;
}

/** how errors name a feed: made only for an error (a decode step checks ~30 feeds per token) */
const label = (verb: string, gi: GraphInput) => `${verb}: input '${gi.name}'`;

/** `carried`: a float32 input the arena may already hold (RunOptions.carry): its data may be empty, its dims still count */
function checkFeed(gi: GraphInput, t: unknown, verb: string, carried = false): Feed {
  if (t === null || typeof t !== 'object') throw new ArgumentError(`${label(verb, gi)}: expected a tensor { type, data, dims }, got ${describe(t)}`);
  const { type, data, dims } = t as { type?: unknown; data?: unknown; dims?: unknown };
  if (type !== gi.type) {
    const hint = gi.type === 'float32' ? '' : ` (lowbit takes float32, int64, int32, int8, uint8 and bool inputs, as the model declares them)`;
    throw new DTypeError(`${label(verb, gi)} is declared ${gi.type}, got a tensor of type ${describe(type)}${hint}`);
  }
  if (!Array.isArray(dims) && !ArrayBuffer.isView(dims)) throw new ShapeError(`${label(verb, gi)} needs dims, got ${describe(dims)}`);
  const d = Array.from(dims as ArrayLike<number>);
  for (let i = 0; i < d.length; i++) if (!Number.isSafeInteger(d[i]) || d[i] < 0) throw new ShapeError(`${label(verb, gi)} has dims [${d}], expected non-negative integers`);
  const accepted = TYPED[gi.type];
  let typedOk = false;
  for (let i = 0; i < accepted.length; i++) if (data instanceof accepted[i]) typedOk = true;
  // float32 keeps the strict rule: its data is copied straight into wasm memory
  if (!typedOk && (gi.type === 'float32' || !Array.isArray(data))) {
    throw new DTypeError(`${label(verb, gi)}: type ${gi.type} needs data as ${TYPED[gi.type].map((C) => C.name).join(' or ')}${gi.type === 'float32' ? '' : ' or an array of numbers'}, got ${describe(data)}`);
  }
  const values = data as ArrayLike<number | bigint | boolean>;
  const n = elementCount(d);
  if (values.length !== n && !(carried && gi.type === 'float32' && values.length === 0)) throw new ShapeError(`${label(verb, gi)} has ${values.length} values, dims [${d}] need ${n}`);
  if (gi.type === 'float32') return { dims: d, data: values as Float32Array };
  const host = hostArray(gi.type, n);
  const [lo, hi] = RANGE[gi.type];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const x = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' && gi.type === 'bool' ? +v : v;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) {
      const why = gi.type === 'int64' && typeof x === 'number' && Number.isInteger(x) ? ': lowbit holds int64 exactly only within ±(2^53 − 1), and does not round' : '';
      throw new ValueRangeError(`${label(verb, gi)}: value ${describe(v)} at index ${i} is not ${gi.type === 'bool' ? 'a bool (0, 1, false, true)' : `an ${gi.type} (an integer in ${lo}…${hi})`}${why}`);
    }
    host[i] = x;
  }
  return { dims: d, data: host };
}
