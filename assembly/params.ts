// Parameter blocks and metadata layouts that the kernels read and the host writes: byte offsets,
// defined once here. scripts/gen-params.mjs copies this file to src/kernels/params.ts for the
// TypeScript side (and `--check`, in .ci/run, fails when the copy is stale), so keep to comments
// and plain `export const NAME = <integer>;` lines: valid AssemblyScript and TypeScript alike.

// ---- qs8 GEMM params block (assembly/gemm/qs8.ts; src/kernels/qs8.ts writes it): 32-bit words,
// addresses as int32, written once per call
export const QS8_PRM_COL_BIAS = 0; //    i32[Np] address
export const QS8_PRM_COL_FACTOR = 4; //  i32[Np] address, or 0 (no row-sum term)
export const QS8_PRM_ROW_SUM = 8; //     i32[M] address
export const QS8_PRM_OUT_KIND = 12; //   QS8_OUT_*
export const QS8_PRM_COL_SCALE = 16; //  f32[Np] address: requant multiplier, or dequant column scale
export const QS8_PRM_OUT_ZP = 20; //     i32 output zero point (requant)
export const QS8_PRM_ROW_SCALE = 24; //  f32[M] address: dequant row scale, or 0 (1.0)
export const QS8_PRM_BIAS = 28; //       f32[Np] address: dequant bias, or 0
export const QS8_PRM_RELU = 32; //       i32: clamp dequantized output at 0
export const QS8_PRM_QMIN = 36; //       i32: requantized output range [qmin, qmax] (a ReLU raises qmin to zp)
export const QS8_PRM_QMAX = 40; //       i32
export const QS8_PRM_ACT = 44; //        i32: float32 output only: activation kind (util/act.ts), 0 none
export const QS8_PRM_ACT_ALPHA = 48; //  f32
export const QS8_PRM_ACT_BETA = 52; //   f32
export const QS8_PRM_POST_SCALE = 56; // f32[Np] address: per-column scale after the activation, or 0 (none)
export const QS8_PRM_POST_SHIFT = 60; // f32[Np] address: per-column shift after the activation
export const QS8_PRM_BYTES = 64;

// qs8 output kinds (QS8_PRM_OUT_KIND)
export const QS8_OUT_I32 = 0;
export const QS8_OUT_U8 = 1;
export const QS8_OUT_I8 = 2;
export const QS8_OUT_F32 = 3;

// ---- activation blocks (assembly/quant/act-blocks.ts writes them; the qb4 and lut4 GEMMs read
// them): per row and block of K, [row][block], ACT_BLOCK_BYTES each
export const ACT_BLOCK_SCALE = 0; //      f32 sa: the block's scale
export const ACT_BLOCK_SCALED_SUM = 4; // f32 sa * S (S the block's sum of the int8 values)
export const ACT_BLOCK_SUM = 8; //        i32 S
export const ACT_BLOCK_BYTES = 16; //     (bytes 12..15 are 0)
