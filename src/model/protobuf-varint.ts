// Protobuf varints, read strictly: the ONNX framing check and the random-access skeleton reader
// share these so a file gets the same verdict through either path.

import { ModelError } from '../errors.js';

/** A tag or a length at `pos` (before `end`): a safe integer, and where the next field starts. */
export function readVarint(b: Uint8Array, pos: number, end: number, at = pos): [number, number] {
  let v = 0;
  for (let i = 0; i < 10 && pos + i < end; i++) {
    const byte = b[pos + i];
    v += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) {
      if (!Number.isSafeInteger(v)) break;
      return [v, pos + i + 1];
    }
  }
  throw new ModelError(`model: not a valid ONNX protobuf (bad varint at byte ${at})`);
}

/** Where a wire-type-0 value at `pos` ends: any 64-bit value (an int64 -1 is ten bytes, beyond a double). */
export function skipVarint(b: Uint8Array, pos: number, end: number, at = pos): number {
  for (let i = 0; i < 10 && pos + i < end; i++) if (b[pos + i] < 0x80) return pos + i + 1;
  throw new ModelError(`model: not a valid ONNX protobuf (bad varint at byte ${at})`);
}
