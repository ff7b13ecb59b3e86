// What the 4-bit table formats (ant4, nf4: codes of a 16-entry int8 table, run by the LUT4 kernel)
// share: the GEMM, its reference, the saved form and its validating reader. A table format is its
// quantizer plus these.
//
//   saved: codes U8 [N, ceil(K/2)] (two per byte), scales F32 [N, blocks], table I8 [16]
//          record: blockSize (32..256 or 'channel'), type
//          (a table per channel: tables I8 [T, 16] and column_tables I32 [N] instead of table; record: tables T)

import { ModelError } from '../errors.js';
import { lut4BlockSize, refLut4, type Lut4Source } from '../kernels/lut4.js';
import { FourBitGemm } from '../layers/gemm-4bit.js';
import { unpackAntCodes } from '../quant/ant.js';
import { checkScales, type WeightFormat } from './format.js';

/** Table-coded 4-bit weights and what they are (the ANT type(s), 'nf4', ...). */
export interface TableWeights {
  source: Lut4Source;
  type: string;
}

type TableFormatParts = Pick<WeightFormat<TableWeights>, 'dims' | 'gemm' | 'reference' | 'dequantize' | 'detail' | 'storedBytes' | 'save' | 'load' | 'referenceTolerance' | 'needsInputRange'>;

export const tableFormatParts: TableFormatParts = {
  needsInputRange: false,
  referenceTolerance: 0,
  dims: (w) => ({ k: w.source.k, n: w.source.n }),
  gemm: (host, w, bias, activation) => new FourBitGemm(host, { kernel: 'lut4', source: w.source }, bias, activation),
  reference: (w, x, m, bias) => refLut4(x, m, w.source, bias, 'per-row'),
  dequantize: (w) => dequantizeTable(w.source),
  detail: (w) => w.type,
  storedBytes: (w) => w.source.n * Math.ceil(w.source.k / 2) + w.source.scales.length * 4 + 16 * (w.source.tables?.length ?? 1) + (w.source.columnTables ? 4 * w.source.n : 0),

  save({ source: s, type }, put) {
    if (!s.packed) throw new ModelError('save: table-coded weights hold unpacked codes');
    put('codes', { dtype: 'U8', shape: [s.n, Math.ceil(s.k / 2)], data: s.packed });
    put('scales', { dtype: 'F32', shape: [s.n, s.scales.length / s.n], data: s.scales });
    if (s.tables && s.columnTables) {
      // a type per channel: the distinct tables and each channel's index
      const all = new Int8Array(16 * s.tables.length);
      s.tables.forEach((t, g) => all.set(t, 16 * g));
      put('tables', { dtype: 'I8', shape: [s.tables.length, 16], data: all });
      put('column_tables', { dtype: 'I32', shape: [s.n], data: Int32Array.from(s.columnTables) });
      return { blockSize: s.blockSize, type, tables: s.tables.length };
    }
    put('table', { dtype: 'I8', shape: [16], data: s.table! });
    return { blockSize: s.blockSize, type };
  },
  load(r, read) {
    const { k, n } = r;
    // blockSize: a LUT4 block (32..256) or 'channel' (files from before block-wise ant4 have none: per channel)
    const bs = (r.blockSize ?? 'channel') as number | 'channel';
    if (bs !== 'channel' && !(Number.isInteger(bs) && bs >= 32 && bs <= 256 && (bs & (bs - 1)) === 0)) throw read.error(`has block size ${String(bs)}; expected a power of two from 32 to 256 or 'channel'`);
    const nb = Math.ceil(k / lut4BlockSize(k, bs));
    const common = { n, k, packed: read.tensor('codes', 'U8', n * Math.ceil(k / 2)) as Uint8Array, scales: checkScales(read, read.tensor('scales', 'F32', n * nb) as Float32Array, false), blockSize: bs };
    const type = String(r.type);
    if (r.tables === undefined) return { type, source: { ...common, table: read.tensor('table', 'I8', 16) as Int8Array } };
    const g = r.tables as number;
    // each table is some channel's: at most N of them
    if (!Number.isInteger(g) || g < 1 || g > n) throw read.error(`has ${String(g)} tables; expected an integer from 1 to N = ${n}`);
    const all = read.tensor('tables', 'I8', 16 * g) as Int8Array;
    const columnTables = read.tensor('column_tables', 'I32', n) as Int32Array;
    for (let j = 0; j < n; j++) if (!(columnTables[j] >= 0 && columnTables[j] < g)) throw read.error(`has channel ${j} with table index ${columnTables[j]}, expected 0..${g - 1}`);
    return { type, source: { ...common, tables: Array.from({ length: g }, (_, i) => all.slice(16 * i, 16 * i + 16)), columnTables } };
  },
};

/** The weights as float32 rows [N][K]: scale of the block times the table value of the code. */
function dequantizeTable(s: Lut4Source): Float32Array {
  const { n, k } = s;
  const codes = s.codes ?? unpackAntCodes(s.packed!, n, k);
  const bs = lut4BlockSize(k, s.blockSize), nb = Math.ceil(k / bs);
  const out = new Float32Array(n * k);
  for (let j = 0; j < n; j++) {
    const table = s.tables && s.columnTables ? s.tables[s.columnTables[j]] : s.table!;
    for (let t = 0; t < k; t++) out[j * k + t] = Math.fround(s.scales[j * nb + Math.floor(t / bs)] * table[codes[j * k + t]]);
  }
  return out;
}
