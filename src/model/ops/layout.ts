// Physical layout of 4-D activations. Logical dims are always ONNX's (N, C, H, W); a value produced
// by a convolution is stored channels-last (N, H, W, C), which makes a 1x1 convolution a plain
// GEMM over pixels and lets depthwise kernels vectorise over channels (XNNPACK's choice too).
// Ops that are layout-aware read strides from here; the planner converts for the others.

/** Order of logical axes in memory. */
export function physicalOrder(rank: number, nhwc: boolean): number[] {
  const p = Array.from({ length: rank }, (_, i) => i);
  return nhwc && rank === 4 ? [0, 2, 3, 1] : p;
}

/** Element stride of each logical axis for a contiguous tensor in the given layout. */
export function logicalStrides(dims: readonly number[], nhwc: boolean): number[] {
  const order = physicalOrder(dims.length, nhwc);
  const strides = new Array<number>(dims.length).fill(0);
  let s = 1;
  for (let j = order.length - 1; j >= 0; j--) {
    strides[order[j]] = s;
    s *= dims[order[j]];
  }
  return strides;
}

/**
 * Copies src (logical dims, layout srcNhwc) into dst in layout dstNhwc. Also the general
 * strided copy behind Transpose: `srcStrides` may be any per-axis element strides.
 */
export function stridedCopy(
  src: ArrayLike<number>, srcOffset: number, srcStrides: readonly number[], dims: readonly number[],
  dst: { [i: number]: number }, dstOffset: number, dstStrides: readonly number[],
): void {
  const r = dims.length;
  if (r === 0) {
    dst[dstOffset] = src[srcOffset];
    return;
  }
  // innermost axis: the one with the smallest destination stride
  const order = Array.from({ length: r }, (_, i) => i).sort((a, b) => dstStrides[b] - dstStrides[a]);
  const inner = order[r - 1];
  const n = dims[inner], ss = srcStrides[inner], ds = dstStrides[inner];
  const idx = new Array<number>(r - 1).fill(0);
  const outer = order.slice(0, r - 1);
  let total = 1;
  for (const a of outer) total *= dims[a];
  if (n === 0 || total === 0) return;
  for (let t = 0; t < total; t++) {
    let so = srcOffset, dof = dstOffset;
    for (let j = 0; j < outer.length; j++) {
      so += idx[j] * srcStrides[outer[j]];
      dof += idx[j] * dstStrides[outer[j]];
    }
    for (let i = 0; i < n; i++) dst[dof + i * ds] = src[so + i * ss];
    for (let j = outer.length - 1; j >= 0; j--) {
      if (++idx[j] < dims[outer[j]]) break;
      idx[j] = 0;
    }
  }
}
