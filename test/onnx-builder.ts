// A small builder of ONNX ModelProto bytes for tests (onnx-proto): graph inputs and outputs,
// initializers, Constant nodes, nodes with attributes, opset. Also a runner for the
// onnxruntime-web oracle on the same bytes.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import onnxproto from 'onnx-proto';

const { onnx } = onnxproto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

ort.env.wasm.numThreads = 1;

export type DType = 'float32' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool' | 'float16' | 'double';

export const ONNX_TYPE: Record<DType, number> = {
  float32: T.FLOAT, int64: T.INT64, int32: T.INT32, int8: T.INT8, uint8: T.UINT8, bool: T.BOOL, float16: T.FLOAT16, double: T.DOUBLE,
};

/** Marks a number as a FLOAT attribute (a JS number can't tell 2 from 2.0). */
export class F {
  constructor(readonly v: number | number[]) {}
}
export const f = (v: number | number[]) => new F(v);

export interface TensorSpec {
  dims: number[];
  data: ArrayLike<number>;
  type?: DType;
}

/** Marks a builder as a GRAPH attribute (If's branches, Loop's body): its nodes, inputs and outputs. */
export class G {
  constructor(readonly b: OnnxBuilder) {}
}
export const g = (b: OnnxBuilder) => new G(b);

/** int attribute, float attribute (f(x) or a name listed in FLOAT_ATTRS), string, ints, floats, tensor, graph. */
export type AttrSpec = number | string | number[] | F | TensorSpec | G;

// attributes ONNX declares as float
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'min', 'max', 'bias', 'lambd', 'gamma', 'value_float', 'value_floats']);

export function tensorProto(name: string, t: TensorSpec): onnxproto.onnx.ITensorProto {
  const type = t.type ?? 'float32';
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== n) throw new Error(`tensorProto ${name}: ${t.data.length} values for dims [${t.dims}]`);
  let raw: Uint8Array;
  switch (type) {
    case 'float32': raw = new Uint8Array(Float32Array.from(t.data).buffer); break;
    case 'double': raw = new Uint8Array(Float64Array.from(t.data).buffer); break;
    case 'int64': raw = new Uint8Array(BigInt64Array.from(Array.from(t.data, (v) => BigInt(Math.trunc(v)))).buffer); break;
    case 'int32': raw = new Uint8Array(Int32Array.from(t.data).buffer); break;
    case 'int8': raw = new Uint8Array(Int8Array.from(t.data).buffer); break;
    case 'float16': raw = new Uint8Array(Uint16Array.from(t.data, floatToHalf).buffer); break;
    default: raw = Uint8Array.from(t.data);
  }
  return { name, dims: t.dims, dataType: ONNX_TYPE[type], rawData: raw };
}

function floatToHalf(x: number): number {
  // exact for the small test values used (round to nearest on 10 mantissa bits, normals only)
  if (x === 0) return Object.is(x, -0) ? 0x8000 : 0;
  const s = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  const m = Math.round((a / 2 ** e - 1) * 1024);
  return s | ((e + 15) << 10) | (m & 1023);
}

function attrProto(name: string, v: AttrSpec): onnxproto.onnx.IAttributeProto {
  if (v instanceof G) return { name, type: A.GRAPH, g: v.b.proto().graph };
  if (v instanceof F) return Array.isArray(v.v) ? { name, type: A.FLOATS, floats: v.v } : { name, type: A.FLOAT, f: v.v };
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return FLOAT_ATTRS.has(name) || !Number.isInteger(v) ? { name, type: A.FLOAT, f: v } : { name, type: A.INT, i: v };
  }
  if (Array.isArray(v)) {
    return FLOAT_ATTRS.has(name) || v.some((x) => !Number.isInteger(x)) ? { name, type: A.FLOATS, floats: v } : { name, type: A.INTS, ints: v };
  }
  return { name, type: A.TENSOR, t: tensorProto('', v as TensorSpec) };
}

export class OnnxBuilder {
  private nodes: onnxproto.onnx.INodeProto[] = [];
  private inits: onnxproto.onnx.ITensorProto[] = [];
  private ins: onnxproto.onnx.IValueInfoProto[] = [];
  private outs: onnxproto.onnx.IValueInfoProto[] = [];
  private n = 0;
  /** extra opset imports (domain -> version) */
  readonly domains = new Map<string, number>();

  constructor(readonly opset = 13, readonly irVersion = 8) {}

  /** A graph input; string dims are symbolic. */
  input(name: string, dims: (number | string)[], type: DType = 'float32'): this {
    this.ins.push({
      name,
      type: { tensorType: { elemType: ONNX_TYPE[type], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
    });
    return this;
  }

  /** A graph output, declared of `type` (or an ONNX element type code, for types DType lacks). */
  output(name: string, type: DType | number = 'float32'): this {
    this.outs.push({ name, type: { tensorType: { elemType: typeof type === 'number' ? type : ONNX_TYPE[type] } } });
    return this;
  }

  /** An initializer (raw_data). */
  init(name: string, dims: number[], data: ArrayLike<number>, type: DType = 'float32'): this {
    this.inits.push(tensorProto(name, { dims, data, type }));
    return this;
  }

  /** A hand-made initializer (for malformed files). */
  initProto(t: onnxproto.onnx.ITensorProto): this {
    this.inits.push(t);
    return this;
  }

  /** A Constant node holding a tensor. */
  constant(name: string, dims: number[], data: ArrayLike<number>, type: DType = 'float32'): this {
    return this.node('Constant', [], [name], { value: { dims, data, type } });
  }

  /** int64 initializer (shapes, axes, starts…) */
  ints(name: string, values: number[], dims: number[] = [values.length]): this {
    return this.init(name, dims, values, 'int64');
  }

  node(op: string, inputs: string[], outputs: string[] | string, attrs: Record<string, AttrSpec> = {}, name?: string, domain?: string): this {
    this.nodes.push({
      name: name ?? `${op}_${this.n++}`,
      opType: op,
      domain: domain ?? '',
      input: inputs,
      output: typeof outputs === 'string' ? [outputs] : outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attrProto(k, v)),
    });
    return this;
  }

  proto(): onnxproto.onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: this.irVersion,
      producerName: 'lowbit-test',
      opsetImport: [{ domain: '', version: this.opset }, ...[...this.domains].map(([domain, version]) => ({ domain, version }))],
      graph: { name: 'test', node: this.nodes, initializer: this.inits, input: this.ins, output: this.outs },
    });
  }

  build(): Uint8Array {
    return onnx.ModelProto.encode(this.proto()).finish();
  }
}

export interface Feed {
  type: 'float32';
  dims: number[];
  data: Float32Array;
}

/** A non-float feed for the oracle (int64 as numbers: converted to BigInt64Array for onnxruntime). */
export interface IntFeed {
  type: 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
  dims: number[];
  data: ArrayLike<number>;
}

const ORT_DATA: Record<string, (d: ArrayLike<number>) => unknown> = {
  float32: (d) => Float32Array.from(d), int64: (d) => BigInt64Array.from(Array.from(d, (x) => BigInt(x))), int32: (d) => Int32Array.from(d),
  int8: (d) => Int8Array.from(d), uint8: (d) => Uint8Array.from(d), bool: (d) => Uint8Array.from(d),
};

/** onnxruntime's outputs: its element type, dims and values as numbers (int64 exact to 2^53; `big` has them exactly) */
export type OrtOutputs = Record<string, { type: string; dims: number[]; data: number[]; big?: bigint[]; array: string }>;

/**
 * Runs the model bytes in onnxruntime-web (1 thread); outputs as plain numbers. In a Node started
 * with --no-liftoff (the relaxed test project) compiling onnxruntime's wasm takes ~10 s and more
 * as kernels are first used, so there the oracle runs in a child Node with default flags.
 */
export async function runOrtModel(bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>): Promise<OrtOutputs> {
  return process.execArgv.includes('--no-liftoff') ? runInChild(bytes, feeds) : runHere(bytes, feeds);
}

async function runHere(bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>): Promise<OrtOutputs> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, ORT_DATA[v.type](v.data) as Float32Array, v.dims);
    const r = await session.run(f);
    const out: OrtOutputs = {};
    for (const [k, v] of Object.entries(r)) out[k] = ortOutput(v.type, v.dims, v.data as ArrayLike<number | bigint>);
    return out;
  } finally {
    await session.release();
  }
}

function ortOutput(type: string, dims: readonly number[], data: ArrayLike<number | bigint>): OrtOutputs[string] {
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array ? Array.from(data as ArrayLike<bigint>) : undefined;
  return { type, dims: [...dims], data: Array.from(data, (x) => Number(x)), big, array: data.constructor.name };
}

// The child: one onnxruntime-web session per request, answers over the IPC channel (structured
// clone), exits when the test process goes away.
const CHILD = `
const ortReady = import('onnxruntime-web').then((m) => { const o = m.default ?? m; o.env.wasm.numThreads = 1; return o; });
process.on('disconnect', () => process.exit(0));
process.on('message', async ({ id, bytes, feeds }) => {
  try {
    const ort = await ortReady;
    const session = await ort.InferenceSession.create(bytes);
    try {
      const f = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.type, v.type === 'int64' ? BigInt64Array.from(v.data, (x) => BigInt(x)) : v.data, v.dims);
      const r = await session.run(f);
      const out = {};
      for (const [k, v] of Object.entries(r)) out[k] = { type: v.type, dims: [...v.dims], data: Array.from(v.data, (x) => Number(x)), big: v.data instanceof BigInt64Array || v.data instanceof BigUint64Array ? Array.from(v.data) : undefined, array: v.data.constructor.name };
      process.send({ id, out });
    } finally {
      await session.release();
    }
  } catch (e) {
    process.send({ id, error: String((e && e.message) || e) });
  }
});
`;

let child: ChildProcess | null = null;
let nextId = 0;
const pending = new Map<number, { resolve: (o: OrtOutputs) => void; reject: (e: Error) => void }>();

function oracleChild(): ChildProcess {
  if (child) return child;
  const c = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  c.on('message', (m: { id: number; out?: OrtOutputs; error?: string }) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(`onnxruntime-web (child): ${m.error}`));
    else p?.resolve(m.out!);
  });
  c.on('exit', (code) => {
    child = null;
    for (const p of pending.values()) p.reject(new Error(`onnxruntime-web child exited (${code})`));
    pending.clear();
  });
  c.unref();
  (c.channel as unknown as { unref(): void } | undefined)?.unref();
  child = c;
  return c;
}

function runInChild(bytes: Uint8Array, feeds: Record<string, Feed | IntFeed>): Promise<OrtOutputs> {
  const c = oracleChild();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    const plain: Record<string, { type: string; dims: number[]; data: unknown }> = {};
    for (const [k, v] of Object.entries(feeds)) plain[k] = { type: v.type, dims: v.dims, data: v.type === 'int64' ? Array.from(v.data) : ORT_DATA[v.type](v.data) };
    c.send({ id, bytes, feeds: plain });
  });
}
