// The kernel module's exports, typed. Pointers and sizes are plain numbers (wasm32).

export interface KernelExports {
  heap_base(): number;
  build_relaxed(): number;
  qs8_gemm_4x8c2(m: number, n0: number, n1: number, kp: number, a: number, aStride: number, w: number, prm: number, out: number, outStride: number): void;
  qs8_gemm_4x8c4_relaxed(m: number, n0: number, n1: number, kp: number, a: number, aStride: number, w: number, prm: number, out: number, outStride: number): void;
  /** the w16 layout: int16 weight panels, A' interleaved in strips of 4 rows (qs8_pack_a4) */
  qs8_gemm_4x8w16(m: number, n0: number, n1: number, kp: number, a: number, aStride: number, w: number, prm: number, out: number, outStride: number): void;
  qs8_pack_a4(m: number, kp: number, src: number, srcStride: number, dst: number): void;
  qs8_stage_c2(m: number, k: number, kp: number, a: number, signed: number, za: number, out: number, rowSum: number): void;
  qs8_stage_f32_c2(m: number, k: number, kp: number, x: number, xStride: number, scale: number, zp: number, out: number, rowSum: number): void;
  qs8_stage_chan_c2(m: number, k: number, kp: number, x: number, xStride: number, div: number, off: number, zp: number, out: number, rowSum: number): void;
  qs8_stage_c4(m: number, k: number, kp: number, a: number, signed: number, out: number, rowSum: number): void;
  qs8_stage_f32_c4(m: number, k: number, kp: number, x: number, xStride: number, scale: number, zp: number, out: number, rowSum: number, copies: number): void;
  qs8_stage_chan_c4(m: number, k: number, kp: number, x: number, xStride: number, div: number, off: number, zp: number, out: number, rowSum: number, copies: number): void;
  qs8_stage_f32_c4a(m: number, k: number, kp: number, x: number, xStride: number, scale: number, zp: number, lo: number, hi: number, list: number, ids: number): void;
  qs8_gemm_4x8c4a_relaxed(m: number, n0: number, n1: number, kp: number, lo: number, hi: number, list: number, ids: number, aStride: number, w: number, prm: number, out: number, outStride: number): void;
  spmm_stage_t8(m: number, k: number, a: number, signed: number, za: number, out: number): void;
  spmm_stage_p8(m: number, k: number, kp: number, a: number, signed: number, za: number, out: number): void;
  spmm_stage_g6(m: number, k: number, kg: number, a: number, signed: number, za: number, out: number): void;
  qs8_spmm_csr_8x1(m: number, n0: number, n1: number, k: number, a: number, rowPtr: number, cols: number, vals: number, out: number, outStride: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_csr_1x1(n0: number, n1: number, a: number, rowPtr: number, cols: number, vals: number, out: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_nm24_1x1(n0: number, n1: number, kg: number, a: number, vals: number, meta: number, out: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_nm24_8x1(m: number, n0: number, n1: number, kg: number, a: number, vals: number, meta: number, acc: number, out: number, outStride: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_bsr4_8x4(m: number, nb0: number, nb1: number, n: number, kp: number, a: number, blockPtr: number, cols: number, vals: number, bits: number, subs: number, out: number, outStride: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_bsr4_1x4(nb0: number, nb1: number, n: number, a: number, blockPtr: number, cols: number, vals: number, bits: number, subs: number, out: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_srbcrs_8x4(m: number, nb0: number, nb1: number, n: number, k: number, a: number, vecPtr: number, cols: number, vals: number, out: number, outStride: number, kind: number, scale: number, bias: number): void;
  qs8_spmm_srbcrs_1x4(nb0: number, nb1: number, n: number, a: number, vecPtr: number, cols: number, vals: number, out: number, kind: number, scale: number, bias: number): void;
  qs8_sddmm_csr_1x4(m0: number, m1: number, k: number, a: number, lda: number, b: number, ldb: number, rowPtr: number, cols: number, out: number, kind: number, rs: number, cs: number): void;
  qs8_sddmm_block_1x4(bi0: number, bi1: number, m: number, n: number, bm: number, bn: number, k: number, a: number, lda: number, b: number, ldb: number, blockPtr: number, cols: number, out: number, kind: number, rs: number, cs: number): void;
  qb4_gemm_2x16s4(m: number, n0: number, n1: number, kp: number, bs: number, a: number, aStride: number, aMeta: number, w: number, scales: number, zeros: number, bias: number, out: number, outStride: number): void;
  qb4_gemm_4x8c4_relaxed(m: number, n0: number, n1: number, kp: number, bs: number, a: number, aStride: number, aMeta: number, w: number, scales: number, zeros: number, bias: number, out: number, outStride: number): void;
  qb4_f32_gemm(m: number, n0: number, n1: number, k: number, kp: number, bs: number, s4: number, a: number, aStride: number, w: number, scales: number, zeros: number, bias: number, c: number, cStride: number, panel: number): void;
  qb4_f32_gemv(n0: number, n1: number, kp: number, bs: number, s4: number, x: number, xsum: number, w: number, scales: number, zeros: number, bias: number, out: number): void;
  lut4_gemm_4x8c2(m: number, n0: number, n1: number, kp: number, bs: number, a: number, aStride: number, aMeta: number, w: number, tables: number, offs: number, pmask: number, chunk: number, bias: number, out: number, outStride: number): void;
  lut4_gemm_4x8c4_relaxed(m: number, n0: number, n1: number, kp: number, bs: number, a: number, aStride: number, aMeta: number, w: number, tables: number, offs: number, pmask: number, chunk: number, bias: number, out: number, outStride: number): void;
  lut4_gather_columns(m: number, n: number, cols: number, src: number, srcStride: number, dst: number, dstStride: number): void;
  f32_gemm_4x8(m: number, n0: number, n1: number, k: number, a: number, aStride: number, w: number, c: number, cStride: number, bias: number, lo: number, hi: number): void;
  f8w_e4m3_gemm_4x8(m: number, n0: number, n1: number, k: number, x: number, xStride: number, w: number, c: number, cStride: number, scale: number, bias: number, lo: number, hi: number, scratch: number): void;
  f8w_e5m2_gemm_4x8(m: number, n0: number, n1: number, k: number, x: number, xStride: number, w: number, c: number, cStride: number, scale: number, bias: number, lo: number, hi: number, scratch: number): void;
  f8w_e3m4_gemm_4x8(m: number, n0: number, n1: number, k: number, x: number, xStride: number, w: number, c: number, cStride: number, scale: number, bias: number, lo: number, hi: number, scratch: number): void;
  f8w_e2m5_gemm_4x8(m: number, n0: number, n1: number, k: number, x: number, xStride: number, w: number, c: number, cStride: number, scale: number, bias: number, lo: number, hi: number, scratch: number): void;
  f8w_e1m6_gemm_4x8(m: number, n0: number, n1: number, k: number, x: number, xStride: number, w: number, c: number, cStride: number, scale: number, bias: number, lo: number, hi: number, scratch: number): void;
  f8w_stage_f32(x: number, m: number, k: number, xStride: number, mult: number, out: number): void;
  f32_dwconv_nhwc(h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, oh0: number, oh1: number, ow: number, x: number, wts: number, y: number, lo: number, hi: number): void;
  f32_im2col_nhwc(h: number, w: number, c: number, xc: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, oh0: number, oh1: number, ow: number, x: number, out: number): void;
  q_im2col_nhwc(h: number, w: number, cBytes: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, dh: number, dw: number, oh0: number, oh1: number, ow: number, x: number, pixSum: number, pad: number, padSum: number, dup: number, kpBytes: number, out: number, rowSum: number): void;
  f32_pad_nhwc(h: number, w: number, c: number, pt: number, pl: number, hp: number, wp: number, r0: number, r1: number, x: number, out: number): void;
  f32_conv_direct_4x8(oy0: number, oy1: number, ow: number, n0: number, n1: number, kh: number, sh: number, dh: number, segBytes: number, rowBytes: number, pixStep: number, xp: number, w: number, c: number, cStride: number, bias: number, lo: number, hi: number): void;
  qs8_conv_direct_4x8c2(oy0: number, oy1: number, ow: number, n0: number, n1: number, kh: number, kw: number, sh: number, sw: number, dh: number, copies: number, segBytes: number, rowBytes: number, pixStep: number, xp: number, ps: number, psRow: number, w: number, prm: number, out: number, outStride: number): void;
  qs8_conv_direct_4x8c4_relaxed(oy0: number, oy1: number, ow: number, n0: number, n1: number, kh: number, kw: number, sh: number, sw: number, dh: number, copies: number, segBytes: number, rowBytes: number, pixStep: number, xp: number, ps: number, psRow: number, w: number, prm: number, out: number, outStride: number): void;
  f32_act_nhwc(x: number, pixels: number, c: number, kind: number, alpha: number, beta: number, scale: number, shift: number, y: number): void;
  f32_softmax_rows(x: number, rows: number, n: number, y: number): void;
  f32_gap_nhwc(x: number, hw: number, c: number, y: number): void;
  f32_maxpool_nhwc(h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, oh0: number, oh1: number, ow: number, x: number, y: number): void;
  f32_avgpool_nhwc(h: number, w: number, c: number, kh: number, kw: number, sh: number, sw: number, pt: number, pl: number, pb: number, pr: number, countPad: number, oh0: number, oh1: number, ow: number, x: number, y: number): void;
  f32_scale_channels_nhwc(x: number, pixels: number, c: number, s: number, y: number): void;
  f32_add_nhwc(a: number, b: number, pixels: number, c: number, y: number): void;
  f32_copy_rows(x: number, xStride: number, rows: number, n: number, y: number, yStride: number): void;
  /** I-ViT integer-only ops (assembly/intops/ivit-*.ts; parameters from src/quant/ivit.ts) */
  ivit_shiftmax_rows(x: number, rows: number, n: number, m: number, g: number, bits: number, y: number): void;
  ivit_shiftgelu(x: number, count: number, ms: number, gs: number, mo: number, go: number, y: number): void;
  ivit_layernorm_rows(x: number, rows: number, n: number, gam: number, bet: number, gs: number, y: number): void;
  f32_matmul_rows(b0: number, b1: number, m: number, k: number, n: number, a: number, b: number, c: number): void;
  f32_attention_rows(b0: number, b1: number, m: number, k: number, n: number, dv: number, scale: number, q: number, kT: number, v: number, out: number, scratch: number): void;
  /** int8 attention rows of one (sequence, head) (assembly/attention/qs8-attn.ts) */
  qs8_attn_rows(m: number, h: number, hp: number, q: number, qScale: number, k: number, v: number, n: number, full: number, his: number, vScale: number, tmax: number, scratch: number, out: number, outStride: number): void;
  /** the same with keys pruned by 4-bit approximate scores (SPRINT) */
  qs8_attn_rows_pruned(m: number, h: number, hp: number, q: number, qScale: number, q4: number, q4Scale: number, k: number, k4: number, v: number, his: number, theta: number, topk: number, vScale: number, tmax: number, scratch: number, out: number, outStride: number, kept: number): void;
  qs8_attn_scratch_bytes(tmax: number, hp: number): number;
  qs8_attn_absmax(m: number, h: number, x: number, xStride: number, perRow: number, out: number): void;
  qs8_attn_quantize(m: number, h: number, hp: number, x: number, xStride: number, scales: number, perRow: number, qmax: number, offset: number, out: number): void;
  q8_quantize_f32(x: number, outer: number, channels: number, inner: number, scales: number, zps: number, signed: number, y: number): void;
  q8_dequantize_f32(x: number, outer: number, channels: number, inner: number, scales: number, zps: number, signed: number, y: number): void;
  f32_minmax(x: number, n: number, out: number): void;
  /** 1 when x[0..n) holds a NaN or an infinity */
  f32_nonfinite(x: number, n: number): number;
  /** 1 when some |x[i]| in x[0..n) has a float32 exponent field >= bits >> 23 (NaN and infinities too) */
  f32_exp_at_least(x: number, n: number, bits: number): number;
  /** the lower triangle of XᵀX for a chunk of rows packed in panels of 4 columns (assembly/gemm/f64-xtx.ts) */
  f64_xtx_4x4(rows: number, x: number, panel: number, i0: number, i1: number, s: number, sStride: number): void;
  /** S = AᵀB for two such packed blocks (the rectangular product of GPTQ's lazy batches) */
  f64_gemm_4x4(depth: number, a: number, aPanel: number, b: number, bPanel: number, m: number, n: number, s: number, sStride: number): void;
  f32_minmax_finite(x: number, n: number, out: number): number;
  qs8_row_scales(m: number, k: number, x: number, xStride: number, scales: number): number;
  qs8_stage_f32_rows_c2(m: number, k: number, kp: number, x: number, xStride: number, scales: number, out: number, rowSum: number): number;
  q8_colmax_kn(w: number, rows: number, n: number, amax: number): number;
  q8_quantize_cols_kn(w: number, rows: number, n: number, scales: number, qmax: number, q: number): void;
  q8_quantize_rows_nk(w: number, rows: number, k: number, n: number, j0: number, qmax: number, scales: number, q: number): number;
  act_blocks_quantize_f32(x: number, m: number, k: number, kp: number, bs: number, perBlock: number, wide: number, out: number, meta: number): void;
  fp8_encode_e4m3_f32(x: number, n: number, saturate: number, out: number): void;
  fp8_encode_e5m2_f32(x: number, n: number, saturate: number, out: number): void;
  fp8_decode_e4m3_f32(codes: number, n: number, out: number): void;
  fp8_decode_e5m2_f32(codes: number, n: number, out: number): void;
  probe_relaxed_dot(a: number, b: number, acc: number, out: number, count: number): void;
  probe_relaxed_dot16(a: number, b: number, out: number, count: number): void;
  ceiling_dot_i16x8(iters: number, seed: number): number;
  ceiling_relaxed_dot(iters: number, seed: number): number;
  ceiling_f32_madd(iters: number, seed: number): number;
  ceiling_stream_read(p: number, n: number): number;
}

export type KernelName = {
  [K in keyof KernelExports]: KernelExports[K] extends (...a: number[]) => unknown ? K : never;
}[keyof KernelExports];

/**
 * One kernel call, as the worker pool ships it: an export's name and its arguments, typed from that
 * export, so a name that does not exist or a wrong argument count is a compile error.
 */
export type KernelCall = { [K in KernelName]: [name: K, args: Parameters<KernelExports[K]>] }[KernelName];
