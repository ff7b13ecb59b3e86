// lowbit kernels. One module, built twice from this source: baseline SIMD and relaxed SIMD
// (ASC_FEATURE_RELAXED_SIMD), each with a plain and a shared imported memory.
// Kernels are pure functions of pointers into linear memory; the host owns all allocation.

export * from './gemm/qs8';
export * from './gemm/qs8-w16';
export * from './gemm/qs8-stage-chan';
export * from './gemm/qs8-stage-c4f';
export * from './gemm/qs8-c4a';
export * from './gemm/qb4';
export * from './gemm/qb4-f32-rows';
export * from './gemm/lut4';
export * from './gemm/f32';
export * from './gemm/f8w';
export * from './gemm/f64-xtx';
export * from './conv/f32-conv';
export * from './conv/q-im2col';
export * from './conv/f32-conv-direct';
export * from './conv/qs8-conv-direct';
export * from './elementwise/f32-act';
export * from './elementwise/f32-softmax';
export * from './elementwise/f32-pool';
export * from './elementwise/f32-add';
export * from './elementwise/f32-copy';
export * from './intops/ivit-shiftmax';
export * from './intops/ivit-shiftgelu';
export * from './intops/ivit-layernorm';
export * from './attention/qs8-attn';
export { spmm_stage_t8, spmm_stage_p8, spmm_stage_g6 } from './sparse/spmm-common';
export * from './sparse/spmm-csr';
export * from './sparse/spmm-nm';
export * from './sparse/spmm-block';
export * from './sparse/spmm-srbcrs';
export { qs8_sddmm_csr_1x4, qs8_sddmm_block_1x4 } from './sparse/sddmm';
export * from './quant/q8';
export * from './quant/fp8';
export * from './quant/act-blocks';
export * from './quant/act-range';
export * from './quant/weights-q8';
export * from './probe/probe';

// First byte after the module's static data: the host allocator starts here.
export function heap_base(): usize {
  return __heap_base;
}

// 1 when this build was compiled with relaxed SIMD.
export function build_relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
