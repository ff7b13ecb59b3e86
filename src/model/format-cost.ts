// Each weight format's step cost by GEMM shape, from a table, not a clock: 'auto''s speed budget
// (auto-speed.ts) reads it by default so the same model, data and options give the same choice on
// any machine and under any load. Per call of M rows, K inputs, N outputs:
//   t(µs) = fixed + input·M·K + output·M·N + mac·M·K·N + weight·K·N
// (staging and quantizing the input, the epilogue, the products, walking the packed weights). The
// coefficients were fitted once (bench/format-cost-fit.mjs, relative least squares, all >= 0) to
// bench/format-shape-grid.tsv: one model layer per format over M 1..1920, K 27..1152, N 16..480,
// least of many calls, 1 thread, baseline build, Node 20, AMD EPYC with avx_vnni/avx512_vnni; the
// fit's median error is 5–7% per format (worst 50–64%, at the smallest calls). Only ratios between
// formats matter to the budget; absolute times differ by machine, which is what this table ignores.
// A convolution is costed as its im2col GEMM (its gather is the same in every format).

/** µs coefficients of one format's step (see the header). */
export interface FormatCost {
  fixed: number;
  input: number;
  output: number;
  mac: number;
  weight: number;
}

/** Fitted to bench/format-shape-grid.tsv (2026-12-06); a format missing here is not weighed by the table. */
export const FORMAT_COSTS: Readonly<Record<string, FormatCost>> = Object.freeze({
  float32: { fixed: 0.809, input: 0, output: 0.000109, mac: 0.0000438, weight: 0.00000616 },
  int8: { fixed: 1.01, input: 0.000482, output: 0.000628, mac: 0.0000233, weight: 0.00000506 },
  int4: { fixed: 1.93, input: 0.00194, output: 0.000508, mac: 0.0000271, weight: 0.00000324 },
  ant4: { fixed: 1.98, input: 0.00192, output: 0.000379, mac: 0.0000411, weight: 0.0000106 },
  nf4: { fixed: 2.05, input: 0.00185, output: 0.000399, mac: 0.000043, weight: 0.00000841 },
  fp8: { fixed: 1.83, input: 0.000235, output: 0.000115, mac: 0.0000523, weight: 0.0000373 },
  fpx: { fixed: 1.96, input: 0.000209, output: 0.0000914, mac: 0.0000534, weight: 0.0000416 },
});

/** The predicted step time (ms) of a format at a GEMM shape, or undefined when the table lacks the format. */
export function stepCostMs(format: string, m: number, k: number, n: number): number | undefined {
  const c = FORMAT_COSTS[format];
  if (!c) return undefined;
  return (c.fixed + c.input * m * k + c.output * m * n + c.mac * m * k * n + c.weight * k * n) / 1000;
}
