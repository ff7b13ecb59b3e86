// int4: 4-bit weights in blocks of 32 along K (16 when K < 32), round to nearest with a clip search
// per block, zero point 8 (or one per block, from MatMulNBits files); int8 activations quantized
// per row at run time (W4A8, qb4 kernels, src/layers/gemm-4bit.ts).
//
//   saved: codes U8 [N, ceil(K/2)] (two per byte), scales F32 [N, blocks], zero_points U8 (when asymmetric)
//          record: blockSize, zeroPoints

import { ArgumentError, describe } from '../errors.js';
import { refQb4 } from '../kernels/qb4.js';
import { Int4LinearRunner, type Int4Activations } from '../layers/int4-linear.js';
import { quantizeInt4Gptq, quantizeInt4GptqHessian, type GptqSettings } from '../quant/gptq.js';
import { checkTensor } from '../tensor.js';
import { FourBitGemm } from '../layers/gemm-4bit.js';
import { packAntCodes as packNibbles, unpackAntCodes as unpackNibbles } from '../quant/ant.js';
import { blocksOf, dequantizeInt4, quantizeInt4Rtn, type Int4Blocks } from '../quant/int4.js';
import { checkScales, type WeightFormat } from './format.js';

export const int4Format: WeightFormat<Int4Blocks> = {
  name: 'int4',
  label: 'int4 (W4A8, block 32)',
  summary: '4-bit weights in blocks of 32 (round to nearest, clip search; or GPTQ), int8 activations per row',
  needsInputRange: false,
  usesHessian: true,
  referenceTolerance: 0,

  // with the layer's Hessian (quantizeModel's method 'gptq'): GPTQ, its settings from options.gptq
  quantize: (wnk, n, k, { hessian, options }) => {
    const blockSize = k >= 32 ? 32 : 16;
    if (hessian) return quantizeInt4GptqHessian(wnk, n, k, hessian, { blockSize, ...(options?.gptq as GptqSettings | undefined) });
    return quantizeInt4Rtn(wnk, n, k, { blockSize, clipSearch: true });
  },
  dims: (w) => ({ k: w.k, n: w.n }),
  gemm: (host, w, bias, activation) => new FourBitGemm(host, { kernel: 'qb4', blocks: w }, bias, activation),
  reference: (w, x, m, bias) => refQb4(x, m, w, bias, 'per-row'),
  dequantize: dequantizeInt4,
  detail: () => '',
  storedBytes: (w) => w.n * Math.ceil(w.k / 2) + w.scales.length * 4 + (w.zeroPoints?.length ?? 0),

  save(w, put) {
    const nb = w.scales.length / w.n;
    put('codes', { dtype: 'U8', shape: [w.n, Math.ceil(w.k / 2)], data: packNibbles(w.q, w.n, w.k) });
    put('scales', { dtype: 'F32', shape: [w.n, nb], data: w.scales });
    if (w.zeroPoints) put('zero_points', { dtype: 'U8', shape: [w.n, nb], data: w.zeroPoints });
    return { blockSize: w.blockSize, zeroPoints: !!w.zeroPoints };
  },
  load(r, read) {
    const { k, n } = r, bs = r.blockSize as number;
    if (!Number.isInteger(bs) || bs < 16 || bs > 4096 || (bs & (bs - 1)) !== 0) throw read.error(`has block size ${String(bs)}; expected a power of two from 16 to 4096`);
    const nb = blocksOf(k, bs);
    const q = unpackNibbles(read.tensor('codes', 'U8', n * Math.ceil(k / 2)) as Uint8Array, n, k);
    const scales = checkScales(read, read.tensor('scales', 'F32', n * nb) as Float32Array, false);
    let zeroPoints: Uint8Array | null = null;
    if (r.zeroPoints) {
      zeroPoints = read.tensor('zero_points', 'U8', n * nb) as Uint8Array;
      const bad = zeroPoints.findIndex((z) => z > 15);
      if (bad >= 0) throw read.error(`has zero_points[${bad}] = ${zeroPoints[bad]}; 4-bit zero points are 0..15`);
    }
    return { k, n, blockSize: bs, q, scales, zeroPoints };
  },

  // rt.linear: round to nearest or GPTQ, symmetric or asymmetric blocks, activations per block (default) or per row, or float32
  linear: {
    options: ['blockSize', 'scheme', 'activations', 'method', 'calibration', 'actOrder', 'dampPercent'],
    async build(host, rows, n, k, bias, o) {
      const activations = checkActivations(o.activations);
      const method = o.method ?? 'rtn';
      const blockSize = (o.blockSize ?? 32) as number;
      const scheme = (o.scheme ?? 'symmetric') as 'symmetric' | 'asymmetric';
      let blocks: Int4Blocks;
      if (method === 'gptq') {
        const c = o.calibration;
        // a typed array goes straight to GPTQ's checks (which name a wrong element type); else a tensor
        const calibration = c == null || ArrayBuffer.isView(c) ? c ?? undefined : checkTensor(c as never, 'calibration', ['float32']).data;
        blocks = quantizeInt4Gptq(rows, n, k, calibration as Float32Array, { blockSize, scheme, actOrder: o.actOrder as boolean | undefined, dampPercent: o.dampPercent as number | undefined });
      } else if (method === 'rtn') {
        for (const name of GPTQ_ONLY) {
          if (o[name] !== undefined) throw new ArgumentError(`${name}: only used with method: 'gptq' (method is 'rtn', round to nearest)`);
        }
        blocks = quantizeInt4Rtn(rows, n, k, { blockSize, scheme });
      } else {
        throw new ArgumentError(`method: expected 'rtn' or 'gptq', got ${describe(method)}`);
      }
      return { data: blocks, runner: new Int4LinearRunner(host, blocks, bias, activations) };
    },
    runner: (host, blocks, bias, o) => new Int4LinearRunner(host, blocks, bias, checkActivations(o.activations)),
  },
};

const GPTQ_ONLY = ['calibration', 'actOrder', 'dampPercent'] as const;

function checkActivations(a: unknown = 'per-block'): Int4Activations {
  if (a !== 'per-block' && a !== 'per-row' && a !== 'float32') throw new ArgumentError(`activations: expected 'per-block', 'per-row' or 'float32', got ${describe(a)}`);
  return a;
}
