// Load-time check of every node against its operator's schema, as onnx's checker (OpSchema::Verify,
// check_attribute) and onnxruntime's type inference check it: input and output counts, attribute names,
// types and presence, each AttributeProto holding the one value its type says, and the element types
// of inputs against the operator's type constraints. Runs on the protobuf, before any weight is
// decoded (initializers give their element type without their data). A model onnxruntime refuses
// must not run here and return numbers.

import type onnxproto from 'onnx-proto';
import { ModelError } from '../errors.js';
import { schemaAt, schemaVersions } from './ops/schemas.js';
import type { OpSchema } from './ops/schema-types.js';

type INode = onnxproto.onnx.INodeProto;
type IGraph = onnxproto.onnx.IGraphProto;
type IAttr = onnxproto.onnx.IAttributeProto;

/** TensorProto.DataType codes -> element type names (ElemType's where lowbit has the type). */
export const ONNX_ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
  17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

/** AttributeProto.AttributeType codes, and the value field each one uses. */
const ATTR_TYPES: Record<number, { name: string; field: keyof IAttr; repeated?: boolean }> = {
  1: { name: 'float', field: 'f' }, 2: { name: 'int', field: 'i' }, 3: { name: 'string', field: 's' },
  4: { name: 'tensor', field: 't' }, 5: { name: 'graph', field: 'g' }, 11: { name: 'sparse_tensor', field: 'sparseTensor' },
  13: { name: 'type_proto', field: 'tp' },
  6: { name: 'floats', field: 'floats', repeated: true }, 7: { name: 'ints', field: 'ints', repeated: true },
  8: { name: 'strings', field: 'strings', repeated: true }, 9: { name: 'tensors', field: 'tensors', repeated: true },
  10: { name: 'graphs', field: 'graphs', repeated: true }, 12: { name: 'sparse_tensors', field: 'sparseTensors', repeated: true },
  14: { name: 'type_protos', field: 'typeProtos', repeated: true },
};

const UNBOUNDED = 2147483647;
const MAX_LISTED = 10;

/** Element types of the values in scope (undefined: not known before planning). */
type Types = Map<string, string | undefined>;

/**
 * Checks every node of `g` (subgraphs included) against its schema at the model's opsets; throws one
 * ModelError listing the problems, each naming the node, the operator version and what it expected.
 */
export function checkSchemas(g: IGraph, versionOf: (domain: string) => number): void {
  const problems: string[] = [];
  checkGraph(g, new Map(), versionOf, problems);
  if (problems.length === 0) return;
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  throw new ModelError(`model: ${problems.length === 1 ? 'a node does' : `${problems.length} nodes do`} not match its operator's schema (onnxruntime refuses such models too): ${problems.slice(0, MAX_LISTED).join('; ')}${more}`);
}

/** Checks the nodes of `g`; returns the types of its values as far as they are known. */
function checkGraph(g: IGraph, outer: Types, versionOf: (domain: string) => number, problems: string[]): Types {
  const types: Types = new Map(outer);
  for (const v of g.input ?? []) types.set(v.name ?? '', ONNX_ELEM_TYPES[v.type?.tensorType?.elemType ?? 0]);
  // declared types of graph outputs and value_info: a node's output must match (onnxruntime's
  // "does not match expected type"); a graph output's declared type stands until its node says otherwise
  const declared = new Map<string, string>();
  for (const v of [...(g.valueInfo ?? []), ...(g.output ?? [])]) {
    const t = ONNX_ELEM_TYPES[v.type?.tensorType?.elemType ?? 0];
    if (t) declared.set(v.name ?? '', t);
  }
  for (const v of g.output ?? []) if (!types.has(v.name ?? '')) types.set(v.name ?? '', declared.get(v.name ?? ''));
  for (const t of g.initializer ?? []) types.set(t.name ?? '', ONNX_ELEM_TYPES[t.dataType ?? 0]);
  for (const [i, n] of (g.node ?? []).entries()) {
    const domain = n.domain === 'ai.onnx' ? '' : n.domain ?? '';
    const op = n.opType ?? '';
    const opset = versionOf(domain);
    const schema = schemaAt(domain, op, opset);
    const where = `${op} node '${n.name || `#${i}`}'`;
    const say = (what: string) => problems.push(`${where} (${domain ? `${domain}::` : ''}${op}-${schema?.since ?? '?'}): ${what}`);
    for (const a of n.attribute ?? []) checkAttributeProto(a, say, !domain && op === 'Constant');
    if (!schema) {
      // an operator lowbit implements without a schema is lowbit's omission (test/onnx-schema.test.ts lists them)
      const first = schemaVersions(domain, op)?.[0]?.since;
      say(first ? `ONNX defines ${op} from opset ${first}, the model imports opset ${opset}` : `lowbit has no schema for ${domain ? `domain '${domain}' ` : ''}${op}, so it cannot check the node`);
      for (const o of n.output ?? []) types.set(o, undefined);
      continue;
    }
    // a deprecated version is not refused here: onnxruntime still runs GroupNormalization-18 (OpDef.opsets decide)
    checkArity(n, schema, say);
    checkAttributes(n, schema, say);
    const inner = new Map<string, Types>();
    for (const a of n.attribute ?? []) for (const sg of [a.g, ...(a.graphs ?? [])]) if (sg) inner.set(a.name ?? '', checkGraph(sg, types, versionOf, problems));
    const outs = checkTypes(n, schema, types, say);
    const fromBody = (name: string, skip: number) => (j: number) => {
      const out = (n.attribute ?? []).find((a) => a.name === name)?.g?.output?.[j + skip]?.name;
      return out == null ? undefined : inner.get(name)?.get(out);
    };
    // If's outputs are its branch's, Loop's its body's (after the condition): onnxruntime infers them so
    const sub = !domain && op === 'If' ? fromBody('then_branch', 0) : !domain && op === 'Loop' ? fromBody('body', 1) : undefined;
    (n.output ?? []).forEach((o, j) => {
      const t = outs[j] ?? sub?.(j);
      const d = declared.get(o);
      if (t && d && t !== d) say(`output ${j} ('${o}') is ${t}, the graph declares it ${d}`);
      types.set(o, t ?? types.get(o)); // else as the graph declares it
    });
  }
  return types;
}

/**
 * One value field, and the one the type says (onnx's check_attribute). onnxruntime checks it too,
 * except on Constant nodes, which it turns into initializers first, reading the field the type names.
 */
function checkAttributeProto(a: IAttr, say: (what: string) => void, constant = false): void {
  if (!a.name) return say('an attribute has no name');
  const set = Object.entries(ATTR_TYPES).filter(([, t]) => {
    const v = a[t.field];
    return t.repeated ? Array.isArray(v) && v.length > 0 : Object.hasOwn(a, t.field) && v != null;
  });
  const ort = constant ? " (onnx's checker refuses this; onnxruntime alone reads a Constant's value by its type)" : '';
  if (set.length > 1) say(`attribute '${a.name}' holds ${set.map(([, t]) => t.name).join(' and ')}: one value field only${ort}`);
  else if (set.length === 1 && Number(set[0][0]) !== a.type) say(`attribute '${a.name}' says type ${ATTR_TYPES[a.type ?? 0]?.name ?? a.type ?? 'none'} and holds a ${set[0][1].name}`);
}

const counted = (n: number) => (n >= UNBOUNDED ? 'any number' : String(n));

function checkArity(n: INode, s: OpSchema, say: (what: string) => void): void {
  const check = (names: string[], range: [number, number], formals: string[], what: 'input' | 'output') => {
    if (names.length < range[0] || names.length > range[1]) {
      say(`has ${names.length} ${what}s, expected ${range[0] === range[1] ? range[0] : `${range[0]} to ${counted(range[1])}`}`);
      return;
    }
    names.forEach((x, i) => {
      const f = formals[i];
      // past the formals, the last (variadic) one repeats; a variadic input of one type (Concat's, Sum's)
      // has no optional members: onnxruntime's kernels fail on an empty one
      const g = f ?? formals[formals.length - 1];
      if (x === '' && g && !/[?&]$/.test(g)) say(`${what} ${i} (${g.split(':')[0]}) is required and has no name`);
    });
  };
  check(n.input ?? [], s.inputs, s.ins, 'input');
  check(n.output ?? [], s.outputs, s.outs, 'output');
}

function checkAttributes(n: INode, s: OpSchema, say: (what: string) => void): void {
  const seen = new Set<string>();
  for (const a of n.attribute ?? []) {
    const name = a.name ?? '';
    if (seen.has(name)) say(`attribute '${name}' appears twice`);
    seen.add(name);
    const want = s.attrs[name]?.replace('!', '');
    if (want === undefined) {
      if (!name.startsWith('__')) say(`has attribute '${name}', which ${n.opType}-${s.since} does not have (it has ${Object.keys(s.attrs).join(', ') || 'none'})`);
      continue;
    }
    const got = ATTR_TYPES[a.type ?? 0]?.name ?? `type ${a.type ?? 'none'}`;
    if (got !== want) say(`attribute '${name}' is a ${got}, expected a ${want}`);
  }
  for (const [name, t] of Object.entries(s.attrs)) if (t.endsWith('!') && !seen.has(name)) say(`required attribute '${name}' is missing`);
}

/** Input element types against the type constraints; returns the output types it can tell. */
function checkTypes(n: INode, s: OpSchema, types: Types, say: (what: string) => void): (string | undefined)[] {
  const bound = new Map<string, { type: string; input: number }>();
  const formal = (list: string[], i: number) => {
    const f = list[Math.min(i, list.length - 1)];
    if (!f || (i >= list.length && !/[*&]$/.test(f))) return undefined;
    const [name, rest] = f.split(':');
    return { name, param: rest.replace(/[?*&]$/, ''), mixed: rest.endsWith('&') };
  };
  (n.input ?? []).forEach((x, i) => {
    const t = x === '' ? undefined : types.get(x);
    const f = formal(s.ins, i);
    if (!t || !f) return;
    const allowed = s.types[f.param] ?? [f.param];
    if (!allowed.includes(t)) return say(`input ${i} (${f.name}: '${x}') is ${t}, ${f.param === allowed[0] ? 'expected' : `${f.param} allows`} ${allowed.join(', ')}`);
    if (f.mixed) return;
    const b = bound.get(f.param);
    if (b && b.type !== t) say(`type parameter ${f.param} is bound to different types: ${b.type} (input ${b.input}) and ${t} (input ${i} ${f.name}: '${x}')`);
    else if (!b) bound.set(f.param, { type: t, input: i });
  });
  return (n.output ?? []).map((_, j) => {
    const f = formal(s.outs, j);
    if (!f || f.mixed) return undefined;
    const allowed = s.types[f.param] ?? [f.param];
    return bound.get(f.param)?.type ?? (allowed.length === 1 ? allowed[0] : outputType(n));
  });
}

/** Output types set by an attribute. */
function outputType(n: INode): string | undefined {
  const a = (name: string) => (n.attribute ?? []).find((x) => x.name === name);
  if (n.domain) return undefined;
  if (n.opType === 'Cast') return ONNX_ELEM_TYPES[Number(String(a('to')?.i ?? 0))]; // i may be a Long
  if (n.opType === 'ConstantOfShape') return ONNX_ELEM_TYPES[a('value')?.t?.dataType ?? 1];
  if (n.opType === 'Constant') {
    const v = (n.attribute ?? [])[0];
    return v?.t ? ONNX_ELEM_TYPES[v.t.dataType ?? 0] : v?.name?.startsWith('value_float') ? 'float32' : v?.name?.startsWith('value_int') ? 'int64' : undefined;
  }
  return undefined;
}
