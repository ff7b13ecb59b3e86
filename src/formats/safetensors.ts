// The safetensors container (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header { name: { dtype, shape, data_offsets: [begin, end] }, __metadata__:
// { string: string } }, then the tensors' bytes. No maintained JS package writes it, and the format
// is this small, so reading and writing are ours; reading treats the file as untrusted.

import { ModelError } from '../errors.js';

export type SafeDtype = 'F32' | 'I8' | 'U8' | 'U16' | 'I32';
export type SafeData = Float32Array | Int8Array | Uint8Array | Uint16Array | Int32Array;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: SafeData;
}

const BYTES: Record<SafeDtype, number> = { F32: 4, I8: 1, U8: 1, U16: 2, I32: 4 };
const MAX_HEADER = 64 * 2 ** 20;

export function writeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    if (t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype] !== bytes) throw new ModelError(`safetensors: tensor '${name}' has ${bytes} bytes, shape [${t.shape}] of ${t.dtype} needs ${t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype]}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // align the data section to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export function readSafetensors(bytes: Uint8Array): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) throw new ModelError('safetensors: the file is shorter than its 8-byte header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) throw new ModelError(`safetensors: header length ${n} does not fit a file of ${bytes.length} bytes`);
  let header: Record<string, unknown>, text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    header = JSON.parse(text);
  } catch (e) {
    throw new ModelError(`safetensors: the header is not valid JSON (${(e as Error).message})`);
  }
  const twice = duplicateKey(text);
  if (twice !== undefined) throw new ModelError(`safetensors: the header names tensor '${twice}' twice`);
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelError('safetensors: the header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafeTensor>();
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (v && typeof v === 'object') for (const [k, s] of Object.entries(v as Record<string, unknown>)) if (typeof s === 'string') metadata[k] = s;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = t?.dtype as SafeDtype;
    if (!(dtype in BYTES)) throw new ModelError(`safetensors: tensor '${name}' has dtype ${String(t?.dtype)}; lowbit reads F32, I8, U8, U16, I32`);
    const shape = t.shape, offs = t.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ModelError(`safetensors: tensor '${name}' has a bad shape`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[0] > offs[1] || offs[1] > data.length) {
      throw new ModelError(`safetensors: tensor '${name}' has data offsets ${JSON.stringify(offs)} outside the ${data.length} data bytes`);
    }
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (count * BYTES[dtype] !== offs[1] - offs[0]) throw new ModelError(`safetensors: tensor '${name}' has ${offs[1] - offs[0]} bytes, shape [${shape}] of ${dtype} needs ${count * BYTES[dtype]}`);
    const raw = data.slice(offs[0], offs[1]); // a copy: aligned, independent of the file buffer
    const arr = dtype === 'F32' ? new Float32Array(raw.buffer) : dtype === 'I32' ? new Int32Array(raw.buffer) : dtype === 'U16' ? new Uint16Array(raw.buffer) : dtype === 'I8' ? new Int8Array(raw.buffer) : raw;
    tensors.set(name, { dtype, shape: shape as number[], data: arr });
  }
  return { tensors, metadata };
}

/**
 * The first key that appears twice at the top level of a JSON object's text (JSON.parse silently
 * keeps the last one). The text must be valid JSON.
 */
export function duplicateKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        // a string inside the top-level object followed by ':' is one of its keys
        let t = j + 1;
        while (json[t] === ' ' || json[t] === '\n' || json[t] === '\r' || json[t] === '\t') t++;
        if (json[t] === ':') {
          const key = JSON.parse(json.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return undefined;
}
