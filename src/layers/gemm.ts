// The contract every weight format's GEMM meets, so that one linear layer and one convolution
// layer (im2col, then this) serve every format.

/** y[M, N] = x[M, K] W + bias (then the layer's activation), on buffers in linear memory. */
export interface GemmImpl {
  readonly k: number;
  readonly n: number;
  /** bytes of linear memory the packed weights, scales and bias take */
  readonly weightBytes: number;
  /** which weight layout the kernel runs (e.g. 'c2', 'c4', 's4'), for reports */
  readonly layout?: string;
  /** bytes of scratch run() needs for M rows */
  scratchBytes?(m: number): number;
  /** x, y, scratch: byte addresses in linear memory */
  run(m: number, x: number, y: number, scratch: number): Promise<void>;
  /** run() on rows gathered (im2col) from `count` floats at `source`, for a GEMM that checks its inputs (it scans the smaller source) */
  runGathered?(m: number, x: number, y: number, scratch: number, source: number, count: number): Promise<void>;
  dispose(): void;
}
