// The `lowbit/kernels` entry: one wasm kernel family at a time, for callers that manage packed
// weights themselves (as onnxruntime does with initializers), and the scalar references the kernels
// equal. The rule: a name is here when it packs weights for a kernel, runs a kernel (the bulk wasm
// FP8 codec and a format table entry's GEMM included), is a kernel's scalar reference, prepares a
// kernel's operands in the kernel's own layout (its weight or activation quantizer, its table
// builder), or is the packed-weight class, constant or option type of one. Layers, models and the
// quantization math users call are in `lowbit` (src/index.ts).

export { packQs8, runQs8, Qs8Weights, refMatMulInteger, refRequantize, refDequantizeAcc, QS8_W16_MIN_M, type PackQs8Options, type Qs8Output } from './kernels/qs8.js';
export { qs8StageChan, refStageChan, stageChanVectors } from './kernels/qs8-stage-chan.js';
export { packF32, runF32, F32Weights, refGemmF32 } from './kernels/f32.js';
export { XtxSum, wasmSyrkLower, wasmGemmNT } from './kernels/xtx.js';
export { runFormatGemm } from './formats/run.js';
export { packQb4, runQb4, refQb4, runQb4F32, refQb4F32, quantizeActivations, Qb4Weights, type ActivationBlocks } from './kernels/qb4.js';
export { encodeFp8Wasm, decodeFp8Wasm } from './kernels/fp8.js';
export { packLut4, runLut4, refLut4, refLut4Acc, lut4FromAnt, lut4BlockSize, Lut4Weights, LUT4_MAX_BLOCK, type Lut4Source } from './kernels/lut4.js';
export {
  packF8w, runF8w, f8wGemm, quantizeF8w, dequantizeF8w, refF8w, runF8f8, quantizeF8Activations, F8wWeights, F8W_NR, F8W_FORMATS,
  type F8wFormat, type F8wQuantized, type PackF8wOptions, type QuantizeF8wOptions, type F8wGemmCall, type F8ActivationsQuantized, type RunF8f8Options,
} from './kernels/f8w.js';
export { packSpmmCsr, runSpmmCsr, spmmCsrGemm, SpmmCsrWeights, SPMM_CSR_MAX_K } from './kernels/spmm-csr.js';
export { packSpmmNm, runSpmmNm, spmmNmGemm, SpmmNmWeights } from './kernels/spmm-nm.js';
export { packSpmmBlock, runSpmmBlock, spmmBlockGemm, SpmmBlockWeights } from './kernels/spmm-block.js';
export { packSpmmSrbcrs, runSpmmSrbcrs, spmmSrbcrsGemm, SpmmSrbcrsWeights, SPMM_SRBCRS_MAX_K } from './kernels/spmm-srbcrs.js';
export { encodeSrbcrs4, refSpmmSrbcrs4, srbcrs4Dense, SRBCRS_V, SRBCRS_STRIDE, type Srbcrs4Int8 } from './kernels/reference/spmm-srbcrs.js';
export type { SpmmOutput, SpmmCall } from './kernels/spmm.js';
export {
  encodeCsr, encodeNm24, encodeBsr4, encodeBsr4Int4, refSpmmCsr, refSpmmNm24, refSpmmBsr4, refSpmmBsr4Int4, refSpmmF32,
  type CsrInt8, type Nm24Int8, type Bsr4Int8, type Bsr4Int4,
} from './kernels/reference/spmm.js';
export { shiftmaxRows, shiftGelu, layerNormRows } from './kernels/ivit.js';
export { refShiftmaxRows, refShiftGelu, refLayerNormRows, refShiftExp } from './kernels/reference/ivit.js';
export { shiftmaxParams, shiftGeluParams, layerNormParams, type ShiftmaxParams, type ShiftGeluParams, type LayerNormParams } from './quant/ivit.js';
export {
  qs8AttnRows, qs8AttnRowsPruned, qs8AttnQuantize, qs8AttnAbsmax, qs8AttnRowBytes, qs8AttnScratchBytes, QS8_ATTN_MAX_KEYS, QS8_ATTN_MAX_HEAD,
  type Qs8AttnRowsCall, type Qs8AttnPrunedCall,
} from './kernels/qs8-attn.js';
export { refQs8AttnRows, refQs8AttnRowsPruned, refQs8AttnQuantizeRow, refExpF32, type RefQs8AttnRows, type RefQs8AttnPruned } from './kernels/reference/qs8-attn.js';
export { packSddmmCsr, packSddmmBlock, sddmmGemm, runSddmm, SddmmMask, type SddmmCall } from './kernels/sddmm.js';
export { sddmmMaskCsr, sddmmMaskBlock, refSddmmCsr, refSddmmBlock, type SddmmCsrMask, type SddmmBlockMask, type SddmmOutput } from './kernels/reference/sddmm.js';
